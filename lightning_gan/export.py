"""Export the generator alone, and load it for inference without Lightning.

    from lightning_gan.export import export_generator, load_generator
    export_generator(gan, "generator.pt")            # G_ema if the GAN has one, else G
    generator = load_generator("generator.pt")       # a plain nn.Module, eval mode, frozen
    samples = generator(torch.randn(16, generator.latent_dim))

or from a checkpoint: ``lightning-gan export --ckpt_path runs/.../last.ckpt --out generator.pt``
(``--out generator.pt2`` writes a ``torch.export`` program instead, see :func:`export_program`).

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
from lightning_gan.sampling import load_checkpoint

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


def export_program(gan: GAN, path: str | Path) -> Path:
    """Write the generator as a ``torch.export`` program (``.pt2``), with a dynamic batch size.

    The program needs neither ``lightning_gan`` nor unpickling to run: ``torch.export.load(path)
    .module()(z)`` maps ``(N, latent_dim)`` noise (and ``(N,)`` labels for a conditional model) to samples,
    as :func:`export_generator`'s module does.

    Args:
        gan: A trained :class:`~lightning_gan.GAN`.
        path: Destination file (``.pt2`` by convention).

    Returns:
        The path written.
    """
    source = gan.generator_ema if gan.generator_ema is not None else gan.generator
    generator = copy.deepcopy(source).cpu().eval().requires_grad_(False)
    batch = torch.export.Dim("batch")
    example: tuple[torch.Tensor, ...] = (torch.randn(2, gan.latent_dim),)
    dynamic_shapes: dict[str, dict[int, torch.export.Dim]] = {"z": {0: batch}}
    if getattr(gan, "num_classes", 0):
        example += (torch.zeros(2, dtype=torch.long),)
        dynamic_shapes["labels"] = {0: batch}
    program = torch.export.export(generator, example, dynamic_shapes=dynamic_shapes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, path)
    return path


def main(args: list[str] | None = None) -> None:
    """``lightning-gan export`` (also ``python -m lightning_gan.export``): a checkpoint's generator to a file.

    ``--out`` ending in ``.pt2`` writes a ``torch.export`` program (:func:`export_program`), any other
    name the pickled module (:func:`export_generator`).
    """
    parser = argparse.ArgumentParser(
        prog="lightning-gan export",
        description="Export the generator (G_ema when there is one) of a lightning-gan checkpoint.",
    )
    parser.add_argument("--ckpt_path", required=True, help="a .ckpt file written by lightning-gan fit")
    parser.add_argument(
        "--out", required=True, type=Path, help="FILE.pt2: torch.export program; other names: pickled module"
    )
    options = parser.parse_args(args)
    gan = load_checkpoint(options.ckpt_path)
    write = export_program if options.out.suffix == ".pt2" else export_generator
    print(write(gan, options.out))


if __name__ == "__main__":
    main()
