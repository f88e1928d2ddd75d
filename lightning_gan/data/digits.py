"""The UCI 8×8 handwritten digits (the set scikit-learn ships), carried in this package: no download.

``digits.npz`` beside this file holds the 1797 images as uint8 pixel counts 0..16 and their labels,
exactly ``sklearn.datasets.load_digits()`` (tests/unit/data/test_digits.py compares them). Source:
E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
Repository (1998), CC BY 4.0.
"""

from importlib import resources
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from lightning import LightningDataModule
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchmetrics import Metric

from lightning_gan.data.resumable import training_loader
from lightning_gan.data.tensors import BatchedTensorDataset, keep_batch, tensor_loader


def digits_tensors(image_size: int = 8) -> tuple[Tensor, Tensor]:
    """All 1797 digits as images in ``[-1, 1]`` with their labels.

    Pixels are integers 0..16; ``x = v / 8 - 1``. Larger sizes are bilinear upsamplings.

    Args:
        image_size: 8, 16 or 32.

    Returns:
        ``(1797, 1, image_size, image_size)`` float images and ``(1797,)`` int64 labels 0..9.
    """
    shipped = resources.files("lightning_gan.data").joinpath("digits.npz")
    with shipped.open("rb") as file, np.load(file) as digits:
        pixels, labels = digits["images"], digits["labels"]
    images = torch.as_tensor(pixels, dtype=torch.float32)[:, None] / 8.0 - 1.0
    if image_size != 8:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
        images = images.clamp(-1.0, 1.0)
    return images, torch.as_tensor(labels, dtype=torch.long)


class DigitsDataModule(LightningDataModule):
    """The UCI/scikit-learn handwritten digits: 1797 real 8×8 grey images, 10 classes.

    Batches are ``(x, label)`` with ``x`` of shape ``(B, 1, image_size, image_size)`` in
    ``[-1, 1]``. The train/validation split is a seeded permutation.

    Args:
        image_size: 8 (native), 16 or 32 (bilinear upsampling, for DCGAN nets).
        val_fraction: Share of the images held out for validation, in ``[0, 1)``.
        batch_size: Training batch size (incomplete last batches are dropped).
        val_batch_size: Validation batch size.
        seed: Seed of the split.
        num_workers: DataLoader workers.
        features: Feature extractor of the validation FD/KID (``None``: the shipped digits
            classifier's features, :class:`~lightning_gan.metrics.features.DigitsFeatures`).
        kid_subset_size: Samples per KID subset; at most the validation split's size.
        train_subset: Train on only this many images of the training split (limited-data
            experiments; ``None``: all). FD and KID still compare with the whole training split.

    Raises:
        ValueError: For an unsupported size, a fraction outside ``[0, 1)``, a subset outside
            ``[1, training split]`` or a batch size larger than the training images.
    """

    num_classes = 10
    size = 1797

    def __init__(
        self,
        image_size: Literal[8, 16, 32] = 16,
        val_fraction: float = 0.1,
        batch_size: int = 64,
        val_batch_size: int = 256,
        seed: int = 0,
        num_workers: int = 0,
        features: nn.Module | None = None,
        kid_subset_size: int = 100,
        train_subset: int | None = None,
    ) -> None:
        super().__init__()
        if image_size not in (8, 16, 32):
            raise ValueError(f"image_size must be 8, 16 or 32, got {image_size}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.n_val = round(self.size * val_fraction)
        if train_subset is not None and not 1 <= train_subset <= self.size - self.n_val:
            raise ValueError(
                f"train_subset must be in [1, {self.size - self.n_val}] (the training split) or None, "
                f"got {train_subset}"
            )
        self.n_train = self.size - self.n_val if train_subset is None else train_subset
        if not 1 <= batch_size <= self.n_train or val_batch_size < 1:
            raise ValueError(
                f"batch_size must be in [1, {self.n_train}] (the training images) "
                "and val_batch_size >= 1, "
                f"got batch_size={batch_size}, val_batch_size={val_batch_size}"
            )
        self.image_size, self.val_fraction = image_size, val_fraction
        self.batch_size, self.val_batch_size = batch_size, val_batch_size
        self.seed, self.num_workers = seed, num_workers
        self.sample_shape = (1, image_size, image_size)
        self.features, self.kid_subset_size = features, kid_subset_size

    def setup(self, stage: str) -> None:
        """Load the images and split them (idempotent)."""
        if hasattr(self, "train_set"):
            return
        images, labels = digits_tensors(self.image_size)
        order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed))
        val, train = order[: self.n_val], order[self.n_val :]
        self.reference = images[train]  # what FD and KID compare with
        train = train[: self.n_train]
        self.train_set = BatchedTensorDataset(images[train], labels[train])
        self.val_set = BatchedTensorDataset(images[val], labels[val])

    def train_dataloader(self) -> DataLoader:
        """The training split, shuffled per epoch and resumable mid-epoch (this rank's shard under DDP)."""
        return training_loader(self.train_set, self.batch_size, self.trainer, self.num_workers, keep_batch)

    def val_dataloader(self) -> DataLoader:
        """The held-out split."""
        return tensor_loader(self.val_set, self.val_batch_size, False, False, self.num_workers)

    def test_dataloader(self) -> DataLoader:
        """The held-out split again: ``lightning-gan test`` reports the validation measures as ``test/*``."""
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """The held-out split; ``predict`` generates as many samples as it holds."""
        return self.val_dataloader()

    def val_metrics(self) -> dict[str, Metric]:
        """Metrics the model updates with generated digits during validation (as many as the split holds).

        ``distance``: FD and KID (:class:`~lightning_gan.metrics.FeatureDistance`) against the
        training split; ``classes``: :class:`~lightning_gan.metrics.ClassCoverage` by the shipped
        classifier (logged as ``val/fd``, ``val/kid``, ``val/kid_std``, ``val/classes``,
        ``val/class_kl``, ``val/confidence``, ``val/inception_score``). None without a validation split.

        Raises:
            ValueError: If ``kid_subset_size`` exceeds the validation split.
        """
        # Imported here: the classifier's training code imports this module.
        from lightning_gan.metrics import (
            ClassCoverage,
            DigitsFeatures,
            FeatureDistance,
            load_digits_classifier,
        )

        if self.n_val == 0:
            return {}
        self.setup("fit")
        features = DigitsFeatures() if self.features is None else self.features
        distance = FeatureDistance(
            features, self.reference, n_generated=self.n_val, kid_subset_size=self.kid_subset_size
        )
        if isinstance(features, DigitsFeatures):  # the classifier's body: one extraction for FD, KID, IS
            classes = ClassCoverage(features.network.head, self.num_classes, features=features)
        else:
            classes = ClassCoverage(load_digits_classifier(), self.num_classes)
        return {"distance": distance, "classes": classes}
