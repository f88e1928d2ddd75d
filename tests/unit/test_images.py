import numpy as np
import pytest
import torch

from lightning_gan.images import CENTER_COLOR, make_grid, scatter_image, to_uint8


def test_make_grid_layout_and_placement():
    images = torch.arange(5, dtype=torch.float32).reshape(5, 1, 1, 1).expand(5, 1, 2, 3)
    grid = make_grid(images, nrow=2, padding=1, pad_value=-1)
    assert grid.shape == (1, 3 * (2 + 1) + 1, 2 * (3 + 1) + 1)
    # image i sits at row i // 2, column i % 2
    for i in range(5):
        r, c = divmod(i, 2)
        tile = grid[0, 1 + r * 3 : 1 + r * 3 + 2, 1 + c * 4 : 1 + c * 4 + 3]
        assert (tile == i).all()
    assert (grid[0, 7:9, 5:8] == -1).all()  # the empty sixth tile is padding
    assert (grid[0, 0] == -1).all()


def test_make_grid_fewer_images_than_nrow():
    assert make_grid(torch.zeros(3, 3, 4, 4), nrow=8, padding=0).shape == (3, 4, 12)


@pytest.mark.parametrize("shape", [(3, 4, 4), (0, 1, 4, 4)])
def test_make_grid_rejects_bad_input(shape):
    with pytest.raises(ValueError, match="N, C, H, W"):
        make_grid(torch.zeros(shape))


def test_to_uint8_maps_range_and_layout():
    image = torch.tensor([-1.0, 0.0, 1.0, 2.0]).reshape(1, 1, 4)
    out = to_uint8(image)
    assert out.dtype == np.uint8 and out.shape == (1, 4)
    assert out.tolist() == [[0, 128, 255, 255]]
    rgb = to_uint8(torch.zeros(3, 2, 5))
    assert rgb.shape == (2, 5, 3)
    with pytest.raises(ValueError, match="C in"):
        to_uint8(torch.zeros(2, 4, 4))


def test_scatter_image_marks_points_and_centers():
    centers = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    points = torch.tensor([[1.0, 1.0]] * 50)  # all at the upper-right center
    picture = scatter_image(points, centers, size=101, margin=0.25)
    assert picture.shape == (101, 101, 3) and picture.dtype == np.uint8
    # view spans [-1.5, 1.5]: center (1, 1) at column/row (83, 17), (-1, -1) at (17, 83); circles of radius 3
    assert tuple(picture[17, 83 + 3]) == CENTER_COLOR and tuple(picture[17 - 3, 83]) == CENTER_COLOR
    assert tuple(picture[83 + 3, 17]) == CENTER_COLOR
    assert picture[17, 83, 0] < 100  # the samples at the center itself stay visible (dark blue)
    assert tuple(picture[60, 60]) == (255, 255, 255)  # empty space stays white
    no_centers = scatter_image(points, None, size=101)
    assert no_centers.min() < 255  # the points themselves are drawn
