"""Early, readable errors: arguments, shapes of G and D against the data, checkpoints, strategies."""

from collections.abc import Mapping
from typing import Any

import torch
from lightning import Trainer
from lightning.pytorch.strategies import DeepSpeedStrategy, FSDPStrategy, ModelParallelStrategy
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel


def check_latent_dim(generator: nn.Module) -> int:
    """G's ``latent_dim``.

    Raises:
        ValueError: If G has no integer ``latent_dim >= 1``.
    """
    latent_dim = getattr(generator, "latent_dim", None)
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(
            f"the generator ({type(generator).__name__}) must expose an integer attribute latent_dim >= 1 "
            f"(the size of z in (N, latent_dim)), got {latent_dim!r}"
        )
    return latent_dim


def check_choice(name: str, value: str, accepted: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``accepted``."""
    if value not in accepted:
        raise ValueError(f"{name} must be {' or '.join(map(repr, accepted))}, got {value!r}")


def check_ranges(owner: str, rules: Mapping[str, tuple[object, bool, str]]) -> None:
    """Raise one ``ValueError`` naming every out-of-range argument, its value and what is accepted.

    Args:
        owner: The class or function the arguments belong to.
        rules: Argument name → ``(value, whether it is accepted, the accepted range in words)``.
    """
    wrong = [f"{name}={value!r} (accepted: {rule})" for name, (value, ok, rule) in rules.items() if not ok]
    if wrong:
        raise ValueError(f"{owner}: {'; '.join(wrong)}")


def check_strategy(trainer: Trainer) -> None:
    """Reject strategies a GAN cannot run under (called in ``setup``, before anything is wrapped).

    Raises:
        ValueError: For FSDP, DeepSpeed and model-parallel strategies, which Lightning runs only
            with automatic optimization.
    """
    strategy = trainer.strategy
    if isinstance(strategy, (FSDPStrategy, DeepSpeedStrategy, ModelParallelStrategy)):
        raise ValueError(
            f"strategy {type(strategy).__name__} is not supported: Lightning runs FSDP, DeepSpeed and "
            "model-parallel strategies only with automatic optimization, and a GAN optimizes G and D by "
            "hand; use strategy='gan_ddp' (one DDP wrapper per network)"
        )


def check_wrapping(trainer: Trainer) -> None:
    """Reject Lightning's whole-module DDP without unused-parameter search (called once it has wrapped).

    Raises:
        ValueError: If the LightningModule is wrapped whole in ``DistributedDataParallel`` with
            ``find_unused_parameters=False``: each GAN phase leaves the other network's
            parameters without gradients, which that wrapper cannot take.
    """
    model = trainer.strategy.model
    if isinstance(model, DistributedDataParallel) and not model.find_unused_parameters:
        raise ValueError(
            "strategy 'ddp' wraps the whole GAN in one DistributedDataParallel, which fails as soon as a "
            "phase leaves the other network without gradients; use strategy='gan_ddp' (also "
            "'gan_ddp_spawn', 'gan_ddp_fork': one wrapper per network) or "
            "'ddp_find_unused_parameters_true'. The lightning-gan CLI maps 'ddp' to 'gan_ddp' itself."
        )


@torch.no_grad()
def check_shapes(gan: Any, sample_shape: tuple[int, ...] | None) -> None:  # noqa: ANN401
    """One dry pass z → G → D on two samples (in eval mode); raise if the shapes do not fit together.

    Args:
        gan: The :class:`~lightning_gan.GAN`.
        sample_shape: Shape of one real sample (from the datamodule), or ``None`` to skip that check.

    Raises:
        ValueError: Naming the latent, generator-output and data shapes (and D's output) when G's
            output differs from ``sample_shape``, D rejects it, or D's output is not ``(N,)`` or
            ``(N, 1)``.
    """
    generator, discriminator = gan.generator, gan.discriminator
    modes = (generator.training, discriminator.training)
    generator.eval()
    discriminator.eval()
    n = 2 * getattr(discriminator, "pack", 1)  # a packed D scores groups of `pack` samples
    try:
        z, labels = gan.sample_latent(n), gan.sample_labels(n)
        fake = generator(z) if labels is None else generator(z, labels)
        shapes = f"z {tuple(z.shape)} → G(z) {tuple(fake.shape)}; one data sample has shape {sample_shape}"
        if sample_shape is not None and tuple(fake.shape[1:]) != tuple(sample_shape):
            raise ValueError(
                f"generator output does not match the data: {shapes}; make G emit (N, *{sample_shape})"
            )
        try:
            logits = discriminator(fake) if labels is None else discriminator(fake, labels)
        except RuntimeError as err:
            raise ValueError(
                f"the discriminator cannot take the generator's output: {shapes}; D raised: {err}"
            ) from err
        if tuple(logits.shape) not in ((2,), (2, 1)):
            raise ValueError(
                "the discriminator must return logits of shape (N,) or (N, 1) (N / pack for a "
                f"PackedDiscriminator): {shapes} → D {tuple(logits.shape)}"
            )
    finally:
        generator.train(modes[0])
        discriminator.train(modes[1])


def check_architecture(model: nn.Module, saved: Mapping[str, Tensor]) -> None:
    """Raise one readable error when the ``saved`` weights cannot be loaded into ``model``.

    Raises:
        ValueError: Listing the first differences in names and shapes.
    """
    mine = model.state_dict()
    differences = [f"{key} missing from the checkpoint" for key in mine if key not in saved]
    differences += [f"{key} not in this model" for key in saved if key not in mine]
    differences += [
        f"{key}: checkpoint {tuple(saved[key].shape)}, model {tuple(value.shape)}"
        for key, value in mine.items()
        if key in saved and isinstance(value, Tensor) and saved[key].shape != value.shape  # not extra state
    ]
    if differences:
        more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        raise ValueError(
            f"the checkpoint was written by another architecture than this {type(model).__name__} "
            f"({len(differences)} differences: {'; '.join(differences[:5])}{more}); build the model with "
            "the config it was trained with"
        )
