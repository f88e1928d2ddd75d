"""LightningDataModules of real samples; each exposes ``sample_shape`` and yields ``(x, label)`` batches."""

from lightning_gan.data.digits import DigitsDataModule
from lightning_gan.data.folder import ImageFolderDataModule
from lightning_gan.data.mixture import GaussianMixtureDataModule

__all__ = ["DigitsDataModule", "GaussianMixtureDataModule", "ImageFolderDataModule"]
