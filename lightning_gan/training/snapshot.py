"""A copy of a fit's trainable state kept in memory, to roll back to with a lowered learning rate."""

from collections.abc import Mapping
from typing import Any

from lightning import LightningModule, Trainer
from torch import Tensor


def host_copy(value: Any) -> Any:  # noqa: ANN401
    """``value`` with every tensor copied to the CPU (dicts, lists and tuples walked; others kept)."""
    if isinstance(value, Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, Mapping):
        return {key: host_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(host_copy(item) for item in value)
    return value


class Snapshot:
    """The module's weights and buffers (G, D, G_ema), every optimizer's and schedule's state.

    Held on the CPU, so a GPU fit pays host memory, not device memory, for it. Iteration counters,
    random streams and logs are not part of it: after :meth:`restore` the fit goes on counting
    forward, and the iterations since the snapshot count toward ``max_iterations``.
    """

    def __init__(self) -> None:
        self.iteration: int | None = None
        self.rollbacks = 0
        self.state: dict[str, Any] = {}

    def take(self, trainer: Trainer, module: LightningModule, iteration: int, rollbacks: int = 0) -> None:
        """Copy the state now, at ``iteration``, after ``rollbacks`` rollbacks of the fit."""
        self.state = host_copy(
            {
                "module": module.state_dict(),
                "optimizers": [optimizer.state_dict() for optimizer in trainer.optimizers],
                "schedulers": [config.scheduler.state_dict() for config in trainer.lr_scheduler_configs],
            }
        )
        self.iteration, self.rollbacks = iteration, rollbacks

    def restore(self, trainer: Trainer, module: LightningModule, lr_factor: float) -> None:
        """Load the copied state back, then multiply every learning rate by ``lr_factor``.

        The factor reaches each optimizer's groups (``lr`` and a schedule's ``initial_lr``) and each
        schedule's ``base_lrs``, so a schedule goes on from the lowered rate: ``lr ← lr_factor · lr``.

        Raises:
            RuntimeError: If no snapshot was taken.
        """
        if self.iteration is None:
            raise RuntimeError("Snapshot.restore: no snapshot was taken")
        module.load_state_dict(self.state["module"])
        for optimizer, state in zip(trainer.optimizers, self.state["optimizers"], strict=True):
            optimizer.load_state_dict(state)
            for group in optimizer.param_groups:
                for key in ("lr", "initial_lr"):
                    if key in group:
                        group[key] = group[key] * lr_factor
        for config, state in zip(trainer.lr_scheduler_configs, self.state["schedulers"], strict=True):
            config.scheduler.load_state_dict(state)
            config.scheduler.base_lrs = [lr * lr_factor for lr in config.scheduler.base_lrs]
