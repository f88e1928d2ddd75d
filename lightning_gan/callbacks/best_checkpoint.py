"""The best checkpoint by a validation measure, for runs whose data log it."""

from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn


class BestCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` with a ``monitor`` that may be missing: then it warns once and saves nothing.

    The shipped mixture configs keep ``best.ckpt`` by ``val/reverse_kl``, which only the mixture
    datamodules log. With another datamodule (``--data=...``) Lightning's own callback would stop
    the run at the first validation; this one leaves ``last.ckpt`` to the other checkpoint callback.
    Arguments as ``ModelCheckpoint`` (``monitor`` is required).
    """

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:  # noqa: D102
        if self.monitor is not None and self.monitor not in trainer.callback_metrics:
            if not trainer.sanity_checking:
                rank_zero_warn(
                    f"BestCheckpoint: this run logs no {self.monitor!r} (its validation values: "
                    f"{sorted(k for k in trainer.callback_metrics if k.startswith('val/'))}); "
                    "no best checkpoint is kept",
                )
            return
        super().on_validation_end(trainer, pl_module)
