"""DCGAN generator and discriminator (Radford et al., 2016) for square images of side 8 to 128."""

import torch
from torch import Tensor, nn

from lightning_gan.nets.conditioning import (
    apply_spectral_norm,
    check_labels,
    features_and_head,
    projection_logits,
)

SUPPORTED_SIZES = (8, 16, 32, 64, 128)


def _check(image_size: int, channels: int, base_channels: int) -> int:
    """Validate the geometry and return the number of stride-2 stages between 4×4 and the image."""
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(f"DCGAN image_size must be a power of two in {SUPPORTED_SIZES}, got {image_size}")
    if channels < 1 or base_channels < 1:
        raise ValueError(f"DCGAN channels and base_channels must be >= 1, got {channels} and {base_channels}")
    return image_size.bit_length() - 3  # log2(image_size / 4)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), biases 0.

    Args:
        module: A submodule, as passed by ``nn.Module.apply``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)


class DCGANGenerator(nn.Module):
    """Latent ``(N, latent_dim)`` → image ``(N, channels, image_size, image_size)`` in ``[-1, 1]``.

    A 4×4 projection, then stride-2 transposed convolutions that double the side and halve the
    width (``base_channels * 2**i`` channels at stage ``i`` from the top), BatchNorm + ReLU
    between, tanh at the end. Conditional when ``num_classes > 0``: a label embedding of size
    ``latent_dim`` is concatenated to z.

    Args:
        latent_dim: Size of z.
        image_size: Output side, one of 8, 16, 32, 64, 128.
        channels: Output channels (1 grey, 3 RGB, any other count).
        base_channels: Width of the last hidden stage.
        num_classes: Number of classes to condition on (0: unconditional).

    Raises:
        ValueError: For an unsupported ``image_size`` or non-positive widths.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 64,
        channels: int = 3,
        base_channels: int = 64,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        stages = _check(image_size, channels, base_channels)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        width = base_channels * 2 ** (stages - 1)
        in_channels = 2 * latent_dim if num_classes else latent_dim
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_channels, width, 4, 1, 0, bias=False),  # 1×1 → 4×4
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):  # side ×2, width ÷2
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Generate images.

        Args:
            z: ``(N, latent_dim)`` noise.
            labels: ``(N,)`` class labels, required when conditional.

        Returns:
            ``(N, channels, image_size, image_size)`` images in ``[-1, 1]``.
        """
        check_labels(self, self.num_classes, labels)
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # [z, e(y)]
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Image ``(N, channels, image_size, image_size)`` → logits ``(N,)``.

    Stride-2 convolutions halve the side and double the width down to 4×4 (LeakyReLU 0.2,
    BatchNorm on all but the first), then a 4×4 convolution to one logit. Conditional when
    ``num_classes > 0``: a projection discriminator, ``D(x, y) = ψ(φ(x)) + ⟨e(y), φ(x)⟩`` with
    ``φ(x)`` the flattened 4×4 feature map and ``ψ`` the last convolution. Leave BatchNorm out
    (``batch_norm=False``) for gradient penalties, which assume each sample's score depends on
    that sample alone (WGAN-GP), and for SN-DCGAN (``spectral_norm=True``, Miyato et al. 2018).

    Args:
        image_size: Input side, one of 8, 16, 32, 64, 128.
        channels: Input channels (``pack × C`` inside a PackedDiscriminator).
        base_channels: Width of the first stage.
        num_classes: Number of classes to condition on (0: unconditional).
        batch_norm: BatchNorm after every convolution but the first and the last.
        spectral_norm: Spectrally normalise every weight.

    Raises:
        ValueError: For an unsupported ``image_size`` or non-positive widths.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        base_channels: int = 64,
        num_classes: int = 0,
        batch_norm: bool = True,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        stages = _check(image_size, channels, base_channels)
        self.num_classes = num_classes
        width = base_channels
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(stages - 1):  # side ÷2, width ×2
            norm: list[nn.Module] = [nn.BatchNorm2d(width * 2)] if batch_norm else []
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=not batch_norm),
                *norm,
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0))  # ψ: 4×4 → 1×1
        self.net = nn.Sequential(*layers)
        self.embed = nn.Embedding(num_classes, width * 16) if num_classes else None
        self.apply(dcgan_init)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Score images.

        Args:
            x: ``(N, channels, image_size, image_size)`` images.
            labels: ``(N,)`` class labels, required when conditional.

        Returns:
            ``(N,)`` logits.
        """
        check_labels(self, self.num_classes, labels)
        features, logits = features_and_head(self.net, x)  # φ(x): (N, width, 4, 4)
        return projection_logits(logits.flatten(), self.embed, features.flatten(1), labels)
