"""A training loader that resumes in the middle of an epoch, at the next batch the run had not used."""

import os
from collections.abc import Callable, Iterator
from typing import Any

import torch
from lightning import Trainer
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """This rank's indices for one epoch, from ``seed + epoch`` alone, optionally starting part-way.

    The order is ``DistributedSampler``'s (a permutation drawn by its own generator, never the
    global random stream; rank ``r`` of ``W`` takes every ``W``-th index), so Lightning keeps this
    sampler under DDP instead of swapping in its own, and calls :meth:`set_epoch` every epoch.

    Args:
        dataset: The dataset to index.
        num_replicas: Processes ``W`` sharing the data.
        rank: This process's rank.
        shuffle: Shuffle every epoch (else keep the dataset order).
        seed: Seed of the permutations; default: ``PL_GLOBAL_SEED`` as ``seed_everything`` sets it
            (the value Lightning's own ``DistributedSampler`` would take).
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> None:
        seed = int(os.environ.get("PL_GLOBAL_SEED", 0)) if seed is None else seed
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        #: Skip the first :attr:`start` indices of epoch :attr:`start_epoch` (set when resuming), once.
        self.start, self.start_epoch = 0, 0
        #: The epoch last iterated, the indices skipped at its start and the batches training used of it.
        self.iterated_epoch: int | None = None
        self.skipped = self.used_batches = 0

    def __iter__(self) -> Iterator[int]:
        """This rank's indices of epoch :attr:`epoch`; the resumed epoch's from :attr:`start` on.

        The skip applies only if the epoch being iterated is :attr:`start_epoch`: a checkpoint
        written after an epoch's last batch resumes in the next epoch, from its start. It is read when
        the first index is drawn, after Lightning has set the epoch, and then cleared.
        """
        indices = list(super().__iter__())
        self.iterated_epoch, self.used_batches = self.epoch, 0
        self.skipped = self.start if self.epoch == self.start_epoch else 0
        self.start = 0
        return iter(indices[self.skipped :])


class ResumableLoader(DataLoader):
    """A ``DataLoader`` over a :class:`ResumableSampler` with Lightning's ``state_dict`` protocol.

    Lightning saves a training loader's ``state_dict()`` in every checkpoint and gives it back
    through ``load_state_dict`` before the first batch of a resumed fit. The state is the seed, the
    epoch and the number of batches the model has consumed in it, which the training loop reports through
    :meth:`consumed_batch` (batches Lightning only prefetched are not counted). After loading, the
    next iteration starts at the first unconsumed batch of that epoch's permutation.

    Args:
        dataset: The dataset.
        batch_size: Samples per batch on this rank.
        sampler: The resumable sampler.
        drop_last: Drop the last incomplete batch.
        num_workers: Worker processes.
        collate_fn: How a list of samples becomes a batch (``None``: PyTorch's default).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        sampler: ResumableSampler,
        drop_last: bool,
        num_workers: int = 0,
        collate_fn: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=num_workers,
            collate_fn=collate_fn,
            persistent_workers=num_workers > 0,
            # The loader's own generator seeds workers, so iterating never draws from the global stream.
            generator=torch.Generator().manual_seed(sampler.seed),
        )

    @property
    def batches_consumed(self) -> int:
        """Batches of the current epoch used by training, those skipped on resuming included."""
        sampler = self.sampler
        if sampler.iterated_epoch != sampler.epoch:  # the epoch was set, its first batch not drawn yet
            return 0
        return sampler.skipped // self.batch_size + sampler.used_batches

    def consumed_batch(self) -> None:
        """Count one batch as used by training (called by the training loop for every batch)."""
        self.sampler.used_batches += 1

    def state_dict(self) -> dict[str, int]:
        """The permutations' seed, the epoch and the batches of it the model consumed."""
        return {
            "seed": self.sampler.seed,
            "epoch": self.sampler.epoch,
            "batches_consumed": self.batches_consumed,
        }

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Resume at batch ``batches_consumed`` of epoch ``epoch`` (of the saved seed's order).

        If Lightning goes on with the next epoch instead (the checkpoint was written after the saved
        epoch's last batch), that epoch starts at batch 0.
        """
        self.sampler.seed = state_dict["seed"]
        self.sampler.set_epoch(state_dict["epoch"])
        self.sampler.start = state_dict["batches_consumed"] * self.batch_size
        self.sampler.start_epoch = state_dict["epoch"]


def training_loader(
    dataset: Dataset,
    batch_size: int,
    trainer: Trainer | None,
    num_workers: int = 0,
    collate_fn: Callable[[Any], Any] | None = None,
    shuffle: bool = True,
) -> ResumableLoader:
    """The resumable training loader of this process: its shard, incomplete batches dropped.

    Args:
        dataset: The training set.
        batch_size: Samples per batch on this rank.
        trainer: The trainer the datamodule is attached to (gives world size and rank), or ``None``
            for one process.
        num_workers: Worker processes.
        collate_fn: How a list of samples becomes a batch.
        shuffle: Shuffle every epoch.
    """
    world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
    sampler = ResumableSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle)
    return ResumableLoader(dataset, batch_size, sampler, True, num_workers, collate_fn)
