"""Export the generator alone, and load it for inference without Lightning.

    from lightning_gan.export import export_generator, load_generator
    export_generator(gan, "generator.pt")            # G_ema if the GAN has one, else G
    generator = load_generator("generator.pt")       # a plain nn.Module, eval mode, frozen
    samples = generator(torch.randn(16, generator.latent_dim))

or from a checkpoint: ``python -m lightning_gan.export runs/.../last.ckpt generator.pt``.

The file holds the pickled module (architecture and weights), so loading needs the generator's
class to be importable (``lightning_gan`` for the shipped nets) but neither Lightning nor the
discriminator, optimizers or data. Unpickling runs code: load only files you trust.
"""

import argparse
import copy
from pathlib import Path

import torch
from torch import nn

from lightning_gan.module import GAN

FORMAT = "lightning_gan.generator/1"


def export_generator(gan: GAN, path: str | Path) -> Path:
    """Write the generator a GAN samples from (its EMA copy when it has one) to ``path``.

    Args:
        gan: A trained :class:`~lightning_gan.GAN`.
        path: Destination file.

    Returns:
        The path written.
    """
    source = gan.generator_ema if gan.generator_ema is not None else gan.generator
    generator = copy.deepcopy(source).cpu().eval().requires_grad_(False)  # the GAN is left as it was
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "latent_dim": gan.latent_dim, "generator": generator}, path)
    return path


def load_generator(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Load a generator written by :func:`export_generator`: eval mode, ``requires_grad`` off.

    Args:
        path: The exported file.
        map_location: Device to load the weights onto.

    Returns:
        The generator module; ``generator(z)`` maps ``(N, latent_dim)`` noise to samples.

    Raises:
        ValueError: If the file is not a generator export.
    """
    payload = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a generator exported by lightning_gan.export ({FORMAT})")
    return payload["generator"].eval().requires_grad_(False)


def main() -> None:
    """``python -m lightning_gan.export CHECKPOINT OUT``: export the generator of a checkpoint."""
    parser = argparse.ArgumentParser(description="Export the generator of a lightning_gan checkpoint.")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    gan = GAN.load_from_checkpoint(args.checkpoint, map_location="cpu", weights_only=False)
    print(export_generator(gan, args.out))


if __name__ == "__main__":
    main()
