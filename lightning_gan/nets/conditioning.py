"""Shared pieces of the reference nets: label checks, projection logits, spectral normalisation."""

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm


def check_labels(net: nn.Module, num_classes: int, labels: Tensor | None) -> None:
    """Raise unless a conditional net (``num_classes > 0``) gets labels and an unconditional one does not.

    Args:
        net: The calling network (named in the message).
        num_classes: Its number of classes (0: unconditional).
        labels: ``(N,)`` integer labels or ``None``.

    Raises:
        ValueError: On a mismatch.
    """
    if num_classes and labels is None:
        raise ValueError(
            f"{type(net).__name__}(num_classes={num_classes}) is conditional: call it with labels"
        )
    if not num_classes and labels is not None:
        raise ValueError(f"{type(net).__name__} is unconditional (num_classes=0) but was given labels")


def projection_logits(
    logits: Tensor, embedding: nn.Embedding | None, features: Tensor, labels: Tensor | None
) -> Tensor:
    """A projection discriminator's logits (Miyato & Koyama, 2018): ``ψ(φ(x)) + ⟨e(y), φ(x)⟩``.

    Unconditional (no embedding) they are ``ψ(φ(x))`` as they are, with no class term added.

    Args:
        logits: ``(N,)`` unconditional logits ``ψ(φ(x))``.
        embedding: ``e``, one row of ``F`` per class, or ``None`` for an unconditional D.
        features: ``(N, F)`` D features ``φ(x)``.
        labels: ``(N,)`` labels ``y`` (``None`` when unconditional; see :func:`check_labels`).

    Returns:
        ``(N,)`` logits.
    """
    if embedding is None or labels is None:
        return logits
    return logits + (embedding(labels) * features).sum(dim=1)


def features_and_head(net: nn.Sequential, x: Tensor) -> tuple[Tensor, Tensor]:
    """Run ``net`` on ``x``; return what its last layer gets (D's features ``φ(x)``) and gives.

    Equal to ``net[:-1](x)`` and ``net[-1]`` of that, without building a new ``nn.Sequential``
    for the slice on every forward (a module construction, tens of µs on CPU).

    Args:
        net: A sequential discriminator whose last layer maps features to logits.
        x: ``(N, ...)`` input of ``net``.

    Returns:
        ``φ(x)``, the last layer's input, and ``net(x)``, its output.
    """
    *body, head = net
    for layer in body:
        x = layer(x)
    return x, head(x)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectrally normalise every Linear, convolution and embedding weight in ``module`` (in place).

    ``W ← W / σ(W)`` with ``σ`` the largest singular value estimated by one power iteration per
    training forward (Miyato et al., 2018), through ``torch.nn.utils.parametrizations.spectral_norm``.

    Args:
        module: A network.

    Returns:
        The same module.
    """
    for child in list(module.modules()):
        if isinstance(child, (nn.Linear, nn.Conv2d, nn.Embedding)):
            spectral_norm(child)
    return module
