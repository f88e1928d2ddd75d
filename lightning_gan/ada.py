"""Adaptive discriminator augmentation (ADA; Karras et al., 2020) on the DiffAugment operations."""

from collections.abc import Callable

import torch
from torch import Tensor

from lightning_gan.augment import DiffAugment
from lightning_gan.training.checks import check_ranges


class AdaptiveAugment(DiffAugment):
    """DiffAugment's operations, each on each sample with a probability ``p`` that D's overfitting steers.

    ADA's overfitting heuristic is ``r_t = E[sign(D(x_real))]`` over the real samples D saw in the
    last ``interval`` D updates: 0 when D cannot tell reals from fakes, 1 when it is sure of every
    real (it overfits them). After every ``interval`` D updates,

        ``p ← clamp(p + sign(r_t − target) · n / speed_images, 0, max_p)``

    with ``n`` the reals seen in those updates, so ``p`` can move from 0 to 1 in ``speed_images``
    images. The same ``p`` augments reals and fakes, in the D and the G phase (every sample D sees
    in training). ``p`` and ``r_t``'s running sums are buffers and the update count is extra state:
    checkpoints keep them and a resumed fit goes on exactly. :class:`~lightning_gan.GAN` feeds the
    reals' logits (:meth:`observe`), calls :meth:`adjust` after every D update with a sum over
    ranks, and logs ``train/ada_p`` and ``train/ada_rt``.

    Args:
        policy: Comma-separated subset of ``color``, ``translation``, ``cutout``.
        target: ``r_t`` to hold (0.6 in the paper).
        speed_images: Reals over which ``p`` can go from 0 to 1 (500k in the paper).
        interval: D updates between adjustments (4 in the paper).
        max_p: Largest ``p``, in ``(0, 1]``.
        initial_p: ``p`` at the start, in ``[0, max_p]``.
        translation_ratio: As in :class:`~lightning_gan.augment.DiffAugment`.
        cutout_ratio: As in :class:`~lightning_gan.augment.DiffAugment`.

    Raises:
        ValueError: For a value out of its range (named, with what is accepted).
    """

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        target: float = 0.6,
        speed_images: int = 500_000,
        interval: int = 4,
        max_p: float = 1.0,
        initial_p: float = 0.0,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        super().__init__(policy, translation_ratio, cutout_ratio)
        check_ranges(
            "AdaptiveAugment",
            {
                "target": (target, 0 <= target < 1, "in [0, 1)"),
                "speed_images": (speed_images, speed_images >= 1, ">= 1"),
                "interval": (interval, interval >= 1, ">= 1"),
                "max_p": (max_p, 0 < max_p <= 1, "in (0, 1]"),
                "initial_p": (initial_p, 0 <= initial_p <= max_p, "in [0, max_p]"),
            },
        )
        self.target, self.speed_images, self.interval, self.max_p = target, speed_images, interval, max_p
        self.register_buffer("p", torch.tensor(float(initial_p)))
        # Σ sign(D(x_real)), the reals counted and the D updates since the last adjustment.
        self.register_buffer("sign_sum", torch.zeros(()))
        self.register_buffer("seen", torch.zeros(()))
        self.updates = 0  # in the state dict through get_extra_state

    def forward(self, x: Tensor) -> Tensor:
        """Augment a batch: each operation hits each sample with probability :attr:`p` (identity in eval).

        Args:
            x: ``(N, C, H, W)`` images.

        Returns:
            ``(N, C, H, W)`` images, differentiable with respect to ``x``.
        """
        if x.ndim != 4:
            raise ValueError(f"AdaptiveAugment works on (N, C, H, W) images, got shape {tuple(x.shape)}")
        if not self.training:
            return x
        for op in self.ops:
            hit = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p  # Bernoulli(p) per sample
            x = torch.where(hit, getattr(self, op)(x), x)
        return x

    def observe(self, real_logits: Tensor) -> dict[str, Tensor]:
        """Add one D step's ``(M,)`` real logits to the sums; return ``ada_p`` and the batch's ``ada_rt``."""
        signs = torch.sign(real_logits.detach().float())
        self.sign_sum += signs.sum()
        self.seen += signs.numel()
        return {"ada_p": self.p.clone(), "ada_rt": signs.mean()}

    @torch.no_grad()
    def adjust(self, all_ranks_sum: Callable[[Tensor], Tensor] | None = None) -> None:
        """Count one D update; at every ``interval``-th, move :attr:`p` by the sign of ``r_t − target``.

        Args:
            all_ranks_sum: Sums a tensor over the ranks (``None``: one process), so every rank
                moves ``p`` alike.
        """
        self.updates += 1
        if self.updates % self.interval:
            return
        sums = torch.stack([self.sign_sum, self.seen])
        sign_sum, seen = all_ranks_sum(sums) if all_ranks_sum is not None else sums
        r_t = sign_sum / seen.clamp_min(1)  # no reals seen: seen = 0 makes the step 0 (no host sync)
        self.p.add_(torch.sign(r_t - self.target) * seen / self.speed_images).clamp_(0.0, self.max_p)
        self.sign_sum.zero_()
        self.seen.zero_()

    def get_extra_state(self) -> dict[str, int]:
        """The D-update count, so a resumed fit adjusts at the same updates."""
        return {"updates": self.updates}

    def set_extra_state(self, state: dict[str, int]) -> None:
        """Restore what :meth:`get_extra_state` returned."""
        self.updates = state["updates"]

    def extra_repr(self) -> str:  # noqa: D102
        return f"{super().extra_repr()}, target={self.target}, p={float(self.p):.4f}"
