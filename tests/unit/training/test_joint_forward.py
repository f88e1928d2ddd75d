"""One D forward of reals and fakes where it equals two: the rule, and equality of losses and gradients."""

import copy

import pytest
import torch
from torch import nn

from lightning_gan import GAN, ConditionalGAN
from lightning_gan.augment import DiffAugment
from lightning_gan.losses import RelativisticAverageLoss
from lightning_gan.nets import DCGANDiscriminator, MLPDiscriminator, MLPGenerator, PackedDiscriminator
from lightning_gan.training.joint_forward import is_per_sample, joint_batch, use_joint_forward


class MinibatchStd(nn.Module):
    """A user's layer that mixes samples: appends the batch's feature standard deviation to each row."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x.std(0).mean().expand(x.shape[0], 1)], dim=1)


@pytest.mark.parametrize(
    ("discriminator", "expected"),
    [
        (MLPDiscriminator(hidden_features=8), True),
        (PackedDiscriminator(MLPDiscriminator(in_features=8, hidden_features=8), pack=4), True),
        (MLPDiscriminator(hidden_features=8, num_classes=3), True),
        (DCGANDiscriminator(image_size=16, channels=1, base_channels=4, batch_norm=False), True),
        (nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)), True),
        (DCGANDiscriminator(image_size=16, channels=1, base_channels=4), False),  # BatchNorm
        (nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)), False),
        (MLPDiscriminator(hidden_features=8, spectral_norm=True), False),  # a power iteration per forward
        (nn.utils.spectral_norm(nn.Linear(2, 1)), False),  # the hook-based API
        (nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 1)), False),
        (nn.Sequential(nn.Linear(2, 8), nn.RReLU(), nn.Linear(8, 1)), False),
        (nn.Sequential(nn.Linear(2, 8), MinibatchStd(), nn.Linear(9, 1)), False),  # unknown module
    ],
)
def test_is_per_sample(discriminator: nn.Module, expected: bool) -> None:
    assert is_per_sample(discriminator) is expected


def test_batchnorm_counts_even_in_eval_mode() -> None:
    """The decision is for training steps, so a D that is in eval mode now is judged as in training."""
    assert not is_per_sample(nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)).eval())


def test_setting() -> None:
    d = MLPDiscriminator(hidden_features=8)
    assert use_joint_forward("auto", d, None)
    assert not use_joint_forward("auto", d, DiffAugment("translation"))  # draws would land elsewhere
    assert use_joint_forward(True, nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8)), None)
    assert not use_joint_forward(False, d, None)
    with pytest.raises(ValueError, match=r"joint_d_forward must be True, False or 'auto', got 'yes'"):
        use_joint_forward("yes", d, None)  # type: ignore[arg-type]


def test_joint_batch_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"reals \(4, 2\), fakes \(4, 3\); set joint_d_forward=False"):
        joint_batch(torch.zeros(4, 2), torch.zeros(4, 3), None)


def pair(cls: type[GAN], discriminator: nn.Module, **kwargs: object) -> tuple[GAN, GAN]:
    """The same GAN twice (same weights): one forward of both halves, and two forwards."""
    torch.manual_seed(0)
    num_classes = getattr(discriminator, "num_classes", 0)
    generator = MLPGenerator(latent_dim=3, hidden_features=8, num_classes=num_classes)
    joint = cls(generator, discriminator, joint_d_forward="auto", **kwargs)
    two = cls(copy.deepcopy(generator), copy.deepcopy(discriminator), joint_d_forward=False, **kwargs)
    assert joint.joint_now and not two.joint_now
    return joint, two


def d_forwards(gan: GAN) -> list[int]:
    """Batch sizes of D's forwards, recorded from now on."""
    sizes: list[int] = []
    gan.discriminator.register_forward_hook(lambda _m, args, _out: sizes.append(args[0].shape[0]))
    return sizes


def assert_same_step(joint: GAN, two: GAN, outputs: tuple[dict, dict]) -> None:
    for key in outputs[0]:
        torch.testing.assert_close(outputs[0][key], outputs[1][key], rtol=1e-6, atol=1e-7)
    for a, b in zip(joint.parameters(), two.parameters(), strict=True):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("cls", "make_discriminator"),
    [
        (GAN, lambda: MLPDiscriminator(hidden_features=16)),
        (GAN, lambda: PackedDiscriminator(MLPDiscriminator(in_features=8, hidden_features=16), pack=4)),
        (ConditionalGAN, lambda: MLPDiscriminator(hidden_features=16, num_classes=3)),
    ],
    ids=["mlp", "packed", "conditional"],
)
def test_d_loss_and_gradients_equal_two_forwards(cls: type[GAN], make_discriminator) -> None:
    # A fresh D per run: a shared one would carry gradients and hooks from run to run.
    joint, two = pair(cls, make_discriminator())
    sizes = d_forwards(joint), d_forwards(two)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    batch = (real, torch.arange(8) % 3)
    outputs = []
    for gan in (joint, two):
        out = gan.discriminator_loss(real, fake, batch)
        out["d_loss"].backward()
        outputs.append(out)
    assert_same_step(joint, two, (outputs[0], outputs[1]))
    assert sizes == ([16], [8, 8])  # one forward of 2N against two of N


def test_relativistic_g_loss_and_gradients_equal_two_forwards() -> None:
    """The relativistic G loss scores reals and fakes too: one forward there as well."""
    joint, two = pair(GAN, MLPDiscriminator(hidden_features=16), loss=RelativisticAverageLoss())
    sizes = d_forwards(joint), d_forwards(two)
    real, z = torch.randn(8, 2), torch.randn(8, 3)
    outputs = []
    for gan in (joint, two):
        out = gan.generator_loss(gan.generator(z), (real,))
        out["g_loss"].backward()
        outputs.append(out)
    assert_same_step(joint, two, (outputs[0], outputs[1]))
    assert sizes == ([16], [8, 8])


def test_batchnorm_discriminator_keeps_two_forwards() -> None:
    """With BatchNorm in D, one forward would normalise reals and fakes together: two forwards stay."""
    discriminator = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    gan = GAN(MLPGenerator(latent_dim=3), discriminator)
    sizes = d_forwards(gan)
    gan.discriminator_loss(torch.randn(8, 2), torch.randn(8, 2), (torch.randn(8, 2),))
    assert not gan.joint_now and sizes == [8, 8]
