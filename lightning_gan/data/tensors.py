"""Fast batching of in-memory tensors."""

import os
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset


class BatchedTensorDataset(TensorDataset):
    """A ``TensorDataset`` that gathers a whole batch with one indexing op per tensor.

    ``DataLoader`` calls ``__getitems__`` with the sampler's index list, so a batch of ``B`` rows
    costs one gather instead of ``B`` item lookups and a stack.

    Args:
        *tensors: Tensors with the same first dimension (samples, labels, ...).

    Raises:
        ValueError: If a floating-point tensor holds NaN or inf, naming the first bad rows.
    """

    def __init__(self, *tensors: Tensor) -> None:
        super().__init__(*tensors)
        for position, tensor in enumerate(tensors):
            if tensor.is_floating_point() and tensor.numel():
                bad_rows = (
                    (~torch.isfinite(tensor.reshape(tensor.shape[0], -1))).any(dim=1).nonzero().flatten()
                )
                if bad_rows.numel():
                    raise ValueError(
                        f"the data holds non-finite values (NaN/inf): tensor {position} has "
                        f"{bad_rows.numel()} bad rows of {tensor.shape[0]}, the first "
                        f"{bad_rows[:5].tolist()}; a GAN trained on them would only produce NaN"
                    )

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

    Lightning swaps the sampler for a ``DistributedSampler`` under DDP as usual. The loader's own
    generator, seeded with the run's seed (``PL_GLOBAL_SEED``), seeds shuffling and workers, so
    iterating it never draws from the global random stream. Training loaders that must resume
    mid-epoch use :func:`~lightning_gan.data.resumable.training_loader` instead.
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=num_workers,
        collate_fn=keep_batch,
        persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(int(os.environ.get("PL_GLOBAL_SEED", 0))),
    )
