"""How far a resumed W&B run's history already got, so a resumed fit never logs an iteration twice."""

import json
import subprocess
import sys
from pathlib import Path

from lightning import Trainer
from lightning.pytorch.loggers import WandbLogger

from lightning_gan.wandb_axis import ITERATION_KEY

#: The key holding the GAN iteration of each row the GAN logs (see :mod:`lightning_gan.wandb_axis`).
STEP_KEY = ITERATION_KEY


def last_logged_step(logger: WandbLogger) -> int:
    """The largest ``iteration`` the W&B run behind ``logger`` already holds (``-1``: none).

    A run killed at iteration ``K`` resumes from its last checkpoint at ``C < K`` under the same run
    id; W&B already holds rows up to ``K`` (minus whatever it had not written when killed). Online,
    W&B gives a resumed run its summary back, whose ``iteration`` is the last row's. An
    offline run writes each session to ``<dir>/wandb/offline-run-<time>-<id>/``, so those folders'
    transaction logs are read (``wandb leet inspect --json``; a W&B without that command reads as
    ``-1``, so iterations after the checkpoint are logged again rather than lost).

    Args:
        logger: The resumed run's logger.

    Returns:
        The last iteration W&B holds, or ``-1``.
    """
    run = logger.experiment
    summary_step = run.summary.get(STEP_KEY)
    if summary_step is not None:
        return int(summary_step)
    if not run.offline:
        return -1
    wandb_dir = Path(run.dir).parents[1]  # <dir>/wandb/offline-run-<time>-<id>/files
    steps = [-1]
    for segment in sorted(wandb_dir.glob(f"offline-run-*-{run.id}")):
        records = subprocess.run(
            [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(segment)],
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
        for line in records.splitlines():
            if not line.startswith("{"):  # anything but a record (a warning, say)
                continue
            record = json.loads(line)
            if record.get("type") == "history" and STEP_KEY in record["history"]["item"]:
                steps.append(int(record["history"]["item"][STEP_KEY]))
    return max(steps)


def logged_before_resume(trainer: Trainer) -> int:
    """The last iteration any W&B logger of a resumed fit already holds (``-1``: a new fit, or none).

    Read on global rank 0 only (the rank that logs); other ranks get ``-1``.
    """
    if trainer.ckpt_path is None or not trainer.is_global_zero:
        return -1
    return max((last_logged_step(lg) for lg in trainer.loggers if isinstance(lg, WandbLogger)), default=-1)
