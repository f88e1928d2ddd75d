"""Frozen feature extractors for the Fréchet and kernel distances (chosen by ``class_path``).

Each maps generated or real samples as the data comes (images in ``[-1, 1]``) to ``(N, F)``
float64 features and exposes ``num_features = F``, which torchmetrics reads. The network is held
outside the module tree, so its weights never enter the GAN's ``state_dict`` or checkpoints; it is
moved to the input's device on first use.
"""

from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import NoTrainInceptionV3

from lightning_gan.metrics.digits_classifier import load_digits_classifier


class FrozenFeatures(nn.Module):
    """Wrap any ``nn.Module`` that maps ``(N, ...)`` samples in ``[-1, 1]`` to ``(N, F)`` features.

    Args:
        network: The extractor (frozen and set to eval here).
        num_features: ``F``.
    """

    def __init__(self, network: nn.Module, num_features: int) -> None:
        super().__init__()
        # Kept in a tuple, so nn.Module does not register it: no state_dict entries, no device moves.
        self.held = (network.eval().requires_grad_(False),)
        self.num_features = num_features

    @property
    def network(self) -> nn.Module:
        """The frozen extractor."""
        return self.held[0]

    def extract(self, samples: Tensor) -> Tensor:
        """The network's output for ``samples`` (override to call another method or preprocess)."""
        return self.network(samples)

    @torch.no_grad()
    def forward(self, samples: Tensor) -> Tensor:
        """``(N, ...)`` samples in ``[-1, 1]`` → ``(N, F)`` float64 features."""
        first = next(self.network.parameters(), None)
        if first is not None and first.device != samples.device:
            self.network.to(samples.device)
        features = self.extract(samples).double()
        if features.shape[1:] != (self.num_features,):
            raise ValueError(
                f"{type(self).__name__}: expected features of shape (N, {self.num_features}), "
                f"got {tuple(features.shape)}"
            )
        return features


class DigitsFeatures(FrozenFeatures):
    """The 128 penultimate activations of the shipped digits classifier (a digits Fréchet distance).

    Args:
        weights: A state_dict of :class:`~lightning_gan.metrics.digits_classifier.DigitsClassifier`
            (``None``: the shipped weights).
    """

    def __init__(self, weights: str | Path | None = None) -> None:
        classifier = load_digits_classifier(weights)
        super().__init__(classifier, classifier.num_features)

    def extract(self, samples: Tensor) -> Tensor:  # noqa: D102
        return self.network.features(samples)


class InceptionFeatures(FrozenFeatures):
    """Inception-v3 pool features (2048), the network of FID, through torch-fidelity.

    Needs the optional extra: ``pip install "lightning-gan[inception]"`` (torch-fidelity, which
    needs torchvision). Its weights download from GitHub on first use; on an offline machine pass
    the file (``pt_inception-2015-12-05-6726825d.pth``) as ``weights_path``. Samples in ``[-1, 1]``
    are mapped to bytes, ``round((x + 1) · 127.5)``, and grey images repeated to 3 channels, as
    torch-fidelity expects. Images are resized to 299 × 299 as torch-fidelity and the original
    TensorFlow FID do (bilinear, TensorFlow 1 sampling grid), not with torchmetrics' default
    antialiased resize, so features, FD and KID equal torch-fidelity's and stay comparable with
    published FIDs.

    Args:
        weights_path: Local Inception weights (``None``: torch-fidelity's download).

    Raises:
        ImportError: If torch-fidelity is not installed, naming the extra.
    """

    def __init__(self, weights_path: str | Path | None = None) -> None:
        try:
            network = NoTrainInceptionV3(
                name="inception-v3-compat",
                features_list=["2048"],
                feature_extractor_weights_path=None if weights_path is None else str(weights_path),
                antialias=False,
            )
        except (ImportError, ModuleNotFoundError) as err:
            raise ImportError(
                "InceptionFeatures needs torch-fidelity (and torchvision): "
                'pip install "lightning-gan[inception]"; or use DigitsFeatures or FrozenFeatures '
                f"(any nn.Module) instead. Original error: {err}"
            ) from err
        super().__init__(network, 2048)

    def extract(self, samples: Tensor) -> Tensor:  # noqa: D102
        images = ((samples.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)
        return self.network(images)
