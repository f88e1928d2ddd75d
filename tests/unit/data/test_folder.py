import numpy as np
import pytest
import torch
from PIL import Image

from lightning_gan.data import ImageFolderDataModule
from lightning_gan.data.folder import load_image


def write(path, mode, size=(20, 10), color=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_recursive_modes_resize_crop(tmp_path):
    write(tmp_path / "a.png", "RGB", color=(255, 0, 0))
    write(tmp_path / "sub" / "b.jpg", "L", color=128)
    write(tmp_path / "sub" / "deeper" / "c.png", "RGBA", color=(0, 0, 255, 0))  # fully transparent → white
    pal = Image.new("P", (16, 16), 3)
    pal.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60, 0, 255, 0] + [0] * 756)
    pal.save(tmp_path / "d.bmp")
    (tmp_path / "notes.txt").write_text("not an image")
    dm = ImageFolderDataModule(
        str(tmp_path), image_size=8, channels=3, val_fraction=0.0, batch_size=4, num_workers=0
    )
    dm.setup("fit")
    assert len(dm.train_set) == 4
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 8, 8) and x.min() >= -1 and x.max() <= 1
    red = load_image(tmp_path / "a.png", 8, 3)
    assert torch.allclose(red[:, 0, 0], torch.tensor([1.0, -1.0, -1.0]))
    assert torch.allclose(load_image(tmp_path / "sub/deeper/c.png", 8, 3), torch.ones(3, 8, 8))
    assert torch.allclose(load_image(tmp_path / "d.bmp", 8, 3)[:, 0, 0], torch.tensor([-1.0, 1.0, -1.0]))
    grey = load_image(tmp_path / "a.png", 8, 1)
    assert grey.shape == (1, 8, 8)


def test_center_crop_keeps_the_middle(tmp_path):
    array = np.zeros((10, 30), dtype=np.uint8)
    array[:, 10:20] = 255  # a white middle third
    Image.fromarray(array).save(tmp_path / "wide.png")
    x = load_image(tmp_path / "wide.png", 10, 1)
    assert x.shape == (1, 10, 10) and x.mean() > 0.9


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        ImageFolderDataModule(str(tmp_path / "nope")).setup("fit")


def test_empty_folder(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(ValueError, match="no readable images.*no files"):
        ImageFolderDataModule(str(tmp_path)).setup("fit")


def test_all_corrupt(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="3 files with image extensions, none readable"):
        ImageFolderDataModule(str(tmp_path)).setup("fit")


def test_some_corrupt_are_skipped_with_warning(tmp_path):
    for i in range(4):
        write(tmp_path / f"{i}.png", "RGB")
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    dm = ImageFolderDataModule(str(tmp_path), image_size=8, batch_size=2, val_fraction=0.25, num_workers=0)
    with pytest.warns(UserWarning, match="skipping 1 unreadable image files.*bad.jpg"):
        dm.setup("fit")
    assert len(dm.train_set) == 3 and len(dm.val_set) == 1


def test_truncated_file_names_itself(tmp_path):
    write(tmp_path / "ok.png", "RGB", size=(64, 64))
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "ok.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError, match="cannot decode image .*ok.png"):
        load_image(tmp_path / "ok.png", 8, 3)


def test_batch_larger_than_dataset(tmp_path):
    for i in range(3):
        write(tmp_path / f"{i}.png", "RGB")
    with pytest.raises(ValueError, match="batch_size=64 exceeds the 3 training images"):
        ImageFolderDataModule(str(tmp_path), val_fraction=0.0).setup("fit")


def test_bad_channels(tmp_path):
    with pytest.raises(ValueError, match="channels must be 1"):
        ImageFolderDataModule(str(tmp_path), channels=4)
