"""Fréchet and kernel distances between generated samples and a fixed reference set."""

import torch.distributed as dist
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from lightning_gan.rng import seeded_fork

#: Seed of KID's subset draws.
KID_SEED = 1234


class GivenFeatures(nn.Module):
    """The extractor torchmetrics' FID and KID get here: features extracted beforehand pass through.

    Args:
        num_features: ``F``, the width of the ``(N, F)`` features it passes on.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        """``(N, F)`` features, unchanged."""
        return features


class FeatureDistance(Metric):
    """FD (FID's formula) and KID in the space of a feature extractor, against fixed reference samples.

    ``FD = ‖μ_r − μ_g‖² + tr(Σ_r + Σ_g − 2(Σ_r Σ_g)^½)`` over the features' means and covariances;
    ``KID`` = the unbiased MMD² with the cubic kernel ``k(a, b) = (aᵀb / F + 1)³``, averaged over
    ``kid_subsets`` random subsets of ``kid_subset_size`` samples from each side (Bińkowski et al.
    2018). Both are torchmetrics' implementations, in float64. Each batch goes through ``features``
    once, and FD and KID are fed the same features.

    The reference statistics are computed once, on the first update, and kept across resets; under
    DDP each rank feeds its own shard ``reference[rank::world_size]``, and the sums are reduced over
    ranks at compute. Generated samples come from :meth:`update` (validation's fakes).

    Args:
        features: Maps ``(N, ...)`` samples in ``[-1, 1]`` to ``(N, F)`` features and has
            ``num_features`` (e.g. :class:`~lightning_gan.metrics.features.DigitsFeatures`).
        reference: ``(M, ...)`` real samples in ``[-1, 1]``.
        n_generated: Generated samples per evaluation (to check ``kid_subset_size`` early).
        kid_subset_size: Samples per KID subset.
        kid_subsets: Number of KID subsets.
        batch_size: Batch size for feeding the reference through ``features``.

    Raises:
        ValueError: If ``kid_subset_size`` exceeds the reference or generated sample counts, or
            ``features`` has no ``num_features``.
    """

    full_state_update = False
    higher_is_better = False

    def __init__(
        self,
        features: nn.Module,
        reference: Tensor,
        n_generated: int,
        kid_subset_size: int = 100,
        kid_subsets: int = 50,
        batch_size: int = 256,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(getattr(features, "num_features", None), int):
            raise ValueError(f"features ({type(features).__name__}) must expose an integer num_features")
        if not 2 <= kid_subset_size <= min(reference.shape[0], n_generated):
            raise ValueError(
                f"kid_subset_size must be in [2, min(reference samples, generated samples)] = "
                f"[2, {min(reference.shape[0], n_generated)}], got {kid_subset_size} "
                f"({reference.shape[0]} reference, {n_generated} generated per evaluation)"
            )
        self.features = features
        given = GivenFeatures(features.num_features)
        self.fid = FrechetInceptionDistance(feature=given, reset_real_features=False)
        self.kid = KernelInceptionDistance(
            feature=given, subsets=kid_subsets, subset_size=kid_subset_size, reset_real_features=False
        )
        self.register_buffer("reference", reference, persistent=False)
        self.batch_size = batch_size
        self.reference_done = False

    def _add_reference(self) -> None:
        """Feed this rank's shard of the reference samples to both metrics (once)."""
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        shard = self.reference[rank::world]
        for start in range(0, shard.shape[0], self.batch_size):
            features = self.features(shard[start : start + self.batch_size])
            self.fid.update(features, real=True)
            self.kid.update(features, real=True)
        self.reference_done = True

    def update(self, generated: Tensor, features: Tensor | None = None) -> None:
        """Add ``(N, ...)`` generated samples in ``[-1, 1]``.

        Args:
            generated: The samples.
            features: Their ``(N, F)`` features from :attr:`features`, if another metric already
                extracted them (:class:`~lightning_gan.training.evaluation.Evaluation` does this).
        """
        if not self.reference_done:
            self._add_reference()
        features = self.features(generated) if features is None else features
        self.fid.update(features, real=False)
        self.kid.update(features, real=False)

    def compute(self) -> dict[str, Tensor]:
        """``fd``, ``kid`` and ``kid_std`` (over subsets), float64.

        KID's random subsets are drawn from a fixed seed inside a forked random state: every rank
        picks the same subsets (so all ranks report the same value), and training's random stream is
        left as it was.
        """
        with seeded_fork(KID_SEED, self.device):
            kid_mean, kid_std = self.kid.compute()
        return {"fd": self.fid.compute(), "kid": kid_mean, "kid_std": kid_std}

    def reset(self) -> None:
        """Forget the generated samples; the reference statistics stay."""
        super().reset()
        self.fid.reset()
        self.kid.reset()
