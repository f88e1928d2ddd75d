"""Save the resolved CLI config beside the run and into every logger (the W&B run config)."""

from lightning import LightningModule, Trainer
from lightning.pytorch.cli import SaveConfigCallback

from lightning_gan.callbacks.run_dir import run_dir


class SaveConfigToRun(SaveConfigCallback):
    """LightningCLI's config saver, writing to the run's own folder and every logger.

    Lightning's default writes ``config.yaml`` to ``trainer.log_dir``, which for a W&B logger is
    the shared ``save_dir`` (so a second run fails on the existing file). This writes
    ``<run dir>/config.yaml`` (beside ``checkpoints/`` and ``samples/``) and sends the full resolved
    config, as nested values, to each logger's ``log_hyperparams`` (the W&B run config).
    """

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
