"""Fast batching of in-memory tensors."""

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset


class BatchedTensorDataset(TensorDataset):
    """A ``TensorDataset`` that gathers a whole batch with one indexing op per tensor.

    ``DataLoader`` calls ``__getitems__`` with the sampler's index list, so a batch of ``B`` rows
    costs one gather instead of ``B`` item lookups and a stack.
    """

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, ...]:
        """Rows ``indices`` of every tensor.

        Args:
            indices: ``B`` row indices.

        Returns:
            One ``(B, ...)`` tensor per stored tensor.
        """
        index = torch.as_tensor(indices)  # one conversion, instead of one per tensor from a list
        return tuple(t[index] for t in self.tensors)


def keep_batch(batch: Sequence[Tensor]) -> tuple[Tensor, ...]:
    """Collate function for :class:`BatchedTensorDataset`: the batch is already stacked."""
    return tuple(batch)


def tensor_loader(
    dataset: BatchedTensorDataset, batch_size: int, shuffle: bool, drop_last: bool, num_workers: int
) -> DataLoader:
    """A ``DataLoader`` over in-memory tensors that yields ``(x, y)`` tuples.

    Lightning swaps the sampler for a ``DistributedSampler`` under DDP as usual.
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=num_workers,
        collate_fn=keep_batch,
        persistent_workers=num_workers > 0,
    )
