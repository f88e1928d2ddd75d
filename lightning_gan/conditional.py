"""Class-conditional GAN, built only from :class:`~lightning_gan.GAN`'s public hooks."""

from typing import Any

import torch
from torch import Tensor

from lightning_gan.module import GAN


class ConditionalGAN(GAN):
    """A GAN whose G and D are conditioned on class labels (Mirza & Osindero 2014; projection D).

    The datamodule's batches are ``(x, y)``. In a training step D scores each real with its label
    and the fakes are generated for the same labels, so the class frequencies of the data are
    kept; outside training (:meth:`sample`, validation) labels are drawn uniformly. G and D are
    called as ``G(z, y)`` and ``D(x, y)`` (e.g. ``MLPGenerator(num_classes=10)``,
    ``DCGANDiscriminator(num_classes=10)``). :class:`~lightning_gan.callbacks.SampleGrid` lays
    its grid out one row per class.

    It overrides :meth:`labels_from_batch`, :meth:`sample_labels` and :meth:`setup`; everything
    else (phases, losses, regularizers, EMA, logging) is the base class. Arguments as :class:`GAN`.

    Raises:
        ValueError: At setup, if G and D disagree on ``num_classes`` or are unconditional, or the
            datamodule's ``num_classes`` differs.
    """

    @property
    def num_classes(self) -> int:
        """Number of classes G is conditioned on."""
        return getattr(self.generator, "num_classes", 0)

    def labels_from_batch(self, batch: Any) -> Tensor:  # noqa: ANN401
        """The batch's ``(N,)`` labels (its second element)."""
        return batch[1]

    def sample_labels(self, n: int) -> Tensor:
        """``(n,)`` labels drawn uniformly from the classes."""
        return torch.randint(self.num_classes, (n,), device=self.device)

    def setup(self, stage: str) -> None:
        """Check that G, D and the datamodule agree on the classes, then the base setup.

        Raises:
            ValueError: If G or D is unconditional, they differ in ``num_classes``, or the
                datamodule declares a different ``num_classes``.
        """
        d_classes = getattr(self.discriminator, "num_classes", 0)
        if not self.num_classes or self.num_classes != d_classes:
            raise ValueError(
                "ConditionalGAN needs a generator and a discriminator with the same num_classes >= 1, got "
                f"G num_classes={self.num_classes}, D num_classes={d_classes}"
            )
        data_classes = getattr(self.trainer.datamodule, "num_classes", None)
        if data_classes is not None and data_classes != self.num_classes:
            raise ValueError(
                f"ConditionalGAN nets have num_classes={self.num_classes} but the datamodule "
                f"({type(self.trainer.datamodule).__name__}) has {data_classes} classes"
            )
        super().setup(stage)
