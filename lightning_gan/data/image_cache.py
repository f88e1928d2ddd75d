"""Images decoded once: a uint8 array of every crop, memory-mapped from a file beside the data.

Decoding and resizing a JPEG costs far more than training needs per image, and an image folder
would pay it again every epoch. The cache holds each file's square crop as ``(C, S, S)`` bytes in
one ``.npy`` file per folder state, named by a fingerprint of the files (relative path, size,
modification time) and of the crop settings: adding, removing, replacing or touching a file, or
asking for another size or channel count, names another file, which is then built. A cache that
cannot be written (a read-only folder) is kept in memory instead, with a warning.
"""

import hashlib
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

#: Changes whenever decoding changes, so caches of older decodes are not reused.
DECODE_VERSION = 1
CACHE_DIRNAME = ".lightning_gan_cache"
#: ``decode(path, S, C)`` → one ``(C, S, S)`` uint8 crop.
DecodeFn = Callable[[Path, int, int], np.ndarray]


def fingerprint(root: Path, paths: list[Path], image_size: int, channels: int) -> str:
    """A hex digest of the files (path relative to ``root``, size, mtime) and the crop settings."""
    sha = hashlib.sha256(f"v{DECODE_VERSION} {image_size} {channels}".encode())
    for path in paths:
        stat = path.stat()
        sha.update(f"\n{path.relative_to(root).as_posix()} {stat.st_size} {stat.st_mtime_ns}".encode())
    return sha.hexdigest()[:24]


def cache_path(root: Path, paths: list[Path], image_size: int, channels: int, cache_dir: Path | None) -> Path:
    """Where the cache of this folder state lives: ``<cache_dir or root/.lightning_gan_cache>/<fp>.npy``."""
    folder = root / CACHE_DIRNAME if cache_dir is None else cache_dir
    return folder / f"{image_size}px_{channels}ch_{fingerprint(root, paths, image_size, channels)}.npy"


def build(paths: list[Path], image_size: int, channels: int, decode: DecodeFn, out: np.ndarray) -> None:
    """Decode every path into ``out[i]`` (``(N, C, S, S)`` uint8), one thread per core.

    PIL releases the GIL while it decodes and resizes, so threads decode files in parallel.
    """
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for i, crop in enumerate(pool.map(lambda path: decode(path, image_size, channels), paths)):
            out[i] = crop


def cached_images(
    root: Path,
    paths: list[Path],
    image_size: int,
    channels: int,
    decode: DecodeFn,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """``(N, C, S, S)`` uint8 crops of ``paths``: read from the cache file, or decoded once and written.

    The file is written under a temporary name and renamed into place, so a reader (another rank,
    a later run) never sees half a cache; ranks that build at once write the same bytes.

    Args:
        root: The image folder (paths are fingerprinted relative to it).
        paths: The image files, in the order of the array's rows.
        image_size: Side ``S`` of the crops.
        channels: ``C``, 1 or 3.
        decode: ``decode(path, S, C)`` → ``(C, S, S)`` uint8 array.
        cache_dir: Where to keep cache files (``None``: ``root/.lightning_gan_cache``).

    Returns:
        A read-only memory map of the cache file, or an in-memory array if it could not be written.
    """
    target = cache_path(root, paths, image_size, channels, cache_dir)
    shape = (len(paths), channels, image_size, image_size)
    if target.is_file():
        array = np.load(target, mmap_mode="r")
        if array.shape == shape and array.dtype == np.uint8:
            return array
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.npy")
        out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=shape)
    except OSError as err:
        warnings.warn(
            f"cannot write the image cache {target} ({err}); decoding into memory instead "
            "(set cache_dir to a writable folder to keep the decoded images between runs)",
            stacklevel=2,
        )
        out = np.empty(shape, dtype=np.uint8)
        build(paths, image_size, channels, decode, out)
        return out
    try:
        build(paths, image_size, channels, decode, out)
        out.flush()
        del out
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return np.load(target, mmap_mode="r")


class CachedImages(Dataset):
    """Rows of a uint8 ``(N, C, S, S)`` array as ``(x, 0)`` items, ``x = byte / 127.5 - 1`` in ``[-1, 1]``.

    Args:
        images: The crops (a memory map or an in-memory array).
        indices: Which rows belong to this split.
    """

    def __init__(self, images: np.ndarray, indices: list[int]) -> None:
        self.images, self.indices = images, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        row = torch.from_numpy(np.array(self.images[self.indices[index]]))
        return row.float() / 127.5 - 1.0, 0
