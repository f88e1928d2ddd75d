"""A progress bar that counts GAN iterations (G updates) toward ``max_iterations``, across epochs."""

from typing import Any

from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar


class IterationProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar, counting :attr:`GAN.iteration <lightning_gan.GAN.iteration>` instead of batches.

    One bar spans the whole fit, ``iteration i/max_iterations`` with iterations per second and the
    time left; it is not reset at epoch boundaries, and a resumed fit starts it at the restored
    iteration (the rate counts this process's iterations only). The postfix shows ``d_loss``,
    ``g_loss``, ``D(x)`` and ``D(G(z))`` (the mean sigmoid scores of reals and fakes) of the last
    logging window. Validation bars are Lightning's own. ``lightning-gan`` adds it unless another
    progress bar is configured or ``--trainer.enable_progress_bar=false``.

    Args:
        refresh_rate: Redraw every this many iterations (0 disables the bar).
        process_position: Line offset of the bars (several trainers in one terminal).
    """

    #: Progress-bar metric → the label shown.
    LABELS = {
        "train/d_loss": "d_loss",
        "train/g_loss": "g_loss",
        "train/d_real": "D(x)",
        "train/d_fake": "D(G(z))",
    }

    def __init__(self, refresh_rate: int = 50, process_position: int = 0) -> None:
        super().__init__(refresh_rate=refresh_rate, process_position=process_position)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Open the bar at the current iteration, with ``max_iterations`` as its total."""
        super().on_train_start(trainer, pl_module)
        bar = self.train_progress_bar
        bar.reset(total=pl_module.clock.max_iterations)
        bar.initial = bar.n = pl_module.iteration  # rate and time left count this process's iterations
        bar.set_description("iteration")

    def on_train_epoch_start(self, trainer: Trainer, *_: Any) -> None:  # noqa: ANN401
        """Keep the bar: it counts iterations of the whole fit, not batches of an epoch."""

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,  # noqa: ANN401
        batch: Any,  # noqa: ANN401
        batch_idx: int,
    ) -> None:
        """Move the bar to the current iteration every ``refresh_rate`` iterations and at the last."""
        bar, iteration = self.train_progress_bar, pl_module.iteration
        if bar.disable or iteration == bar.n:
            return
        if iteration % self.refresh_rate == 0 or (bar.total is not None and iteration >= bar.total):
            bar.n = iteration
            bar.set_postfix(self.get_metrics(trainer, pl_module))  # redraws the bar

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Refresh the postfix; the bar stays open for the next epoch."""
        if not self.train_progress_bar.disable:
            self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))

    def get_metrics(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, int | str | float]:
        """Lightning's progress-bar metrics with the GAN's names shortened (``train/d_real`` → ``D(x)``)."""
        metrics = super().get_metrics(trainer, pl_module)
        return {self.LABELS.get(key, key): value for key, value in metrics.items() if key != "v_num"}
