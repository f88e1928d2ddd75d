"""A small CNN that classifies the digits: the feature extractor of the digits Fréchet distance.

The weights shipped beside this file (``digits_classifier.pt``, 230 KB) were produced by
``python -m lightning_gan.metrics.digits_classifier`` (:func:`train_digits_classifier` with its
defaults: seed 0, the training split of ``DigitsDataModule(seed=0)``), so every user scores
samples with the same network; the command rebuilds them.
"""

import argparse
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_gan.data.digits import DigitsDataModule

#: Side length the classifier works at; inputs of another size are resized to it.
SIZE = 16
WEIGHTS = "digits_classifier.pt"


class DigitsClassifier(nn.Module):
    """Three stride-2 convolutions and two linear layers: ``(N, 1, S, S)`` in ``[-1, 1]`` → 10 logits.

    ``num_features = 128`` is the width of the penultimate layer, the feature space of the
    Fréchet distance (torchmetrics reads the attribute).
    """

    num_features = 128

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),  # 16 → 8
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),  # 8 → 4
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # 4 → 2
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 2 * 2, self.num_features),
            nn.ReLU(),
        )
        self.head = nn.Linear(self.num_features, 10)

    def features(self, images: Tensor) -> Tensor:
        """Penultimate activations.

        Args:
            images: ``(N, 1, S, S)`` digits in ``[-1, 1]``, any side ``S`` (resized to 16 bilinearly,
                antialiased when shrinking).

        Returns:
            ``(N, 128)`` float32 features.
        """
        images = images.float()
        if images.shape[-1] != SIZE or images.shape[-2] != SIZE:
            images = F.interpolate(images, size=(SIZE, SIZE), mode="bilinear", antialias=True)
        return self.body(images)

    def forward(self, images: Tensor) -> Tensor:
        """``(N, 1, S, S)`` digits → ``(N, 10)`` class logits."""
        return self.head(self.features(images))


def _shift(images: Tensor, generator: torch.Generator) -> Tensor:
    """Translate each image by -1, 0 or 1 pixel per axis (filled with the background value -1)."""
    padded = F.pad(images, (1, 1, 1, 1), value=-1.0)
    offsets = torch.randint(0, 3, (images.shape[0], 2), generator=generator)
    rows = [padded[i, :, dy : dy + SIZE, dx : dx + SIZE] for i, (dy, dx) in enumerate(offsets.tolist())]
    return torch.stack(rows)


def train_digits_classifier(epochs: int = 40, seed: int = 0, batch_size: int = 64) -> DigitsClassifier:
    """Train the classifier on the training split of ``DigitsDataModule(image_size=16, seed=0)``.

    Adam (lr 1e-3) on cross-entropy, with ±1-pixel random shifts; deterministic for a seed on CPU.

    Args:
        epochs: Passes over the 1617 training images.
        seed: Seed of the initialisation, the shuffling and the shifts.
        batch_size: Minibatch size.

    Returns:
        The trained classifier, in eval mode.
    """
    data = DigitsDataModule(image_size=SIZE, seed=0)
    data.setup("fit")
    images, labels = data.train_set.tensors
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DigitsClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(images.shape[0], generator=generator)
        for start in range(0, images.shape[0], batch_size):
            index = order[start : start + batch_size]
            loss = F.cross_entropy(model(_shift(images[index], generator)), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: DigitsClassifier, images: Tensor, labels: Tensor) -> float:
    """Fraction of ``(N, 1, S, S)`` images whose arg-max class equals ``labels``."""
    return (model(images).argmax(dim=1) == labels).double().mean().item()


def load_digits_classifier(path: str | Path | None = None) -> DigitsClassifier:
    """The classifier with trained weights, frozen and in eval mode.

    Args:
        path: A state_dict file written by this module (``None``: the shipped weights).

    Returns:
        A :class:`DigitsClassifier`.
    """
    if path is None:
        path = Path(str(resources.files("lightning_gan.metrics") / WEIGHTS))
    model = DigitsClassifier()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval().requires_grad_(False)


def main() -> None:
    """Train with the defaults, report held-out accuracy, and write the weights."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(WEIGHTS))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    model = train_digits_classifier(epochs=args.epochs)
    data = DigitsDataModule(image_size=SIZE, seed=0)
    data.setup("fit")
    print(f"held-out accuracy {accuracy(model, *data.val_set.tensors):.4f}")
    torch.save(model.state_dict(), args.out)


if __name__ == "__main__":
    main()
