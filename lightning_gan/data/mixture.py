"""2-D Gaussian mixtures, the mode-collapse benchmark of VEEGAN and PacGAN."""

import math
from typing import Literal

import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from lightning_gan.data.resumable import training_loader
from lightning_gan.data.tensors import BatchedTensorDataset, keep_batch, tensor_loader
from lightning_gan.metrics.mode_coverage import ModeCoverage

# PacGAN's protocol: ring = 8 modes on the unit circle, σ 0.01; grid = 5×5 at {-4,-2,0,2,4}², σ 0.05.
_DEFAULTS = {
    "ring": {"n_modes": 8, "std": 0.01, "scale": 1.0},
    "grid": {"n_modes": 25, "std": 0.05, "scale": 2.0},
}


def mixture_centers(layout: str, n_modes: int, scale: float) -> Tensor:
    """Centers of an equal-weight 2-D mixture.

    Args:
        layout: ``"ring"``: ``n_modes`` points at angles ``2πk/n_modes`` on a circle of radius
            ``scale``; ``"grid"``: a ``√n_modes × √n_modes`` lattice with spacing ``scale``,
            centred on the origin.
        n_modes: Number of components (a perfect square for ``"grid"``).
        scale: Ring radius or grid spacing.

    Returns:
        ``(n_modes, 2)`` centers.
    """
    if layout == "ring":
        angle = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
        return (scale * torch.stack([angle.cos(), angle.sin()], dim=1)).float()
    side = math.isqrt(n_modes)
    axis = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * scale
    return torch.cartesian_prod(axis, axis)


class GaussianMixtureDataModule(LightningDataModule):
    """Samples of an equal-weight mixture of isotropic 2-D Gaussians.

    Batches are ``(x, mode)``: ``x`` of shape ``(B, 2)`` and the ``(B,)`` index of the component
    each sample was drawn from. The training and validation sets are drawn once, from ``seed`` and
    ``seed + 1``. Validation is also where generated samples are scored: :meth:`val_metrics` gives
    a :class:`~lightning_gan.metrics.ModeCoverage` over :attr:`centers`, so the model generates
    ``n_val_samples`` (2500 in PacGAN's protocol) per validation.

    Args:
        layout: ``"grid"`` or ``"ring"``.
        n_modes: Components; default 25 (grid) or 8 (ring). A perfect square for the grid.
        std: Per-axis standard deviation σ; default 0.05 (grid) or 0.01 (ring).
        scale: Grid spacing or ring radius; default 2 (grid) or 1 (ring).
        n_samples: Size of the training set.
        n_val_samples: Size of the validation set.
        batch_size: Training batch size (incomplete last batches are dropped).
        val_batch_size: Validation batch size.
        seed: Seed of the drawn data.
        num_workers: DataLoader workers.

    Raises:
        ValueError: For an unknown layout, ``n_modes < 1`` (or not a square for the grid),
            ``std <= 0``, ``scale <= 0`` or non-positive sizes.
    """

    def __init__(
        self,
        layout: Literal["grid", "ring"] = "grid",
        n_modes: int | None = None,
        std: float | None = None,
        scale: float | None = None,
        n_samples: int = 100_000,
        n_val_samples: int = 2500,
        batch_size: int = 256,
        val_batch_size: int = 500,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if layout not in _DEFAULTS:
            raise ValueError(f"layout must be one of {sorted(_DEFAULTS)}, got {layout!r}")
        defaults = _DEFAULTS[layout]
        self.layout = layout
        self.n_modes = defaults["n_modes"] if n_modes is None else n_modes
        self.std = defaults["std"] if std is None else std
        self.scale = defaults["scale"] if scale is None else scale
        if self.n_modes < 1 or (layout == "grid" and math.isqrt(self.n_modes) ** 2 != self.n_modes):
            accepted = "a perfect square >= 1" if layout == "grid" else ">= 1"
            raise ValueError(f"n_modes for the {layout} layout must be {accepted}, got {self.n_modes}")
        if self.std <= 0 or self.scale <= 0:
            raise ValueError(f"std and scale must be > 0, got std={self.std}, scale={self.scale}")
        if min(n_samples, n_val_samples, batch_size, val_batch_size) < 1 or batch_size > n_samples:
            raise ValueError(
                "sizes must be >= 1 and batch_size <= n_samples, got "
                f"n_samples={n_samples}, n_val_samples={n_val_samples}, "
                f"batch_size={batch_size}, val_batch_size={val_batch_size}"
            )
        self.n_samples, self.n_val_samples = n_samples, n_val_samples
        self.batch_size, self.val_batch_size = batch_size, val_batch_size
        self.seed, self.num_workers = seed, num_workers
        self.centers = mixture_centers(layout, self.n_modes, self.scale)
        self.sample_shape = (2,)

    def draw(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        """Draw ``n`` samples: pick a component uniformly, add ``σ·N(0, I)``.

        Args:
            n: Number of samples.
            seed: Seed of this draw.

        Returns:
            ``(n, 2)`` samples and their ``(n,)`` component indices.
        """
        gen = torch.Generator().manual_seed(seed)
        mode = torch.randint(self.n_modes, (n,), generator=gen)
        x = self.centers[mode] + self.std * torch.randn(n, 2, generator=gen)
        return x, mode

    def setup(self, stage: str) -> None:
        """Draw the training and validation sets (idempotent)."""
        if not hasattr(self, "train_set"):
            self.train_set = BatchedTensorDataset(*self.draw(self.n_samples, self.seed))
            self.val_set = BatchedTensorDataset(*self.draw(self.n_val_samples, self.seed + 1))

    def train_dataloader(self) -> DataLoader:
        """The training split, shuffled per epoch and resumable mid-epoch (this rank's shard under DDP)."""
        return training_loader(self.train_set, self.batch_size, self.trainer, self.num_workers, keep_batch)

    def val_dataloader(self) -> DataLoader:
        """The held-out split."""
        return tensor_loader(self.val_set, self.val_batch_size, False, False, self.num_workers)

    def test_dataloader(self) -> DataLoader:
        """The held-out split again: ``lightning-gan test`` reports the validation measures as ``test/*``."""
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """The held-out split; ``predict`` generates as many samples as it holds."""
        return self.val_dataloader()

    def val_metrics(self) -> dict[str, ModeCoverage]:
        """Metrics the model updates with generated samples during validation.

        Returns:
            ``{"mode_coverage": ModeCoverage(centers, std)}``.
        """
        return {"mode_coverage": ModeCoverage(self.centers, self.std)}
