"""Learning-rate schedules of a GAN: built per network, stepped once per iteration by the networks updated."""

from collections.abc import Callable, Mapping, Sequence

from lightning import LightningModule
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from lightning_gan.regularizers import Network

LRSchedulerCallable = Callable[[Optimizer], LRScheduler]


def make_schedulers(
    makers: Sequence[LRSchedulerCallable | None], optimizers: Sequence[Optimizer]
) -> list[LRScheduler]:
    """One schedule per optimizer that has a maker (G's first, then D's).

    Raises:
        ValueError: For ``ReduceLROnPlateau``, which needs a monitored value per step.
    """
    schedulers = [make(opt) for make, opt in zip(makers, optimizers, strict=True) if make is not None]
    if any(isinstance(scheduler, ReduceLROnPlateau) for scheduler in schedulers):
        raise ValueError(
            "GAN steps learning-rate schedules once per iteration without a metric; ReduceLROnPlateau is not "
            "supported; use a step-based one (LinearLR, CosineAnnealingLR, LinearDecay)"
        )
    return schedulers


def step_schedulers(module: LightningModule, applied: Mapping[Network, bool]) -> None:
    """Step each network's schedule if that network was updated (G's update, or any of D's k, applied).

    A schedule belongs to G when it wraps the module's first optimizer, else to D.

    Args:
        module: The GAN, attached to a trainer.
        applied: Whether an update of each network was applied since the last call.
    """
    schedulers = module.lr_schedulers() or []
    g_optimizer = module.trainer.optimizers[0]
    for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
        if applied["generator" if scheduler.optimizer is g_optimizer else "discriminator"]:
            scheduler.step()
