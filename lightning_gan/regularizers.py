"""Regularizers as strategy objects passed to :class:`lightning_gan.GAN` (``regularizers=[...]``).

A regularizer names the network it acts on (``network``) and contributes either a penalty added to
that network's loss (:meth:`Regularizer.penalty`) or an in-place change after that network's
optimizer step (:meth:`Regularizer.after_step`). Penalties can be applied lazily (StyleGAN2, Karras
et al. 2020): computed only on every ``every``-th update of the network and multiplied by ``every``
then, so that their average strength is unchanged while most updates skip their cost.

Gradient penalties differentiate D's logits with respect to its input, ``∇ₓ D(x)``, one row per
D output (per packed group when D scores packed samples).
"""

from collections.abc import Callable
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

Network = Literal["discriminator", "generator"]
#: D as the step calls it: ``(N, *sample_shape)`` samples → ``(N,)`` logits (labels, packing and
#: augmentation already bound in).
Scorer = Callable[[Tensor], Tensor]


class ScaledScorer:
    """A :data:`Scorer` that also carries the mixed-precision loss scale for :func:`input_gradients`.

    :class:`~lightning_gan.GAN` passes one to :meth:`Regularizer.penalty`, so a penalty built on
    :func:`input_gradients` is correct under a ``GradScaler`` without knowing about it.

    Args:
        discriminate: The scorer to call.
        grad_scale: The ``GradScaler``'s current scale ``s`` (1 without one).
    """

    def __init__(self, discriminate: Scorer, grad_scale: float = 1.0) -> None:
        self.discriminate = discriminate
        self.grad_scale = grad_scale

    def __call__(self, x: Tensor) -> Tensor:
        """``(N, *sample_shape)`` samples → ``(M,)`` logits."""
        return self.discriminate(x)


def input_gradients(discriminate: Scorer, x: Tensor) -> Tensor:
    """Per-output input gradients of D, kept in the graph so that a penalty on them trains D.

    Under ``16-mixed`` the backward runs in float16, where small gradients underflow to 0. As for
    the loss, the logits are multiplied by the ``GradScaler``'s scale ``s`` (the ``grad_scale`` of a
    :class:`ScaledScorer`) before differentiating, and the gradients divided by it after:
    ``∇ₓ(s·ΣD)/s = ∇ₓΣD``, exactly for ``s`` a power of 2 when nothing overflows.

    Args:
        discriminate: Maps ``(N, *sample_shape)`` samples to ``(M,)`` logits (``M = N / pack``).
        x: ``(N, *sample_shape)`` points at which to differentiate (detached here).

    Returns:
        ``(M, N / M * prod(sample_shape))``: row ``i`` is ``∇ D(x)_i`` with respect to the inputs
        that make up D's i-th score.
    """
    x = x.detach().requires_grad_(True)
    logits = discriminate(x)
    # Each logit depends only on its own inputs, so ∇ Σᵢ D(x)ᵢ gives every per-output gradient at once
    # (exactly so without batch-coupling layers: BatchNorm in training mode adds cross terms).
    scale = getattr(discriminate, "grad_scale", 1.0)
    # The sum in float32: Σ D · s would overflow float16 (max 65504) for large batches or scales.
    (scaled,) = torch.autograd.grad(logits.float().sum() * scale, x, create_graph=True)
    return (scaled / scale).reshape(logits.shape[0], -1)


class Regularizer:
    """Base class: which network, how often, and what to add or change.

    Subclasses override :meth:`penalty`, :meth:`after_step` or both.

    Args:
        every: Apply on every ``every``-th update of the network (1 = every update); a penalty is
            then multiplied by ``every`` (lazy regularization).

    Raises:
        ValueError: If ``every < 1``.
    """

    #: The network whose loss or weights this regularizer acts on.
    network: ClassVar[Network] = "discriminator"
    #: Logged as ``train/<name>``.
    name: ClassVar[str] = "regularizer"

    def __init__(self, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"{type(self).__name__}: every (the lazy interval) must be >= 1, got {every}")
        self.every = every

    def is_due(self, update: int) -> bool:
        """Whether the network's ``update``-th update (0-based) is one this regularizer applies to."""
        return update % self.every == 0

    def penalty(self, discriminate: Scorer, real: Tensor, fake: Tensor) -> Tensor | None:
        """The unscaled penalty for this update, or ``None`` for regularizers that add no loss term.

        Args:
            discriminate: D as the step calls it (see :data:`Scorer`).
            real: ``(N, *sample_shape)`` real samples of this step.
            fake: ``(N, *sample_shape)`` generated samples of this step (detached in the D phase,
                with graph to G in the G phase).

        Returns:
            A scalar, or ``None``.
        """
        return None

    def after_step(self, network: nn.Module) -> None:
        """Change the network in place after its optimizer step (default: nothing)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(every={self.every})"


class GradientPenalty(Regularizer):
    """WGAN-GP (Gulrajani et al., 2017): ``λ E[(‖∇D(x̂)‖₂ - 1)²]`` on ``x̂ = εx + (1 - ε)x̃``.

    ``ε ~ U[0, 1]`` per sample, ``x`` real, ``x̃`` generated: a soft 1-Lipschitz constraint on the
    critic along lines between the two distributions.

    Args:
        weight: λ (10 in the paper).
        every: Lazy interval (see :class:`Regularizer`).
    """

    name: ClassVar[str] = "gradient_penalty"

    def __init__(self, weight: float = 10.0, every: int = 1) -> None:
        super().__init__(every)
        self.weight = weight

    def penalty(self, discriminate: Scorer, real: Tensor, fake: Tensor) -> Tensor:  # noqa: D102
        n = min(real.shape[0], fake.shape[0])
        real, fake = real[:n].detach(), fake[:n].detach()
        eps = torch.rand(n, *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
        interpolates = eps * real + (1 - eps) * fake  # x̂ = εx + (1 - ε)x̃
        grad_norm = input_gradients(discriminate, interpolates).norm(dim=1)
        return self.weight * (grad_norm - 1).square().mean()  # λ E[(‖∇D(x̂)‖ - 1)²]

    def __repr__(self) -> str:
        return f"GradientPenalty(weight={self.weight}, every={self.every})"


class R1Penalty(Regularizer):
    """R1 (Mescheder et al., 2018): ``γ/2 E_x[‖∇D(x)‖²]`` on real samples.

    Pushes D's gradient to zero on the data, which makes the game locally convergent.
    StyleGAN2 applies it lazily (``every=16``).

    Args:
        gamma: γ.
        every: Lazy interval (see :class:`Regularizer`).
    """

    name: ClassVar[str] = "r1_penalty"

    def __init__(self, gamma: float = 10.0, every: int = 1) -> None:
        super().__init__(every)
        self.gamma = gamma

    def penalty(self, discriminate: Scorer, real: Tensor, fake: Tensor) -> Tensor:  # noqa: D102
        return 0.5 * self.gamma * input_gradients(discriminate, real).square().sum(dim=1).mean()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gamma={self.gamma}, every={self.every})"


class R2Penalty(R1Penalty):
    """R2 (Mescheder et al., 2018): ``γ/2 E_x̃[‖∇D(x̃)‖²]`` on generated samples.

    Args:
        gamma: γ.
        every: Lazy interval (see :class:`Regularizer`).
    """

    name: ClassVar[str] = "r2_penalty"

    def penalty(self, discriminate: Scorer, real: Tensor, fake: Tensor) -> Tensor:  # noqa: D102
        return super().penalty(discriminate, fake, real)


class WeightClipping(Regularizer):
    """The original WGAN's Lipschitz constraint: clamp every D parameter to ``[-clip, clip]``.

    Applied after each D optimizer step; adds no loss term.

    Args:
        clip: The bound c (0.01 in Arjovsky et al., 2017).

    Raises:
        ValueError: If ``clip <= 0``.
    """

    name: ClassVar[str] = "weight_clipping"

    def __init__(self, clip: float = 0.01) -> None:
        super().__init__(every=1)
        if clip <= 0:
            raise ValueError(f"WeightClipping: clip must be > 0, got {clip}")
        self.clip = clip

    @torch.no_grad()
    def after_step(self, network: nn.Module) -> None:  # noqa: D102
        for parameter in network.parameters():
            parameter.clamp_(-self.clip, self.clip)

    def __repr__(self) -> str:
        return f"WeightClipping(clip={self.clip})"
