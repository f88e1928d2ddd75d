"""Signs that a GAN's training went wrong, read from cheap values it already computes."""

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from lightning_gan.training.checks import check_ranges


@dataclass(frozen=True)
class Problem:
    """One sign of trouble: which ``signal`` fired and a sentence for the log and the alert."""

    signal: str
    message: str


def diversity(fake: Tensor, real: Tensor) -> float:
    """Spread of G's samples relative to the data's: ``mean_j std_i fake[i, j] / mean_j std_i real[i, j]``.

    About 1 when G covers the data's spread; near 0 when its samples collapsed onto a few points.

    Args:
        fake: ``(N, *sample_shape)`` generated samples, ``N >= 2``.
        real: ``(M, *sample_shape)`` real samples, ``M >= 2``.

    Returns:
        The ratio (``inf`` when the reals have no spread).
    """
    spread_fake = fake.detach().flatten(1).float().std(dim=0).mean()
    spread_real = real.detach().flatten(1).float().std(dim=0).mean()
    return float(spread_fake / spread_real) if spread_real > 0 else float("inf")


class HealthMonitor:
    """Decides, per logging window and per validation, whether training looks healthy.

    Window signals (``train/*`` means of one logging window):

    - ``saturation``: D wins outright, ``D(x) > saturation`` and ``D(G(z)) < 1 - saturation``;
    - ``grad_norm``: G's or D's gradient norm exceeds ``grad_norm_ratio`` × the median of the last
      ``history`` healthy windows' norms (judged once ``min_history`` windows are known);
    - ``skipped_steps``: more than ``max_skipped_fraction`` of the window's updates were dropped
      for non-finite gradients;
    - ``diversity``: :func:`diversity` of G's samples fell below ``min_diversity``, after a window above
      it (a G that starts collapsed, as a fresh one may, is not judged until it spreads once).

    Validation signal: ``metric`` regressed past ``tolerance`` relative to its best value so far
    (``mode="min"``: ``value > best · (1 + tolerance)``; ``"max"``: ``value < best · (1 - tolerance)``).

    Args:
        saturation: D probability beyond which D counts as saturated (``1`` turns it off).
        grad_norm_ratio: Factor over the recent median that counts as an explosion (``inf``: off).
        history: Healthy windows whose gradient norms form the median.
        min_history: Windows needed before ``grad_norm`` is judged.
        max_skipped_fraction: Share of a window's updates that may be skipped (``1``: off).
        min_diversity: Lowest healthy :func:`diversity` (``0``: off).
        metric: Validation key to watch (``None``: off), e.g. ``"val/fid"`` or ``"val/modes"``.
        mode: ``"min"`` if lower ``metric`` is better, ``"max"`` if higher is.
        tolerance: Relative regression from the best value that counts as a problem.
    """

    def __init__(
        self,
        saturation: float = 0.99,
        grad_norm_ratio: float = 10.0,
        history: int = 20,
        min_history: int = 5,
        max_skipped_fraction: float = 0.25,
        min_diversity: float = 0.1,
        metric: str | None = None,
        mode: str = "min",
        tolerance: float = 0.5,
    ) -> None:
        check_ranges(
            "HealthMonitor",
            {
                "saturation": (saturation, 0.5 < saturation <= 1, "in (0.5, 1]"),
                "grad_norm_ratio": (grad_norm_ratio, grad_norm_ratio > 1, "> 1"),
                "history": (history, history >= 1, ">= 1"),
                "min_history": (min_history, 1 <= min_history <= history, "in [1, history]"),
                "max_skipped_fraction": (max_skipped_fraction, 0 <= max_skipped_fraction <= 1, "in [0, 1]"),
                "min_diversity": (min_diversity, min_diversity >= 0, ">= 0"),
                "mode": (mode, mode in ("min", "max"), "'min' or 'max'"),
                "tolerance": (tolerance, tolerance >= 0, ">= 0"),
            },
        )
        self.saturation, self.grad_norm_ratio = saturation, grad_norm_ratio
        self.history, self.min_history = history, min_history
        self.max_skipped_fraction, self.min_diversity = max_skipped_fraction, min_diversity
        self.metric, self.mode, self.tolerance = metric, mode, tolerance
        self.norms: dict[str, list[float]] = {}
        self.skipped_before = 0.0
        self.best: float | None = None
        self.peak_diversity = 0.0

    def check_window(
        self, values: Mapping[str, float], updates: int, spread: float | None = None
    ) -> list[Problem]:
        """The problems of one logging window.

        Args:
            values: The window's ``train/*`` means (``d_real``, ``d_fake``, ``grad_norm_g``,
                ``grad_norm_d``, ``skipped_steps`` as a running count); missing keys are not judged.
            updates: Optimizer updates (G's and D's) in the window.
            spread: :func:`diversity` of G's samples at the window's end, if measured.
        """
        problems = []
        d_real, d_fake = values.get("train/d_real"), values.get("train/d_fake")
        if (
            d_real is not None
            and d_fake is not None
            and d_real > self.saturation
            and d_fake < 1 - self.saturation
        ):
            problems.append(
                Problem(
                    "saturation",
                    f"D saturated: D(x) = {d_real:.4f}, D(G(z)) = {d_fake:.4f} (G learns little)",
                )
            )
        for network in ("g", "d"):
            norm = values.get(f"train/grad_norm_{network}")
            if norm is None:
                continue
            past = self.norms.setdefault(network, [])
            judged = len(past) >= self.min_history
            limit = self.grad_norm_ratio * statistics.median(past) if judged else math.inf
            if not math.isfinite(norm) or norm > limit:
                message = f"{network.upper()}'s gradient norm {norm:.4g} exploded (limit {limit:.4g})"
                problems.append(Problem("grad_norm", message))
        skipped = values.get("train/skipped_steps")
        if skipped is not None:
            new = skipped - self.skipped_before
            self.skipped_before = skipped
            if updates > 0 and new > self.max_skipped_fraction * updates:
                problems.append(
                    Problem(
                        "skipped_steps", f"{new:.0f} of {updates} updates skipped for non-finite gradients"
                    )
                )
        if spread is not None:
            if spread < self.min_diversity <= self.peak_diversity:  # dropped, not a G still at its start
                problems.append(
                    Problem("diversity", f"samples collapsed: diversity {spread:.3f} < {self.min_diversity}")
                )
            self.peak_diversity = max(self.peak_diversity, spread)
        if not problems:  # only healthy windows set the norms' reference
            for network in ("g", "d"):
                norm = values.get(f"train/grad_norm_{network}")
                if norm is not None:
                    self.norms[network] = [*self.norms[network], norm][-self.history :]
        return problems

    def check_validation(self, values: Mapping[str, float]) -> list[Problem]:
        """The problem of one validation: :attr:`metric` regressed past the tolerance (else none)."""
        if self.metric is None or self.metric not in values:
            return []
        value = values[self.metric]
        best = self.best
        if best is None or (value < best if self.mode == "min" else value > best):
            self.best = value
            return []
        limit = best * (1 + self.tolerance) if self.mode == "min" else best * (1 - self.tolerance)
        if (value > limit) if self.mode == "min" else (value < limit):
            return [
                Problem(
                    "metric", f"{self.metric} regressed to {value:.4g} (best {best:.4g}, limit {limit:.4g})"
                )
            ]
        return []

    def state_dict(self) -> dict[str, Any]:
        """Gradient-norm history, the skip count seen, the peak diversity, the best metric value."""
        return {
            "norms": {k: list(v) for k, v in self.norms.items()},
            "skipped_before": self.skipped_before,
            "peak_diversity": self.peak_diversity,
            "best": self.best,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.norms = {k: list(v) for k, v in state["norms"].items()}
        self.skipped_before, self.best = state["skipped_before"], state["best"]
        self.peak_diversity = state["peak_diversity"]
