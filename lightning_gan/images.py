"""Image grids and uint8 conversion without torchvision."""

import math

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

#: RGB of the center markers in :func:`scatter_image`.
CENTER_COLOR = (220, 30, 30)


def make_grid(images: Tensor, nrow: int = 8, padding: int = 2, pad_value: float = -1.0) -> Tensor:
    """Tile a batch of images into one image, row by row.

    Args:
        images: ``(N, C, H, W)`` batch.
        nrow: Images per row; the last row may be partly filled with ``pad_value``.
        padding: Pixels of ``pad_value`` around every tile.
        pad_value: Fill for padding and empty tiles (``-1`` is black for data in ``[-1, 1]``).

    Returns:
        ``(C, rows * (H + padding) + padding, ncol * (W + padding) + padding)`` grid with
        ``ncol = min(nrow, N)`` and ``rows = ceil(N / ncol)``.

    Raises:
        ValueError: If ``images`` is not 4-D or empty, or ``nrow``/``padding`` are out of range.
    """
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"make_grid expects a non-empty (N, C, H, W) batch, got shape {tuple(images.shape)}")
    if nrow < 1 or padding < 0:
        raise ValueError(f"make_grid needs nrow >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    grid = images.new_full((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid


def to_uint8(image: Tensor) -> np.ndarray:
    """Map an image from ``[-1, 1]`` to displayable bytes.

    ``byte = round((x + 1) / 2 * 255)``, clipped to ``[0, 255]``.

    Args:
        image: ``(C, H, W)`` with ``C`` in ``{1, 3}``, values in ``[-1, 1]``.

    Returns:
        ``(H, W)`` for one channel or ``(H, W, 3)``, dtype ``uint8``, the layout PIL, W&B and
        TensorBoard (``dataformats="HW"``/``"HWC"``) accept.

    Raises:
        ValueError: If the image is not ``(C, H, W)`` with 1 or 3 channels.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"to_uint8 expects a (C, H, W) image with C in {{1, 3}}, got shape {tuple(image.shape)}"
        )
    scaled = ((image.detach().float().cpu() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    array = scaled.permute(1, 2, 0).numpy()
    return array[:, :, 0] if array.shape[2] == 1 else array


def scatter_image(
    points: Tensor, centers: Tensor | None = None, size: int = 384, margin: float = 0.25
) -> np.ndarray:
    """Render 2-D samples as a density picture, with the mixture centers marked.

    Each pixel's darkness grows with the number of samples in it, ``1 - exp(-count / 2)``, so both
    single stray samples and dense modes stay visible; centers are circled in red (outline only, so
    the samples inside stay visible). The view is the
    bounding box of the centers (or the points) widened by ``margin`` of its extent on each side.

    Args:
        points: ``(N, 2)`` samples.
        centers: ``(M, 2)`` centers to mark, or ``None``.
        size: Side of the square picture in pixels.
        margin: Extra view on each side, as a fraction of the box's larger extent.

    Returns:
        ``(size, size, 3)`` uint8 RGB picture, y pointing up.

    Raises:
        ValueError: If ``points`` is not ``(N, 2)``.
    """
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"scatter_image expects (N, 2) points, got shape {tuple(points.shape)}")
    pts = points.detach().float().cpu()
    ref = pts if centers is None or len(centers) == 0 else centers.detach().float().cpu()
    low, high = ref.min(dim=0).values, ref.max(dim=0).values
    extent = float((high - low).max().clamp_min(1e-3))
    mid = (low + high) / 2
    half = extent * (0.5 + margin)

    def to_pixels(xy: Tensor) -> Tensor:  # (K, 2) data → (K, 2) integer (col, row)
        unit = (xy - mid + half) / (2 * half)
        col = (unit[:, 0] * (size - 1)).round()
        row = ((1 - unit[:, 1]) * (size - 1)).round()
        return torch.stack([col, row], dim=1).long()

    pix = to_pixels(pts)
    inside = ((pix >= 0) & (pix < size)).all(dim=1)
    pix = pix[inside]
    counts = torch.bincount(pix[:, 1] * size + pix[:, 0], minlength=size * size).reshape(size, size).float()
    darkness = 1 - torch.exp(-counts / 2)  # (size, size) in [0, 1)
    blue = torch.tensor([31.0, 64.0, 153.0])
    rgb = 255 - darkness[:, :, None] * (255 - blue)  # white → dark blue
    picture = rgb.round().clamp(0, 255).to(torch.uint8).numpy().copy()
    if centers is None:
        return picture
    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    radius = max(3, size // 64)
    for col, row in to_pixels(centers.detach().float().cpu()).tolist():
        draw.ellipse((col - radius, row - radius, col + radius, row + radius), outline=CENTER_COLOR)
    return np.asarray(image).copy()
