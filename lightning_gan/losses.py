"""Adversarial losses as strategy objects passed to :class:`lightning_gan.GAN`.

Every loss works on discriminator *logits* ``l = D(x)`` (never probabilities), so the binary
cross-entropy terms use the numerically stable softplus identities

    -log sigmoid(l)     = softplus(-l)
    -log(1 - sigmoid(l)) = softplus(l)

which stay finite for any float logit, unlike ``log(sigmoid(l))``.
"""

from abc import ABC, abstractmethod
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor


class AdversarialLoss(ABC):
    """The pair of objectives a GAN's discriminator and generator minimise.

    Subclasses implement both methods on logits (raw critic scores) of shape ``(N,)``; each returns a
    scalar tensor. A loss whose generator objective compares fakes with reals sets
    ``generator_needs_real = True``; :class:`~lightning_gan.GAN` then scores the real batch with the
    (frozen) discriminator in the generator phase and passes those logits too.
    """

    generator_needs_real: ClassVar[bool] = False

    @abstractmethod
    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """Loss the discriminator minimises.

        Args:
            real_logits: ``(N,)`` D's logits on real samples.
            fake_logits: ``(M,)`` D's logits on generated samples.

        Returns:
            Scalar loss.
        """

    @abstractmethod
    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """Loss the generator minimises.

        Args:
            fake_logits: ``(M,)`` D's logits on generated samples.
            real_logits: ``(N,)`` D's logits on real samples; given when ``generator_needs_real``
                (relativistic losses), otherwise ``None``.

        Returns:
            Scalar loss.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def bce_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Binary cross-entropy of D with real → 1 and fake → 0.

    The negated value function of Goodfellow et al. (2014):
    ``-(E[log D(x)] + E[log(1 - D(G(z)))]) = E[softplus(-D(x))] + E[softplus(D(G(z)))]``.

    Args:
        real_logits: ``(N,)`` logits on real samples.
        fake_logits: ``(M,)`` logits on generated samples.

    Returns:
        Scalar loss; ``log 4`` when D outputs 1/2 everywhere.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class MinimaxLoss(AdversarialLoss):
    """The seed's two-player minimax game (saturating generator loss).

    D maximises ``V = E[log D(x)] + E[log(1 - D(G(z)))]``, i.e. minimises ``-V`` (binary
    cross-entropy). G minimises ``E[log(1 - D(G(z)))] = -E[softplus(D(G(z)))]``. The G gradient
    vanishes when D confidently rejects fakes (``sigmoid(l) -> 0``), which is why the paper suggests
    the non-saturating form in practice.
    """

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:  # noqa: D102
        return bce_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:  # noqa: D102
        # log(1 - sigmoid(l)) = -softplus(l)
        return -F.softplus(fake_logits).mean()


class NonSaturatingLoss(AdversarialLoss):
    """The non-saturating heuristic of Goodfellow et al. (2014), the default.

    D minimises the same binary cross-entropy as :class:`MinimaxLoss`; G minimises
    ``-E[log D(G(z))] = E[softplus(-D(G(z)))]``, whose gradient is strong exactly when D rejects
    the fakes.
    """

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:  # noqa: D102
        return bce_discriminator_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:  # noqa: D102
        # -log sigmoid(l) = softplus(-l)
        return F.softplus(-fake_logits).mean()


class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN (Mao et al., 2017) with targets real = 1, fake = 0 (their a=0, b=c=1).

    D minimises ``½ E[(D(x) - 1)²] + ½ E[D(G(z))²]``; G minimises ``½ E[(D(G(z)) - 1)²]``. With these
    targets the optimal-D game minimises a Pearson χ² divergence. ``D`` is the raw score, no sigmoid.
    """

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:  # noqa: D102
        return 0.5 * (real_logits - 1).square().mean() + 0.5 * fake_logits.square().mean()

    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:  # noqa: D102
        return 0.5 * (fake_logits - 1).square().mean()


class WassersteinLoss(AdversarialLoss):
    """Wasserstein GAN (Arjovsky et al., 2017): D is a critic estimating ``W₁(p_data, p_g)``.

    D minimises ``E[D(G(z))] - E[D(x)]``; G minimises ``-E[D(G(z))]``. The critic must be kept
    1-Lipschitz, by :class:`~lightning_gan.regularizers.GradientPenalty` (WGAN-GP),
    :class:`~lightning_gan.regularizers.WeightClipping` (the original WGAN) or spectral
    normalisation; without one the critic's scores grow without bound.
    """

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:  # noqa: D102
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:  # noqa: D102
        return -fake_logits.mean()


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, with spectral normalisation).

    D minimises ``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``: reals are pushed above +1, fakes
    below -1, and samples beyond their margin give no gradient. G minimises ``-E[D(G(z))]``.
    """

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:  # noqa: D102
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:  # noqa: D102
        return -fake_logits.mean()


class RelativisticAverageLoss(AdversarialLoss):
    """Relativistic average GAN, binary cross-entropy form (RaSGAN; Jolicoeur-Martineau, 2019).

    D judges whether a real sample is more realistic than the average fake, and a fake less
    realistic than the average real. With ``C`` the logits, ``σ`` the sigmoid and
    ``ΔR = C(x) - E[C(G(z))]``, ``ΔF = C(G(z)) - E[C(x)]``:

    - D minimises ``-E[log σ(ΔR)] - E[log(1 - σ(ΔF))] = E[softplus(-ΔR)] + E[softplus(ΔF)]``;
    - G minimises the mirror image ``E[softplus(-ΔF)] + E[softplus(ΔR)]``, so it needs the real
      logits as well (``generator_needs_real``).
    """

    generator_needs_real: ClassVar[bool] = True

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:  # noqa: D102
        delta_real = real_logits - fake_logits.mean()  # ΔR
        delta_fake = fake_logits - real_logits.mean()  # ΔF
        return F.softplus(-delta_real).mean() + F.softplus(delta_fake).mean()

    def generator_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:  # noqa: D102
        if real_logits is None:
            raise ValueError("RelativisticAverageLoss.generator_loss needs the real logits, got None")
        delta_real = real_logits - fake_logits.mean()
        delta_fake = fake_logits - real_logits.mean()
        return F.softplus(-delta_fake).mean() + F.softplus(delta_real).mean()
