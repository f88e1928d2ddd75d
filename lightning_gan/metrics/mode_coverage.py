"""Mode coverage of a 2-D mixture (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018)."""

import torch
from torch import Tensor
from torchmetrics import Metric


def mode_counts(samples: Tensor, centers: Tensor, std: float) -> tuple[Tensor, Tensor]:
    """Assign every sample to its nearest center and count, overall and among high-quality ones.

    A sample is *high quality* when ``‖x - c_nearest‖₂ <= 3σ``.

    Args:
        samples: ``(N, D)`` generated samples.
        centers: ``(M, D)`` mixture centers.
        std: Component standard deviation σ.

    Returns:
        ``(M,)`` count of all samples per nearest center and ``(M,)`` count of high-quality ones.

    Raises:
        ValueError: On an empty batch, mismatched dimensions or ``std <= 0``.
    """
    if samples.ndim != 2 or samples.shape[0] == 0 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"mode coverage needs a non-empty (N, {centers.shape[1]}) batch of samples, "
            f"got shape {tuple(samples.shape)}"
        )
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    distance = torch.cdist(samples.double(), centers.double().to(samples.device))  # (N, M)
    nearest_distance, nearest = distance.min(dim=1)
    high_quality = nearest_distance <= 3 * std
    m = centers.shape[0]
    return torch.bincount(nearest, minlength=m), torch.bincount(nearest[high_quality], minlength=m)


def coverage_from_counts(counts: Tensor, hq_counts: Tensor) -> dict[str, Tensor]:
    """Summarise per-mode counts.

    ``modes = #{i : hq_i >= 1}`` (modes that are the nearest center of at least one high-quality
    sample); ``high_quality = Σ hq_i / Σ n_i``; ``reverse_kl = KL(p̂ ‖ U) = Σ_i p̂_i log(M p̂_i)``
    with ``p̂_i = n_i / Σ n`` the histogram of nearest centers over *all* samples and ``U`` uniform
    over the ``M`` modes (``0 log 0 = 0``). ``reverse_kl`` is 0 for perfectly balanced coverage and
    ``log M`` when every sample sits at one mode.

    Args:
        counts: ``(M,)`` samples per nearest center.
        hq_counts: ``(M,)`` high-quality samples per nearest center.

    Returns:
        ``modes`` (float count), ``high_quality`` (fraction in ``[0, 1]``) and ``reverse_kl`` (nats).
    """
    total = counts.sum().double()
    p = counts.double() / total
    m = counts.shape[0]
    reverse_kl = torch.where(p > 0, p * torch.log(p * m), torch.zeros_like(p)).sum()
    return {
        "modes": (hq_counts > 0).sum().double(),
        "high_quality": hq_counts.sum().double() / total,
        "reverse_kl": reverse_kl,
    }


def mode_coverage(samples: Tensor, centers: Tensor, std: float) -> dict[str, Tensor]:
    """Mode coverage of generated samples, as in VEEGAN's and PacGAN's tables.

    Args:
        samples: ``(N, D)`` generated samples.
        centers: ``(M, D)`` mixture centers.
        std: Component standard deviation σ (high quality = within 3σ of the nearest center).

    Returns:
        ``{"modes", "high_quality", "reverse_kl"}``, see :func:`coverage_from_counts`.

    Example:
        >>> centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
        >>> mode_coverage(torch.tensor([[0.0, 0.01], [5.0, 5.0]]), centers, std=0.05)["modes"]
        tensor(1., dtype=torch.float64)
    """
    return coverage_from_counts(*mode_counts(samples, centers, std))


class ModeCoverage(Metric):
    """Accumulating, rank-synced form of :func:`mode_coverage`.

    State is the two ``(M,)`` count vectors, summed across batches and DDP ranks, so the result
    equals :func:`mode_coverage` on all samples concatenated.

    Args:
        centers: ``(M, D)`` mixture centers.
        std: Component standard deviation σ.
    """

    full_state_update = False
    higher_is_better = None

    def __init__(self, centers: Tensor, std: float, **kwargs: object) -> None:
        super().__init__(**kwargs)
        if std <= 0:
            raise ValueError(f"std must be > 0, got {std}")
        self.register_buffer("centers", torch.as_tensor(centers, dtype=torch.float32), persistent=False)
        self.std = float(std)
        m = self.centers.shape[0]
        self.add_state("counts", torch.zeros(m, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("hq_counts", torch.zeros(m, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, samples: Tensor) -> None:
        """Add a batch of ``(N, D)`` generated samples."""
        counts, hq_counts = mode_counts(samples, self.centers, self.std)
        self.counts += counts
        self.hq_counts += hq_counts

    def compute(self) -> dict[str, Tensor]:
        """``{"modes", "high_quality", "reverse_kl"}`` over everything seen since the last reset."""
        return coverage_from_counts(self.counts, self.hq_counts)
