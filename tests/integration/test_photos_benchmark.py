"""``benchmarks/photos.py`` cuts real crops of scikit-learn's photos, and the folder datamodule reads them."""

import sys

import numpy as np
from PIL import Image

from lightning_gan.data import ImageFolderDataModule
from lightning_gan.data.folder import decode_image
from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmarks are scripts
import photos  # noqa: E402


def test_crops_are_squares_of_both_photos_that_the_folder_datamodule_trains_on(tmp_path):
    paths = photos.cut_crops(tmp_path, 70, seed=0)
    assert [path.name for path in paths[:3]] == ["china_00000.jpg", "flower_00001.jpg", "china_00002.jpg"]
    sides = []
    for path in paths:
        with Image.open(path) as image:
            assert image.width == image.height and image.mode == "RGB"
            sides.append(image.width)
    assert min(sides) >= photos.SMALLEST and max(sides) <= 427
    assert len(set(sides)) > 30  # drawn sides, not one size
    data = ImageFolderDataModule(str(tmp_path), image_size=64, batch_size=32, val_fraction=0.1, num_workers=0)
    data.setup("fit")
    real, _ = next(iter(data.train_dataloader()))
    assert real.shape == (32, 3, 64, 64) and -1.0 <= real.min() < real.max() <= 1.0


def test_the_real_grid_shows_the_crops_as_the_datamodule_decodes_them(tmp_path):
    paths = photos.cut_crops(tmp_path, 64, seed=1)
    target = tmp_path / "grid.png"
    photos.save_real_grid(paths, target)
    grid = np.asarray(Image.open(target))
    assert grid.shape == (8 * 66 + 2, 8 * 66 + 2, 3)  # 8×8 tiles of 64 px with 2 px padding
    first = decode_image(paths[0], 64, 3).transpose(1, 2, 0)  # (64, 64, 3)
    np.testing.assert_array_equal(grid[2:66, 2:66], first)
    last = decode_image(paths[63], 64, 3).transpose(1, 2, 0)
    np.testing.assert_array_equal(grid[-66:-2, -66:-2], last)
