"""Save the resolved CLI config beside the run and into every logger (the W&B run config)."""

from lightning import LightningModule, Trainer
from lightning.pytorch.cli import SaveConfigCallback

from lightning_gan.callbacks.run_dir import run_dir


class SaveConfigToRun(SaveConfigCallback):
    """LightningCLI's config saver, writing to the run's own folder and every logger, once training starts.

    Lightning's default writes ``config.yaml`` to ``trainer.log_dir``, which for a W&B logger is
    the shared ``save_dir`` (so a second run fails on the existing file). This writes
    ``<run dir>/config.yaml`` (beside ``checkpoints/`` and ``samples/``) and sends the full resolved
    config, as nested values, to each logger's ``log_hyperparams`` (the W&B run config). It writes
    at the start of training, after a resumed checkpoint has loaded: a run that fails before (a
    checkpoint of another architecture, say) leaves the folder of the run it named untouched.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:  # noqa: D102
        return  # see on_train_start

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:  # noqa: D102
        if not self.already_saved and trainer.is_global_zero:
            self.save_config(trainer, pl_module, "fit")
        self.already_saved = True

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:  # noqa: D102
        folder = run_dir(trainer)
        folder.mkdir(parents=True, exist_ok=True)
        self.parser.save(
            self.config, folder / self.config_filename, skip_none=False, overwrite=True, multifile=False
        )
        config = self.config.clone().as_dict()
        config.pop("config", None)
        for logger in trainer.loggers:
            logger.log_hyperparams(config)
