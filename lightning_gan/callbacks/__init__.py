"""Callbacks: sample pictures for any logger, the run folder, config saving, checkpoints, progress, health."""

from lightning_gan.callbacks.best_checkpoint import BestCheckpoint
from lightning_gan.callbacks.iteration_progress import IterationProgressBar
from lightning_gan.callbacks.run_dir import run_dir
from lightning_gan.callbacks.sample_grid import SampleGrid
from lightning_gan.callbacks.save_config import SaveConfigToRun
from lightning_gan.callbacks.sigterm import CheckpointOnSigterm
from lightning_gan.callbacks.watchdog import HealthWatchdog

__all__ = [
    "BestCheckpoint",
    "CheckpointOnSigterm",
    "HealthWatchdog",
    "IterationProgressBar",
    "SampleGrid",
    "SaveConfigToRun",
    "run_dir",
]
