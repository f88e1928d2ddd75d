"""lightning_gan: GANs as a PyTorch Lightning plug-in."""

from lightning_gan.module import GAN

__all__ = ["GAN"]
__version__ = "0.1.0"
