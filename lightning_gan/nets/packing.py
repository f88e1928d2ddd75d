"""PacGAN packing (Lin et al., 2018): D scores m samples at a time, which penalises mode collapse."""

import torch
from torch import Tensor, nn


class PackedDiscriminator(nn.Module):
    """Wraps a discriminator so that it scores groups of ``pack`` samples concatenated as one input.

    ``(N, F)`` samples become ``(N/m, m·F)`` rows; ``(N, C, H, W)`` images become ``(N/m, m·C, H, W)``
    (stacked along channels). The wrapped D must accept that input (``in_features = m × features``
    for :class:`~lightning_gan.nets.MLPDiscriminator`, ``channels = m × C`` for
    :class:`~lightning_gan.nets.DCGANDiscriminator`) and returns one logit per group. Real groups
    hold only real samples and fake groups only fakes, so D sees the joint distribution of m
    samples and a collapsed G (m near-identical fakes) is easy to tell apart. ``pack = 1`` is
    plain D.

    Args:
        discriminator: The D that scores one packed group.
        pack: m, samples per group (>= 1); every batch size D sees in training must be a multiple of
            it. In eval mode (validation, test) a batch that is not is completed by wrapping around,
            so held-out splits of any size, shared among any number of ranks, can be scored.

    Raises:
        ValueError: If ``pack < 1``.
    """

    def __init__(self, discriminator: nn.Module, pack: int = 2) -> None:
        super().__init__()
        if pack < 1:
            raise ValueError(f"PackedDiscriminator: pack must be >= 1, got {pack}")
        self.discriminator, self.pack = discriminator, pack

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Score packed groups.

        Args:
            x: ``(N, F)`` or ``(N, C, H, W)`` samples, ``N`` a multiple of ``pack`` in training.
            labels: Must be ``None``: a pack mixes samples, so it has no single class label.

        Returns:
            ``(ceil(N / pack),)`` logits; in eval mode the last group of a batch that ``pack`` does
            not divide is completed with the batch's first samples (sample ``i`` of the padded batch
            is ``x[i mod N]``).

        Raises:
            ValueError: If ``N`` is not a multiple of ``pack`` in training mode, or labels are given.
        """
        if labels is not None:
            raise ValueError("PackedDiscriminator does not take class labels (a pack has no single class)")
        n = x.shape[0]
        if n % self.pack and self.training:
            raise ValueError(
                f"PackedDiscriminator(pack={self.pack}) got a batch of {n}, not a multiple of {self.pack}"
            )
        if n % self.pack:
            n = n + self.pack - n % self.pack
            x = x[torch.arange(n, device=x.device) % x.shape[0]]  # wrap around to fill the last group
        packed = x.reshape(n // self.pack, self.pack * x.shape[1], *x.shape[2:])
        return self.discriminator(packed).reshape(-1)
