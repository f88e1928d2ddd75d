"""The GAN's own x-axis in W&B: every value it logs is charted against ``iteration`` (G updates).

Lightning's :class:`~lightning.pytorch.loggers.WandbLogger` charts every key against
``trainer/global_step``, which counts *optimizer* steps (``k + 1`` per iteration), and so does anything
else a run logs through Lightning (``LearningRateMonitor``, ``self.log`` in a subclass). The GAN's
rows carry ``iteration`` beside Lightning's ``trainer/global_step``, and each of its keys is declared
once with ``define_metric(key, step_metric="iteration")`` (an exact name, which takes precedence over
Lightning's ``"*"`` glob). Charts of the GAN's scalars and images then line up across ``k`` and across
a resume, and Lightning's own keys keep their axis.
"""

import weakref
from collections.abc import Mapping
from typing import Any

from lightning import Trainer
from lightning.pytorch.loggers import WandbLogger

#: Keys already declared to each logger's run (a logger object is one W&B run).
DECLARED: "weakref.WeakKeyDictionary[WandbLogger, set[str]]" = weakref.WeakKeyDictionary()

#: The W&B key holding the GAN iteration of a row; GAN keys use it as their x-axis.
ITERATION_KEY = "iteration"


def log_at_iteration(
    logger: WandbLogger, trainer: Trainer, values: Mapping[str, Any], iteration: int
) -> None:
    """Log ``values`` (scalars or media) as one W&B row charted at ``iteration``.

    Args:
        logger: The run's W&B logger.
        trainer: The running trainer (its ``global_step`` fills Lightning's ``trainer/global_step``).
        values: Key → value (a float, a ``wandb.Image`` or a list of them).
        iteration: The GAN iteration the values belong to.
    """
    run = logger.experiment
    if logger not in DECLARED:
        run.define_metric(ITERATION_KEY)
        DECLARED[logger] = set()
    for key in sorted(values.keys() - DECLARED[logger]):
        run.define_metric(key, step_metric=ITERATION_KEY)
        DECLARED[logger].add(key)
    logger.log_metrics({**values, ITERATION_KEY: iteration}, step=trainer.global_step)
