"""The image-folder loader against what DCGAN-64 training consumes, on this machine.

Generates a folder of ``--images`` photographs-like files (smooth colour gradients with noise, sides
96 to 256 pixels, half JPEG and half PNG) in a scratch directory, then measures images per second of

- ``uncached``: ``ImageFolderDataModule(cache=False)``, decoding every file every epoch;
- ``first epoch``: the cached module from nothing (building the cache, then one epoch);
- ``cached epochs``: its later epochs (the memory-mapped uint8 cache);
- ``training``: ``GAN`` with ``dcgan_folder.yaml``'s networks (DCGAN 64×64 RGB, batch 64) fed
  in-memory batches, timed after warm-up iterations.

All loaders run as ``dcgan_folder.yaml`` sets them up (64×64 RGB, batch 64) with ``--workers``
workers.

    python benchmarks/loader.py
    python benchmarks/loader.py --images 500 --iterations 3

The last line reads ``ratio R``: cached-loader images/s ÷ training images/s.
"""

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from lightning import Callback, Trainer
from PIL import Image
from report import Table, write_section
from torch.utils.data import DataLoader, TensorDataset

from lightning_gan import GAN
from lightning_gan.data import ImageFolderDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator

BATCH, SIZE = 64, 64


def make_folder(folder: Path, n: int) -> None:
    """``n`` images with colour gradients and noise, of random sides, half JPEG and half PNG."""
    rng = np.random.default_rng(0)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(96, 257, 2))
        ys, xs = np.mgrid[0:h, 0:w]
        base = rng.uniform(0, 255, 3) + rng.uniform(-1, 1, 3) * (ys[..., None] + xs[..., None])
        pixels = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.{'jpg' if i % 2 else 'png'}")


def loader_rate(datamodule: ImageFolderDataModule, epochs: int) -> list[float]:
    """Images per second of each of ``epochs`` passes over the training loader (setup in the first)."""
    rates = []
    for epoch in range(epochs):
        start = time.perf_counter()
        if epoch == 0:
            datamodule.prepare_data()
            datamodule.setup("fit")
            loader = datamodule.train_dataloader()
        seen = sum(batch[0].shape[0] for batch in loader)
        rates.append(seen / (time.perf_counter() - start))
    return rates


class IterationTimes(Callback):
    """Times of the batches after ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.times = warmup, []

    def on_train_batch_start(self, trainer: Trainer, *_: object) -> None:  # noqa: D102
        if trainer.fit_loop.batch_idx >= self.warmup:
            self.times.append(time.perf_counter())


def training_rate(iterations: int, warmup: int = 2) -> float:
    """Images per second ``GAN`` trains on with ``dcgan_folder.yaml``'s nets, data already in memory."""
    torch.manual_seed(0)
    gan = GAN(
        DCGANGenerator(latent_dim=100, image_size=SIZE, channels=3, base_channels=64),
        DCGANDiscriminator(image_size=SIZE, channels=3, base_channels=64),
        max_iterations=warmup + iterations + 1,
    )
    data = TensorDataset(torch.rand(BATCH * 4, 3, SIZE, SIZE) * 2 - 1)
    timer = IterationTimes(warmup)
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(gan, DataLoader(data, batch_size=BATCH, shuffle=True, drop_last=True))
    return BATCH * (len(timer.times) - 1) / (timer.times[-1] - timer.times[0])


def main() -> None:
    """Generate the folder, measure, print the table and the summary line, write the section."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=3000, help="files in the generated folder")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    parser.add_argument("--epochs", type=int, default=3, help="loader epochs (the first builds the cache)")
    parser.add_argument("--iterations", type=int, default=8, help="timed training iterations")
    args = parser.parse_args()
    if args.images < BATCH or args.epochs < 2 or args.iterations < 2 or args.workers < 0:
        parser.error(
            f"--images must be >= {BATCH}, --epochs and --iterations >= 2, --workers >= 0; got "
            f"{args.images}, {args.epochs}, {args.iterations}, {args.workers}"
        )
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    settings = dict(image_size=SIZE, channels=3, batch_size=BATCH, val_fraction=0.0, num_workers=args.workers)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch, "images")
        folder.mkdir()
        start = time.perf_counter()
        make_folder(folder, args.images)
        print(f"  generated {args.images} images in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        (uncached,) = loader_rate(ImageFolderDataModule(str(folder), cache=False, **settings), 1)
        first, *later = loader_rate(ImageFolderDataModule(str(folder), **settings), args.epochs)
        cache_bytes = sum(f.stat().st_size for f in (folder / ".lightning_gan_cache").iterdir())
    cached = float(np.median(later))
    training = training_rate(args.iterations)
    table = Table()
    table.print(
        f"{args.images} generated JPEG/PNG files (96-256 px) → 64×64 RGB, batch {BATCH}, "
        f"{args.workers} workers, {os.cpu_count()} cores; cache file {cache_bytes / 2**20:.0f} MiB"
    )
    table.print(f"{'':<28} {'images/s':>9} {'÷ training':>11}")
    for name, rate in [
        ("uncached (decode each epoch)", uncached),
        ("cached, first epoch (build)", first),
        (f"cached, epochs 2-{args.epochs} (median)", cached),
        ("training (DCGAN-64, GAN)", training),
    ]:
        table.print(f"{name:<28} {rate:>9.0f} {rate / training:>11.1f}")
    write_section("loader", table.lines)
    print()
    print(f"ratio {cached / training:.1f}")


if __name__ == "__main__":
    main()
