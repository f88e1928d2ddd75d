import pytest
import torch

from lightning_gan.augment import DiffAugment
from tests.helpers import changed, quiet_trainer, snapshot


def images(n=6, c=3, side=16):
    torch.manual_seed(0)
    return torch.rand(n, c, side, side) * 2 - 1


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_shapes_kept_and_differentiable(policy):
    x = images().requires_grad_()
    out = DiffAugment(policy)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_and_cutout_keep_values_within_the_input_range_and_zero():
    x = images()
    for policy in ("translation", "cutout"):
        out = DiffAugment(policy)(x)
        # Every output pixel is an input pixel of the same image and channel, or the zero fill.
        for i in range(x.shape[0]):
            for c in range(x.shape[1]):
                allowed = set(x[i, c].flatten().tolist()) | {0.0}
                assert set(out[i, c].flatten().tolist()) <= allowed


def test_translation_is_a_shift():
    x = torch.arange(64.0).reshape(1, 1, 8, 8) + 1
    out = DiffAugment("translation", translation_ratio=0.25)(x)
    # Find the shift (dy, dx) that explains the output and check it everywhere.
    nonzero = out[0, 0] != 0
    first = out[0, 0][nonzero][0].item() - 1
    r, c = divmod(int(first), 8)
    rows, cols = torch.nonzero(nonzero, as_tuple=True)
    dy, dx = rows[0].item() - r, cols[0].item() - c
    assert abs(dy) <= 2 and abs(dx) <= 2
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        assert out[0, 0, i, j] == x[0, 0, i - dy, j - dx]


def test_cutout_zeroes_a_square_of_the_given_size():
    x = torch.ones(20, 1, 16, 16)
    out = DiffAugment("cutout", cutout_ratio=0.5)(x)
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert (zeros <= 64).all() and (zeros > 0).all()  # an 8×8 square, possibly clipped at a border
    assert (zeros == 64).any()


def test_color_stays_within_its_analytic_bound_and_keeps_brightness_mean():
    # Analytic bound from [-1, 1]: brightness gives |x| ≤ 1.5; saturation x' = s·x + (1 - s)·m with
    # s ≤ 2 and |m| ≤ 1.5 gives |x'| ≤ 2·1.5 + 1·1.5 = 4.5; contrast x'' = c·x' + (1 - c)·m' with
    # c ∈ [0.5, 1.5] gives |x''| ≤ 1.5·4.5 + 0.5·4.5 = 9.
    x = images(n=200)
    out = DiffAugment("color")(x)
    assert not torch.allclose(out, x)
    assert out.abs().max() <= 9
    # Per-image mean after contrast equals the mean after brightness/saturation: contrast keeps it.
    torch.manual_seed(3)
    a = DiffAugment("color")(x)
    torch.manual_seed(3)
    b = x + torch.empty(200, 1, 1, 1).uniform_(-0.5, 0.5)
    torch.testing.assert_close(a.mean(dim=(1, 2, 3)), b.mean(dim=(1, 2, 3)), atol=1e-5, rtol=0)


def test_identity_in_eval_mode():
    x = images()
    augment = DiffAugment().eval()
    assert augment(x) is x


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"policy": "color,flip"}, "unknown or empty"),
        ({"policy": ""}, "unknown or empty"),
        ({"translation_ratio": 0}, "translation_ratio"),
        ({"cutout_ratio": 1.5}, "cutout_ratio"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiffAugment(**kwargs)


def test_non_image_input_rejected():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        DiffAugment()(torch.randn(4, 2))


def test_gan_applies_augmentation_to_every_d_input_in_training_only():
    from lightning_gan import GAN
    from lightning_gan.data import DigitsDataModule
    from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator

    class CountingAugment(DiffAugment):
        calls = 0

        def forward(self, x):
            if self.training:
                CountingAugment.calls += 1
            return super().forward(x)

    gan = GAN(
        DCGANGenerator(latent_dim=8, image_size=8, channels=1, base_channels=4),
        DCGANDiscriminator(image_size=8, channels=1, base_channels=4),
        augment=CountingAugment("translation,cutout"),
        max_iterations=3,
    )
    before = snapshot(gan.generator)
    quiet_trainer(limit_val_batches=1).fit(gan, DigitsDataModule(image_size=8, batch_size=16))
    assert CountingAugment.calls == 3 * 3  # D phase: real + fake; G phase: fake
    assert changed(before, gan.generator)  # G's gradient passes through the augmentation
