"""Images from a directory tree, for training on your own data."""

import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from lightning import LightningDataModule
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from lightning_gan.data.image_cache import CachedImages, cached_images
from lightning_gan.data.resumable import training_loader

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def decode_image(path: Path, image_size: int, channels: int) -> np.ndarray:
    """Read one image as a square crop of bytes.

    Images with transparency (RGBA, LA, palette with a transparent colour) are composited on white;
    every mode is then converted to ``L`` (1 channel) or ``RGB`` (3 channels). The shorter side is
    resized to ``image_size`` (bicubic, antialiased) and the centre is cropped.

    Args:
        path: Image file.
        image_size: Output side.
        channels: 1 or 3.

    Returns:
        ``(channels, image_size, image_size)`` uint8 array.

    Raises:
        OSError: If PIL cannot decode the file (the message names it).
    """
    try:
        with Image.open(path) as img:
            if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            img = img.convert("L" if channels == 1 else "RGB")
            w, h = img.size
            ratio = image_size / min(w, h)
            img = img.resize(
                (max(image_size, round(w * ratio)), max(image_size, round(h * ratio))), Image.BICUBIC
            )
            w, h = img.size
            left, top = (w - image_size) // 2, (h - image_size) // 2
            img = img.crop((left, top, left + image_size, top + image_size))
            array = np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise OSError(f"cannot decode image {path}: {err}") from err
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def load_image(path: Path, image_size: int, channels: int) -> Tensor:
    """:func:`decode_image` as a ``(channels, image_size, image_size)`` float tensor: ``byte / 127.5 - 1``."""
    array = np.array(decode_image(path, image_size, channels))  # a writable, contiguous copy
    return torch.from_numpy(array).float() / 127.5 - 1.0


class ImageFolderDataset(Dataset):
    """Images decoded on every access (``cache=False``); items are ``(x, 0)`` like the labelled datasets'."""

    def __init__(self, paths: list[Path], image_size: int, channels: int) -> None:
        self.paths, self.image_size, self.channels = paths, image_size, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return load_image(self.paths[index], self.image_size, self.channels), 0


def scan_images(root: Path) -> tuple[list[Path], list[Path]]:
    """Find image files under ``root`` (recursively) and check that PIL recognises each one.

    Only the header is read (``Image.open`` is lazy), so the check is cheap.

    Args:
        root: Directory to search.

    Returns:
        Sorted readable paths and sorted unreadable ones.
    """
    readable, unreadable = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS):
        try:
            with Image.open(path):
                readable.append(path)
        except (OSError, UnidentifiedImageError):
            unreadable.append(path)
    return readable, unreadable


class ImageFolderDataModule(LightningDataModule):
    """All images under ``root`` (recursive; png, jpg, jpeg, bmp, webp), square-cropped to ``[-1, 1]``.

    Outcomes for bad folders, at ``setup``: a missing ``root`` raises ``FileNotFoundError``; a
    folder with no image file, or whose image files PIL cannot read at all, raises ``ValueError``;
    files PIL does not recognise are skipped with one warning that counts them and names the first
    few; a file that passes that check but fails to decode later raises ``OSError`` naming it.

    With ``cache`` (the default) every image is decoded and cropped once, into a uint8 file that
    is memory-mapped (``lightning_gan.data.image_cache``): ``prepare_data`` builds it (once per
    machine under DDP), later epochs and runs read it, and any change to the files or to
    ``image_size``/``channels`` builds a new one. It takes ``N·C·S²`` bytes (3,000 RGB 64×64 images:
    37 MB) in ``root/.lightning_gan_cache`` or ``cache_dir``.

    Args:
        root: Directory of images (subfolders are searched too; their names are not labels).
        image_size: Side of the square crops.
        channels: 1 (greyscale, mode ``L``) or 3 (``RGB``).
        val_fraction: Share held out for validation, in ``[0, 1)``.
        batch_size: Training batch size (incomplete last batches are dropped).
        val_batch_size: Validation batch size.
        seed: Seed of the split.
        num_workers: DataLoader workers (decoding happens there without the cache).
        cache: Decode once into a memory-mapped uint8 cache (``False``: decode on every access).
        cache_dir: Folder of the cache files (``None``: ``root/.lightning_gan_cache``).

    Raises:
        ValueError: For ``channels`` other than 1 or 3, a fraction outside ``[0, 1)``, or sizes < 1.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: Literal[1, 3] = 3,
        val_fraction: float = 0.05,
        batch_size: int = 64,
        val_batch_size: int = 64,
        seed: int = 0,
        num_workers: int = 2,
        cache: bool = True,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (greyscale) or 3 (RGB), got {channels}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if min(image_size, batch_size, val_batch_size) < 1:
            raise ValueError(
                "image_size, batch_size and val_batch_size must be >= 1, got "
                f"{image_size}, {batch_size}, {val_batch_size}"
            )
        self.root = Path(root)
        self.image_size, self.channels, self.val_fraction = image_size, channels, val_fraction
        self.batch_size, self.val_batch_size = batch_size, val_batch_size
        self.seed, self.num_workers = seed, num_workers
        self.cache, self.cache_dir = cache, None if cache_dir is None else Path(cache_dir)
        self.sample_shape = (channels, image_size, image_size)
        self.paths: list[Path] | None = None

    def prepare_data(self) -> None:
        """Build the image cache (Lightning calls this on one process per machine, before ``setup``)."""
        if self.cache:
            self._images(self._scan())

    def _images(self, paths: list[Path]) -> np.ndarray:
        """The cached ``(N, C, S, S)`` uint8 crops of ``paths`` (built if missing)."""
        return cached_images(self.root, paths, self.image_size, self.channels, decode_image, self.cache_dir)

    def _scan(self) -> list[Path]:
        """The readable images under ``root``; raise for a missing folder or none readable, warn on skips.

        Scanned once per process (``prepare_data`` and ``setup`` share it).
        """
        if self.paths is not None:
            return self.paths
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolderDataModule root {str(self.root)!r} is not a directory")
        paths, unreadable = scan_images(self.root)
        if not paths:
            found = (
                f"{len(unreadable)} files with image extensions, none readable" if unreadable else "no files"
            )
            raise ValueError(
                f"no readable images ({', '.join(EXTENSIONS)}) under {str(self.root)!r}: {found}"
            )
        if unreadable:
            names = ", ".join(str(p) for p in unreadable[:3])
            warnings.warn(
                f"skipping {len(unreadable)} unreadable image files under {self.root}: {names}", stacklevel=2
            )
        self.paths = paths
        return paths

    def setup(self, stage: str) -> None:
        """Scan the folder, report bad files, split, and open the cache (idempotent)."""
        if hasattr(self, "train_set"):
            return
        paths = self._scan()
        order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(self.seed)).tolist()
        n_val = round(len(paths) * self.val_fraction)
        train = [paths[i] for i in order[n_val:]]
        if len(train) < self.batch_size:
            raise ValueError(
                f"batch_size={self.batch_size} exceeds the {len(train)} training images under {self.root} "
                "(incomplete batches are dropped, so no batch would be drawn); lower batch_size"
            )
        if self.cache:
            images = self._images(paths)
            self.train_set: Dataset = CachedImages(images, order[n_val:])
            self.val_set: Dataset = CachedImages(images, order[:n_val])
            return
        self.train_set = ImageFolderDataset(train, self.image_size, self.channels)
        self.val_set = ImageFolderDataset([paths[i] for i in order[:n_val]], self.image_size, self.channels)

    def train_dataloader(self) -> DataLoader:
        """The training split, shuffled per epoch and resumable mid-epoch (this rank's shard under DDP)."""
        return training_loader(self.train_set, self.batch_size, self.trainer, self.num_workers)

    def val_dataloader(self) -> DataLoader:
        """The held-out split (in order; its own generator, so it never draws from the global stream)."""
        return DataLoader(
            self.val_set,
            batch_size=self.val_batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(0),
        )

    def test_dataloader(self) -> DataLoader:
        """The held-out split again: ``lightning-gan test`` reports the validation measures as ``test/*``."""
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """The held-out split; ``predict`` generates as many samples as it holds."""
        return self.val_dataloader()
