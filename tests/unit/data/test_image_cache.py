"""The uint8 image cache: decoded once, equal to decoding on access, rebuilt when the folder changes."""

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_gan.data import ImageFolderDataModule
from lightning_gan.data.folder import decode_image, load_image
from lightning_gan.data.image_cache import CACHE_DIRNAME, cached_images


def noise_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` random RGB images of varied sizes, as PNG and JPEG."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        size = (int(rng.integers(10, 30)), int(rng.integers(10, 30)))
        path = folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


class CountingDecode:
    """:func:`decode_image`, counting its calls (the cache decodes in threads)."""

    def __init__(self) -> None:
        self.calls, self.lock = 0, threading.Lock()

    def __call__(self, path: Path, image_size: int, channels: int) -> np.ndarray:
        with self.lock:
            self.calls += 1
        return decode_image(path, image_size, channels)


def test_decoded_once_then_read_back_equal_to_decoding(tmp_path):
    paths = noise_images(tmp_path, 6)
    decode = CountingDecode()
    first = cached_images(tmp_path, paths, 8, 3, decode)
    again = cached_images(tmp_path, paths, 8, 3, decode)
    assert decode.calls == 6  # the second call read the file
    assert isinstance(again, np.memmap) and first.shape == (6, 3, 8, 8) and first.dtype == np.uint8
    for row, path in zip(again, paths, strict=True):
        assert np.array_equal(row, decode_image(path, 8, 3))
    assert [p.suffix for p in (tmp_path / CACHE_DIRNAME).iterdir()] == [".npy"]  # no partial file left


def test_rebuilt_when_a_file_changes_is_added_or_the_crop_changes(tmp_path):
    paths = noise_images(tmp_path, 4)
    decode = CountingDecode()
    cached_images(tmp_path, paths, 8, 3, decode)
    Image.new("RGB", (12, 12), (255, 0, 0)).save(paths[1])  # replaced content
    os.utime(paths[1], ns=(1, 1))  # even with an old modification time, the size or mtime differs
    changed = cached_images(tmp_path, paths, 8, 3, decode)
    assert decode.calls == 8
    red = np.array([255, 0, 0], np.uint8)[:, None, None]
    assert np.array_equal(changed[1], np.broadcast_to(red, (3, 8, 8)))
    (tmp_path / "more").mkdir()
    more = [*paths, *noise_images(tmp_path / "more", 1, seed=1)]
    assert cached_images(tmp_path, more, 8, 3, decode).shape == (5, 3, 8, 8)
    assert cached_images(tmp_path, more, 8, 1, decode).shape == (5, 1, 8, 8)
    assert decode.calls == 8 + 5 + 5


def test_unwritable_cache_dir_decodes_into_memory_with_a_warning(tmp_path):
    paths = noise_images(tmp_path, 3)
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    with pytest.warns(UserWarning, match="cannot write the image cache .* decoding into memory instead"):
        images = cached_images(tmp_path, paths, 8, 3, decode_image, cache_dir=blocked / "cache")
    assert not isinstance(images, np.memmap)
    assert np.array_equal(images[2], decode_image(paths[2], 8, 3))


def test_datamodule_items_equal_decoding_on_access(tmp_path):
    noise_images(tmp_path, 10)
    args = dict(image_size=8, channels=3, val_fraction=0.2, batch_size=2, num_workers=0)
    cached = ImageFolderDataModule(str(tmp_path), **args)
    plain = ImageFolderDataModule(str(tmp_path), cache=False, **args)
    cached.prepare_data()
    for dm in (cached, plain):
        dm.setup("fit")
    for split in ("train_set", "val_set"):
        a, b = getattr(cached, split), getattr(plain, split)
        assert len(a) == len(b) > 0
        for i in range(len(a)):
            assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1] == 0
    assert torch.equal(plain.val_set[0][0], load_image(plain.val_set.paths[0], 8, 3))
