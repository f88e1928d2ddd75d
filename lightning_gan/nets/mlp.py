"""Fully connected generator and discriminator for low-dimensional data (2-D mixtures)."""

from typing import Literal

import torch
from torch import Tensor, nn

from lightning_gan.nets.conditioning import (
    apply_spectral_norm,
    check_labels,
    features_and_head,
    projection_logits,
)

Activation = Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def mlp(
    in_features: int,
    out_features: int,
    hidden_features: int,
    n_hidden: int,
    activation: str,
    batch_norm: bool = False,
) -> nn.Sequential:
    """``n_hidden`` hidden layers of width ``hidden_features``, each Linear → activation, then a Linear head.

    Args:
        in_features: Input width.
        out_features: Output width.
        hidden_features: Width of each hidden layer.
        n_hidden: Number of hidden layers (``>= 1``).
        activation: One of ``relu, leaky_relu, elu, gelu, silu, tanh``.
        batch_norm: Insert BatchNorm between each hidden Linear and its activation.

    Returns:
        The network, mapping ``(N, in_features)`` to ``(N, out_features)``.

    Raises:
        ValueError: For non-positive sizes or an unknown activation.
    """
    if min(in_features, out_features, hidden_features, n_hidden) < 1:
        raise ValueError(
            "MLP sizes must be >= 1, got "
            f"in_features={in_features}, out_features={out_features}, "
            f"hidden_features={hidden_features}, n_hidden={n_hidden}"
        )
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(n_hidden):
        norm: list[nn.Module] = [nn.BatchNorm1d(hidden_features)] if batch_norm else []
        layers += [nn.Linear(width, hidden_features), *norm, _ACTIVATIONS[activation]()]
        width = hidden_features
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """Maps latent codes ``(N, latent_dim)`` to samples ``(N, out_features)`` (no output squashing).

    Conditional when ``num_classes > 0``: a learned label embedding of size ``latent_dim`` is
    concatenated to z (Mirza & Osindero, 2014), and :meth:`forward` takes labels.

    Args:
        latent_dim: Size of the noise vector z.
        out_features: Dimension of a data sample.
        hidden_features: Width of each hidden layer.
        n_hidden: Number of hidden layers.
        activation: Hidden activation name.
        num_classes: Number of classes to condition on (0: unconditional).
        batch_norm: BatchNorm in the hidden layers (as in the generators of VEEGAN and PacGAN).
    """

    def __init__(
        self,
        latent_dim: int = 2,
        out_features: int = 2,
        hidden_features: int = 128,
        n_hidden: int = 3,
        activation: Activation = "relu",
        num_classes: int = 0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_features = 2 * latent_dim if num_classes else latent_dim
        self.net = mlp(in_features, out_features, hidden_features, n_hidden, activation, batch_norm)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Generate samples.

        Args:
            z: ``(N, latent_dim)`` noise.
            labels: ``(N,)`` class labels, required when conditional.

        Returns:
            ``(N, out_features)`` samples.
        """
        check_labels(self, self.num_classes, labels)
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # [z, e(y)]
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Maps samples ``(N, in_features)`` to real/fake logits ``(N,)``.

    Conditional when ``num_classes > 0``: a projection discriminator (Miyato & Koyama, 2018),
    ``D(x, y) = ψ(φ(x)) + ⟨e(y), φ(x)⟩`` with ``φ`` the last hidden layer.

    Args:
        in_features: Dimension of a data sample (``pack × 2`` inside a PackedDiscriminator on 2-D data).
        hidden_features: Width of each hidden layer.
        n_hidden: Number of hidden layers.
        activation: Hidden activation name.
        num_classes: Number of classes to condition on (0: unconditional).
        spectral_norm: Spectrally normalise every weight (Miyato et al., 2018).
    """

    def __init__(
        self,
        in_features: int = 2,
        hidden_features: int = 128,
        n_hidden: int = 3,
        activation: Activation = "leaky_relu",
        num_classes: int = 0,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = mlp(in_features, 1, hidden_features, n_hidden, activation)
        self.embed = nn.Embedding(num_classes, hidden_features) if num_classes else None
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Score samples.

        Args:
            x: ``(N, in_features)`` samples.
            labels: ``(N,)`` class labels, required when conditional.

        Returns:
            ``(N,)`` logits (not probabilities).
        """
        check_labels(self, self.num_classes, labels)
        features, logits = features_and_head(self.net, x)  # φ(x): (N, hidden_features)
        return projection_logits(logits.squeeze(1), self.embed, features, labels)
