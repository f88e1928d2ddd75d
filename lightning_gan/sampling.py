"""``lightning-gan sample``: write a checkpoint's samples to files, seeded and reproducible.

    lightning-gan sample --ckpt_path runs/lightning_gan/RUN_ID/checkpoints/last.ckpt --n 64 --out samples

Images ``(N, C, H, W)`` become ``grid.png`` and one ``NNNNNN.png`` per sample; vectors ``(N, D)``
become ``samples.npz`` (array ``samples``), plus ``scatter.png`` when ``D == 2``. Samples come from
G_ema when the run kept one, else from G, in eval mode; the latents are drawn from ``--seed`` alone,
so the same command writes the same files. A conditional model cycles through its classes
(sample ``i`` has label ``i mod num_classes``).
"""

import argparse
import importlib
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lightning_gan.cli_config import check_checkpoint_file
from lightning_gan.images import make_grid, scatter_image, to_uint8
from lightning_gan.module import GAN


def load_checkpoint(ckpt_path: str | Path, device: str = "cpu") -> GAN:
    """The GAN of a checkpoint written by ``lightning-gan fit``, in eval mode on ``device``.

    Raises:
        ValueError: For a missing, corrupt or non-Lightning file (see :func:`.check_checkpoint_file`).
    """
    if not Path(ckpt_path).is_file():
        raise ValueError(
            f"--ckpt_path {ckpt_path}: no such file; give a checkpoint file such as "
            "runs/lightning_gan/RUN_ID/checkpoints/last.ckpt"
        )
    hyper_parameters = check_checkpoint_file(str(ckpt_path)).get("hyper_parameters", {})  # read once, checked
    model_class = checkpoint_class(str(ckpt_path), hyper_parameters.get("_class_path"))
    return model_class.load_from_checkpoint(ckpt_path, map_location=device, weights_only=True).eval()


def checkpoint_class(ckpt_path: str, class_path: str | None) -> type[GAN]:
    """The model class a CLI run recorded (``hyper_parameters["_class_path"]``), imported; ``GAN`` if none.

    ``GAN.load_from_checkpoint`` alone would build a ``GAN`` even for a subclass such as
    ``ConditionalGAN``, so the file is loaded through the class it was trained with.

    Raises:
        ValueError: If the recorded class cannot be imported or is not a ``GAN``.
    """
    if class_path is None:
        return GAN
    module, _, name = class_path.rpartition(".")
    try:
        model_class = getattr(importlib.import_module(module), name, None)
    except ImportError as error:
        raise ValueError(
            f"--ckpt_path {ckpt_path}: its model class {class_path} cannot be imported: {error}"
        ) from error
    if not (isinstance(model_class, type) and issubclass(model_class, GAN)):
        raise ValueError(f"--ckpt_path {ckpt_path}: its model class {class_path} is not a lightning_gan.GAN")
    return model_class


def draw(gan: GAN, n: int, seed: int) -> Tensor:
    """``(n, *sample_shape)`` samples of G_ema (else G) from latents drawn from ``seed`` alone.

    Args:
        gan: The model.
        n: Number of samples (``>= 1``).
        seed: Seed of the latents (independent of the global random state).

    Returns:
        The samples on the CPU.

    Raises:
        ValueError: If ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    z = torch.randn(n, gan.latent_dim, generator=torch.Generator().manual_seed(seed)).to(gan.device)
    num_classes = getattr(gan, "num_classes", 0)
    labels = torch.arange(n, device=gan.device) % num_classes if num_classes else None  # y_i = i mod C
    return gan.sample(n, z=z, labels=labels).cpu()


def write_samples(samples: Tensor, out: str | Path, nrow: int | None = None) -> list[Path]:
    """Write samples as pictures (images) or an array file (vectors) into the folder ``out``.

    Args:
        samples: ``(N, C, H, W)`` images in ``[-1, 1]`` with ``C`` in ``{1, 3}``, or ``(N, D)`` vectors.
        out: Folder, created if missing; files of the same names are replaced, others kept.
        nrow: Images per grid row (default ``ceil(sqrt(N))``).

    Returns:
        The files written.

    Raises:
        ValueError: For samples of another shape.
    """
    folder = Path(out)
    if samples.ndim == 4 and samples.shape[1] in (1, 3):
        folder.mkdir(parents=True, exist_ok=True)
        images = samples.float().clamp(-1, 1)
        written = [folder / "grid.png"]
        Image.fromarray(to_uint8(make_grid(images, nrow=nrow or math.ceil(math.sqrt(len(images)))))).save(
            written[0]
        )
        for index, image in enumerate(images):
            written.append(folder / f"{index:06d}.png")
            Image.fromarray(to_uint8(image)).save(written[-1])
        return written
    if samples.ndim == 2:
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "samples.npz"]
        np.savez(written[0], samples=samples.float().numpy())
        if samples.shape[1] == 2:
            written.append(folder / "scatter.png")
            Image.fromarray(scatter_image(samples.float())).save(written[-1])
        return written
    raise ValueError(
        "lightning-gan sample writes (N, C, H, W) images with C in {1, 3} or (N, D) vectors; "
        f"this generator makes samples of shape {tuple(samples.shape)}"
    )


def main(args: list[str]) -> None:
    """``lightning-gan sample``: parse ``args`` (without the subcommand) and write the files."""
    parser = argparse.ArgumentParser(
        prog="lightning-gan sample",
        description="Write samples of a checkpoint's generator (G_ema when there is one).",
    )
    parser.add_argument("--ckpt_path", required=True, help="a .ckpt file written by lightning-gan fit")
    parser.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    parser.add_argument("--nrow", type=int, default=None, help="images per grid row (default √n)")
    parser.add_argument("--device", default="cpu", help="torch device to generate on (default cpu)")
    options = parser.parse_args(args)
    gan = load_checkpoint(options.ckpt_path, options.device)
    written = write_samples(draw(gan, options.n, options.seed), options.out, options.nrow)
    names = ", ".join(path.name for path in written[:3]) + (", ..." if len(written) > 3 else "")
    print(f"{len(written)} files in {options.out}: {names}")
