"""Fully connected generator and discriminator for low-dimensional data (2-D mixtures)."""

from typing import Literal

from torch import Tensor, nn

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
    in_features: int, out_features: int, hidden_features: int, n_hidden: int, activation: str
) -> nn.Sequential:
    """``n_hidden`` hidden layers of width ``hidden_features``, each Linear → activation, then a Linear head.

    Args:
        in_features: Input width.
        out_features: Output width.
        hidden_features: Width of each hidden layer.
        n_hidden: Number of hidden layers (``>= 1``).
        activation: One of ``relu, leaky_relu, elu, gelu, silu, tanh``.

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
        layers += [nn.Linear(width, hidden_features), _ACTIVATIONS[activation]()]
        width = hidden_features
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """Maps latent codes ``(N, latent_dim)`` to samples ``(N, out_features)`` (no output squashing).

    Args:
        latent_dim: Size of the noise vector z.
        out_features: Dimension of a data sample.
        hidden_features: Width of each hidden layer.
        n_hidden: Number of hidden layers.
        activation: Hidden activation name.
    """

    def __init__(
        self,
        latent_dim: int = 2,
        out_features: int = 2,
        hidden_features: int = 128,
        n_hidden: int = 3,
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = mlp(latent_dim, out_features, hidden_features, n_hidden, activation)

    def forward(self, z: Tensor) -> Tensor:
        """Generate samples.

        Args:
            z: ``(N, latent_dim)`` noise.

        Returns:
            ``(N, out_features)`` samples.
        """
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Maps samples ``(N, in_features)`` to real/fake logits ``(N,)``.

    Args:
        in_features: Dimension of a data sample.
        hidden_features: Width of each hidden layer.
        n_hidden: Number of hidden layers.
        activation: Hidden activation name.
    """

    def __init__(
        self,
        in_features: int = 2,
        hidden_features: int = 128,
        n_hidden: int = 3,
        activation: Activation = "leaky_relu",
    ) -> None:
        super().__init__()
        self.net = mlp(in_features, 1, hidden_features, n_hidden, activation)

    def forward(self, x: Tensor) -> Tensor:
        """Score samples.

        Args:
            x: ``(N, in_features)`` samples.

        Returns:
            ``(N,)`` logits (not probabilities).
        """
        return self.net(x).squeeze(1)
