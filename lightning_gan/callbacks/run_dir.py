"""Where a run's files (checkpoints, samples, config) live."""

from pathlib import Path

from lightning import Trainer


def run_dir(trainer: Trainer) -> Path:
    """The run's own folder, the parent of Lightning's default ``checkpoints/`` folder.

    ``<save_dir>/<name>/<version>`` of the first logger (the rule ``ModelCheckpoint`` uses, so
    samples and the config sit beside the checkpoints; a W&B run's version is its run id), or
    ``default_root_dir`` without a logger.

    Args:
        trainer: The running trainer.

    Returns:
        The folder (not created here).
    """
    if not trainer.loggers:
        return Path(trainer.default_root_dir)
    logger = trainer.loggers[0]
    save_dir = logger.save_dir if logger.save_dir is not None else trainer.default_root_dir
    version = logger.version if isinstance(logger.version, str) else f"version_{logger.version}"
    return Path(save_dir) / str(logger.name) / version
