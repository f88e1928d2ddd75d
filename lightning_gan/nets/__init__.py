"""Reference generators and discriminators."""

from lightning_gan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from lightning_gan.nets.mlp import MLPDiscriminator, MLPGenerator
from lightning_gan.nets.packing import PackedDiscriminator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "PackedDiscriminator"]
