"""Learning-rate schedules for ``GAN(g_scheduler=..., d_scheduler=...)``, stepped once per iteration."""

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


class LinearDecay(LRScheduler):
    """Hold the learning rate, then decay it linearly: the schedule of the tuned mixture recipes.

    ``factor(t) = 1`` for ``t <= start``, ``1 - (1 - final_factor)(t - start)/(end - start)`` between,
    ``final_factor`` from ``end`` on; ``lr(t) = base_lr × factor(t)`` with ``t`` the number of
    :meth:`step` calls (iterations, as :class:`~lightning_gan.GAN` steps it). A long constant phase
    lets G find every mode; the decay then sharpens each one (high-quality samples rise).

    Args:
        optimizer: The wrapped optimizer.
        start: Iteration at which the decay begins.
        end: Iteration at which it reaches ``final_factor``.
        final_factor: Fraction of the base learning rate left at the end, in ``[0, 1]``.
        last_epoch: Index of the last step, for resuming (``-1``: fresh).

    Raises:
        ValueError: Unless ``0 <= start < end`` and ``0 <= final_factor <= 1``.
    """

    def __init__(
        self, optimizer: Optimizer, start: int, end: int, final_factor: float = 0.0, last_epoch: int = -1
    ) -> None:
        if not 0 <= start < end:
            raise ValueError(f"LinearDecay needs 0 <= start < end, got start={start}, end={end}")
        if not 0 <= final_factor <= 1:
            raise ValueError(f"LinearDecay final_factor must be in [0, 1], got {final_factor}")
        self.start, self.end, self.final_factor = start, end, final_factor
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        """The multiplier of the base learning rate after ``t`` steps."""
        progress = min(max((t - self.start) / (self.end - self.start), 0.0), 1.0)
        return 1.0 - (1.0 - self.final_factor) * progress

    def get_lr(self) -> list[float]:  # noqa: D102
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]
