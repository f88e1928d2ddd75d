"""Callbacks: sample pictures for any logger, the run folder, config saving."""

from lightning_gan.callbacks.run_dir import run_dir
from lightning_gan.callbacks.sample_grid import SampleGrid
from lightning_gan.callbacks.save_config import SaveConfigToRun

__all__ = ["SampleGrid", "SaveConfigToRun", "run_dir"]
