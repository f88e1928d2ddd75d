"""lightning_gan: GANs as a PyTorch Lightning plug-in."""

from lightning_gan.conditional import ConditionalGAN
from lightning_gan.module import GAN

__all__ = ["GAN", "ConditionalGAN"]
__version__ = "0.1.0"
