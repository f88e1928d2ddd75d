"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazıcı et al. 2019)."""

import torch
from torch import nn


class GeneratorEMA:
    """How the averaged generator G_ema follows G; pass to ``GAN(ema=GeneratorEMA(...))``.

    After every generator update, ``θ_ema ← β θ_ema + (1 - β) θ`` for every parameter, and buffers
    (BatchNorm statistics) are copied. ``β`` is either fixed (``decay``) or set from a half-life in
    training images, as in StyleGAN2-ADA: after ``half_life_images`` images an old weight's share
    has halved, ``β = 0.5 ** (images_per_update / half_life_images)``. With ``ramp_up`` the
    half-life early in training is at most ``ramp_up × images seen``, so G_ema does not drag the
    random initial weights along.

    Args:
        half_life_images: Half-life in images (global batch, all ranks). Give this or ``decay``.
        decay: A fixed β in ``[0, 1)``. Give this or ``half_life_images``.
        ramp_up: Optional ramp-up factor (StyleGAN2-ADA uses 0.05); only with ``half_life_images``.

    Raises:
        ValueError: Unless exactly one of ``half_life_images`` (> 0) and ``decay`` (in ``[0, 1)``)
            is given, or if ``ramp_up`` is given with ``decay`` or is not positive.
    """

    def __init__(
        self, half_life_images: float | None = None, decay: float | None = None, ramp_up: float | None = None
    ) -> None:
        if (half_life_images is None) == (decay is None):
            raise ValueError(
                "GeneratorEMA takes exactly one of half_life_images and decay, got "
                f"half_life_images={half_life_images}, decay={decay}"
            )
        if half_life_images is not None and half_life_images <= 0:
            raise ValueError(f"GeneratorEMA: half_life_images must be > 0, got {half_life_images}")
        if decay is not None and not 0 <= decay < 1:
            raise ValueError(f"GeneratorEMA: decay must be in [0, 1), got {decay}")
        if ramp_up is not None and (decay is not None or ramp_up <= 0):
            raise ValueError(
                f"GeneratorEMA: ramp_up must be > 0 and used with half_life_images, got {ramp_up}"
            )
        self.half_life_images, self.decay, self.ramp_up = half_life_images, decay, ramp_up

    def beta(self, images_per_update: int, images_seen: int) -> float:
        """The averaging factor β for one update.

        Args:
            images_per_update: Samples in this generator update, summed over ranks.
            images_seen: Samples seen by G before this update, summed over ranks.

        Returns:
            β in ``[0, 1)``.
        """
        if self.decay is not None:
            return self.decay
        half_life = self.half_life_images
        if self.ramp_up is not None:
            half_life = min(half_life, images_seen * self.ramp_up)  # ramp-up: short memory early on
        return 0.5 ** (images_per_update / max(half_life, 1e-8))

    @torch.no_grad()
    def update(self, average: nn.Module, network: nn.Module, beta: float) -> None:
        """``θ_ema ← β θ_ema + (1 - β) θ`` for parameters; buffers copied.

        Args:
            average: G_ema, updated in place.
            network: G, the same architecture.
            beta: β from :meth:`beta`.
        """
        for p_ema, p in zip(average.parameters(), network.parameters(), strict=True):
            p_ema.lerp_(p, 1.0 - beta)
        for b_ema, b in zip(average.buffers(), network.buffers(), strict=True):
            b_ema.copy_(b)

    def __repr__(self) -> str:
        if self.decay is not None:
            return f"GeneratorEMA(decay={self.decay})"
        return f"GeneratorEMA(half_life_images={self.half_life_images}, ramp_up={self.ramp_up})"
