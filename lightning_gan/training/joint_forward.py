"""Scoring reals and fakes in one D forward, where that is the same computation as two.

``D(cat[x, G(z)])`` split in halves equals ``(D(x), D(G(z)))`` when D treats every sample on its
own and a forward changes nothing: no BatchNorm in training mode (its statistics mix the batch), no
dropout in training mode and no augmentation (their random draws would land on other samples), no
spectral normalisation (each training forward runs one power iteration, so two forwards update
``u`` twice). A user's own module may do anything in ``forward`` (a minibatch standard deviation
mixes samples), so ``"auto"`` trusts only the layers of ``torch.nn`` and the nets of
``lightning_gan.nets``; ``True`` asserts it for any D.
"""

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

JointForward = bool | Literal["auto"]

#: Layers whose training-mode output for one sample depends on the others, or on random draws.
MIXING_IN_TRAINING = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.LazyBatchNorm1d,
    nn.LazyBatchNorm2d,
    nn.LazyBatchNorm3d,
    nn.SyncBatchNorm,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.RReLU,
)
#: Where the modules ``"auto"`` trusts are defined.
TRUSTED_MODULES = ("torch.nn.modules.", "lightning_gan.nets.")


def changes_on_forward(module: nn.Module) -> bool:
    """Whether ``module`` is spectrally normalised (either API) or otherwise parametrized."""
    return parametrize.is_parametrized(module) or hasattr(module, "weight_orig")


def is_per_sample(discriminator: nn.Module) -> bool:
    """Whether ``discriminator`` in training mode scores each sample on its own and without side effects.

    True when every module in it is a layer of ``torch.nn`` or a net of ``lightning_gan.nets``,
    none of them is a BatchNorm, dropout or RReLU layer (whatever mode it is in now), and none is
    spectrally normalised (or otherwise parametrized).
    """
    return all(
        type(module).__module__.startswith(TRUSTED_MODULES)
        and not changes_on_forward(module)
        and not isinstance(module, MIXING_IN_TRAINING)
        for module in discriminator.modules()
    )


def use_joint_forward(setting: JointForward, discriminator: nn.Module, augment: nn.Module | None) -> bool:
    """Resolve ``GAN(joint_d_forward=...)`` for a training step: ``"auto"`` checks D and the augmentation.

    Raises:
        ValueError: For a setting other than ``True``, ``False`` or ``"auto"``.
    """
    if setting not in (True, False, "auto"):
        raise ValueError(f"joint_d_forward must be True, False or 'auto', got {setting!r}")
    if setting == "auto":
        return augment is None and is_per_sample(discriminator)
    return bool(setting)


def joint_batch(real: Tensor, fake: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """``(2N, ...)`` reals then fakes, and ``(2N,)`` labels (the same labels for both halves).

    Raises:
        ValueError: If reals and fakes differ in shape (they could not be scored as one batch).
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"joint_d_forward scores reals and fakes as one batch, so their shapes must match: "
            f"reals {tuple(real.shape)}, fakes {tuple(fake.shape)}; set joint_d_forward=False"
        )
    return torch.cat([real, fake]), None if labels is None else torch.cat([labels, labels])


def score_pair(
    discriminate: Callable[[Tensor, Tensor | None], Tensor],
    real: Tensor,
    fake: Tensor,
    labels: Tensor | None,
    joint: bool,
) -> tuple[Tensor, Tensor]:
    """D's ``(M,)`` logits on reals and on fakes, from one forward of both (``joint``) or one each.

    The joint forward scores :func:`joint_batch` and splits the logits in halves.
    """
    if not joint:
        return discriminate(real, labels), discriminate(fake, labels)
    logits = discriminate(*joint_batch(real, fake, labels))
    return logits[: logits.shape[0] // 2], logits[logits.shape[0] // 2 :]
