"""Per-process state a resumed fit needs to continue bit for bit: random streams, a D update in progress."""

import os
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from lightning_gan.rng import rng_states, set_rng_states


def world_size() -> int:
    """Processes in the default process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class RunState:
    """Random streams of every rank, the batches of an accumulated D update, the evaluation stream.

    - Training: ``seed_everything`` seeds every rank alike, which would make each rank generate the
      same fakes; :meth:`start_fit` reseeds rank ``r`` with ``initial_seed + r``, or on a resumed
      fit gives every rank back the torch/CUDA/NumPy/Python streams it had when the checkpoint was
      written (and its D gradients and batches, when that was mid-way through an accumulated D
      update).
    - Evaluation draws from its own stream, seeded with ``evaluation_seed + rank`` at every
      validation (:meth:`enter_evaluation`), and training's streams are put back afterwards
      (:meth:`leave_evaluation`): how often one validates never changes the training run.

    Attributes:
        batches: Batches of the D update in progress (with ``N > 1``, the G update reuses them).
        evaluation_seed: Seed of the evaluation stream (the run's global seed, kept in checkpoints).
        saved: Every rank's state from a loaded checkpoint, until :meth:`start_fit` uses it.
    """

    def __init__(self) -> None:
        self.batches: list[Any] = []
        self.evaluation_seed: int | None = None
        self.saved: list[dict[str, Any]] | None = None
        self.outer: dict[str, Any] | None = None

    def enter_evaluation(self, rank: int) -> None:
        """Keep training's streams aside and seed the evaluation stream with ``evaluation_seed + rank``."""
        if self.evaluation_seed is None:
            self.evaluation_seed = int(os.environ.get("PL_GLOBAL_SEED", 0))
        self.outer = rng_states()
        torch.manual_seed(self.evaluation_seed + rank)

    def leave_evaluation(self) -> None:
        """Put training's streams back (no-op outside :meth:`enter_evaluation`)."""
        if self.outer is not None:
            set_rng_states(self.outer)
            self.outer = None

    def rank_states(self, discriminator: nn.Module, mid_update: bool) -> list[dict[str, Any]]:
        """Every rank's streams (and mid-update D gradients and batches), gathered on every rank.

        Args:
            discriminator: D, whose gradients hold a D update in progress.
            mid_update: Whether a D update is part-way through its ``N`` batches.

        Returns:
            One dict per rank, ``[r]`` being rank ``r``'s.
        """
        own: dict[str, Any] = {"rng": rng_states() if self.outer is None else self.outer}
        if mid_update:
            own["d_grads"] = [p.grad for p in discriminator.parameters()]
            own["micro_batches"] = list(self.batches)
        if world_size() == 1:
            return [own]
        gathered: list[Any] = [None] * world_size()
        dist.all_gather_object(gathered, own)
        return gathered

    def start_fit(
        self, rank: int, world: int, resumed: bool, discriminator: nn.Module, to_device: Callable[[Any], Any]
    ) -> None:
        """At the start of a fit, restore this rank's saved state or give each rank its own stream.

        Args:
            rank: This process's global rank.
            world: Number of processes.
            resumed: Whether the fit resumes a checkpoint (rather than starting afresh, or only
                loading weights).
            discriminator: D, to receive saved gradients.
            to_device: Moves a saved batch to the module's device.
        """
        saved, self.saved = self.saved, None
        if resumed and saved is not None and len(saved) == world:
            state = saved[rank]
            set_rng_states(state["rng"])
            if "d_grads" in state:
                for parameter, grad in zip(discriminator.parameters(), state["d_grads"], strict=True):
                    parameter.grad = None if grad is None else grad.to(parameter.device)
                self.batches = [to_device(batch) for batch in state["micro_batches"]]
            return
        if resumed and saved is not None:
            warnings.warn(
                f"the checkpoint holds the random streams of {len(saved)} processes but this run has "
                f"{world}; the streams are reseeded, so training continues but not bit for bit",
                stacklevel=2,
            )
        if world > 1:
            torch.manual_seed(torch.initial_seed() + rank)

    def state_dict(self) -> dict[str, Any]:
        """The evaluation seed (the per-rank part comes from :meth:`rank_states`)."""
        return {"evaluation_seed": self.evaluation_seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the evaluation seed (the per-rank states go to :attr:`saved`, for :meth:`start_fit`)."""
        self.evaluation_seed = state["evaluation_seed"]
