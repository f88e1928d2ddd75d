"""Shared pieces of the reference nets: label checks, projection scores, spectral normalisation."""

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


def projection(embedding: nn.Embedding | None, features: Tensor, labels: Tensor | None) -> Tensor:
    """The class term of a projection discriminator (Miyato & Koyama, 2018): ``⟨e(y), φ(x)⟩``.

    Args:
        embedding: ``e``, one row of ``F`` per class, or ``None`` for an unconditional D.
        features: ``(N, F)`` D features ``φ(x)``.
        labels: ``(N,)`` labels ``y`` (``None`` when unconditional).

    Returns:
        ``(N,)`` scores to add to the unconditional logit ``ψ(φ(x))`` (zeros when unconditional).
    """
    if embedding is None or labels is None:
        return features.new_zeros(features.shape[0])
    return (embedding(labels) * features).sum(dim=1)


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
