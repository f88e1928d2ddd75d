"""Training values summed on the device over a window of iterations, logged as means once per window."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from lightning import Trainer
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor
from torch.optim import Optimizer

from lightning_gan.training.guard import UpdateGuard
from lightning_gan.wandb_axis import log_at_iteration


class LogWindow:
    """On-device sums of per-step values, so logging costs one host sync per window, not per step.

    Every D and G step adds its values (losses, mean D probabilities, penalties); at the end of a
    window :meth:`means` gives ``Σ values / count`` per key and starts a new window. A key's count
    is its own: with ``k`` D steps per G step, D's keys are averaged over ``k×`` more steps.

    Example:
        >>> import torch
        >>> window = LogWindow()
        >>> window.add({"d_loss": torch.tensor(1.0)}); window.add({"d_loss": torch.tensor(3.0)})
        >>> window.means()
        {'d_loss': tensor(2.)}
    """

    def __init__(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: Mapping[str, Tensor]) -> None:
        """Add one step's scalars (detached; no host sync)."""
        for key, value in values.items():
            value = value.detach()
            self.sums[key] = self.sums[key] + value if key in self.sums else value
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, Tensor]:
        """Each key's mean over the window; the window is emptied."""
        means = {key: total / self.counts[key] for key, total in self.sums.items()}
        self.sums, self.counts = {}, {}
        return means

    def state_dict(self) -> dict[str, Any]:
        """The window in progress (a resumed run logs the same means as an uninterrupted one)."""
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])


def send_to_loggers(
    trainer: Trainer,
    metrics: Mapping[str, Tensor],
    step: int,
    prog_bar: Iterable[str] = (),
    logged: bool = True,
) -> None:
    """Send scalars to every logger at ``step``, and to the trainer's callback and progress-bar metrics.

    ``LightningModule.log`` would stamp values with Lightning's batch counter, so loggers are called
    directly; the values also go into ``trainer.callback_metrics`` (what checkpoint and early-stopping
    monitors read) and, for ``prog_bar`` names, the progress bar: the two dicts ``self.log`` fills.
    W&B rows carry ``step`` as ``iteration``, their x-axis (:func:`.log_at_iteration`); other loggers
    get it as their step.

    Args:
        trainer: The running trainer.
        metrics: Name → scalar tensor (already reduced across ranks where needed).
        step: The x-axis value (the GAN's iteration).
        prog_bar: Names also shown in the progress bar.
        logged: Whether to call the loggers (``False`` where they already hold ``step``, after a resume).
    """
    values = {key: float(value) for key, value in metrics.items()}
    if logged:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                log_at_iteration(logger, trainer, values, step)
            else:
                logger.log_metrics(values, step=step)
    trainer.callback_metrics.update({key: torch.tensor(value) for key, value in values.items()})
    trainer.progress_bar_metrics.update({key: values[key] for key in prog_bar if key in values})


def training_metrics(
    window: LogWindow, guard: UpdateGuard, optimizers: Sequence[Optimizer]
) -> dict[str, Tensor]:
    """The ``train/*`` values of a logging window.

    Args:
        window: The window's step values (emptied): ``train/d_loss``, ``train/d_real``, ...
        guard: Gradient norms (taken) and the count of skipped steps, ``train/skipped_steps``.
        optimizers: G's then D's: their learning rates, ``train/lr_g`` and ``train/lr_d``.

    Returns:
        Name → scalar tensor.
    """
    metrics = {f"train/{key}": value for key, value in window.means().items()}
    metrics |= {f"train/{key}": value for key, value in guard.take_norms().items()}
    metrics["train/skipped_steps"] = torch.tensor(float(guard.skipped_steps))
    for name, optimizer in zip(("lr_g", "lr_d"), optimizers, strict=True):
        metrics[f"train/{name}"] = torch.tensor(float(optimizer.param_groups[0]["lr"]))
    return metrics
