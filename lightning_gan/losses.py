"""Adversarial losses as strategy objects passed to :class:`lightning_gan.GAN`.

Every loss works on discriminator *logits* ``l = D(x)`` (never probabilities), so the binary
cross-entropy terms use the numerically stable softplus identities

    -log sigmoid(l)     = softplus(-l)
    -log(1 - sigmoid(l)) = softplus(l)

which stay finite for any float logit, unlike ``log(sigmoid(l))``.
"""

from abc import ABC, abstractmethod

import torch.nn.functional as F
from torch import Tensor


class AdversarialLoss(ABC):
    """The pair of objectives a GAN's discriminator and generator minimise.

    Subclasses implement both methods on logits of shape ``(N,)``; each returns a scalar tensor.
    """

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
            real_logits: ``(N,)`` D's logits on real samples, for losses that compare the two
                (relativistic ones); ``None`` for the losses here, which ignore it.

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
