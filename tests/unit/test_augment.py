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


def reference_translation(x, dy, dx):
    """Per pixel: output (i, j) is input (i - dy, j - dx) of the same image, 0 outside the image."""
    n, c, h, w = x.shape
    out = torch.zeros_like(x)
    for k in range(n):
        for i in range(h):
            for j in range(w):
                si, sj = i - int(dy[k]), j - int(dx[k])
                if 0 <= si < h and 0 <= sj < w:
                    out[k, :, i, j] = x[k, :, si, sj]
    return out


def reference_cutout(x, top, left, ch, cw):
    """Per pixel: zero inside rows [top, top + ch) and columns [left, left + cw), else the input."""
    n, c, h, w = x.shape
    out = x.clone()
    for k in range(n):
        for i in range(h):
            for j in range(w):
                if top[k] <= i < top[k] + ch and left[k] <= j < left[k] + cw:
                    out[k, :, i, j] = 0
    return out


@pytest.mark.parametrize(("side", "ratio", "reach"), [(8, 0.25, 2), (12, 0.125, 2), (10, 0.1, 1)])
def test_translation_equals_the_per_pixel_shift_of_its_draws(side, ratio, reach):
    # reach = round(ratio × side): 8·0.25 = 2, 12·0.125 = 1.5 → 2, 10·0.1 = 1.
    x = torch.randn(5, 2, side, side - 1)  # height and width differ: each axis its own shift
    torch.manual_seed(1)
    out = DiffAugment("translation", translation_ratio=ratio)(x)
    torch.manual_seed(1)  # the same draws: dy, then dx, each uniform on the integers in [-reach, reach]
    reach_w = int((side - 1) * ratio + 0.5)
    dy = torch.randint(-reach, reach + 1, (5, 1, 1))
    dx = torch.randint(-reach_w, reach_w + 1, (5, 1, 1))
    torch.testing.assert_close(out, reference_translation(x, dy.flatten(), dx.flatten()), rtol=0, atol=0)


def test_translation_shifts_cover_every_integer_up_to_the_reach_and_no_more():
    x = torch.arange(1.0, 1 + 8 * 8).reshape(1, 1, 8, 8).expand(4000, 1, 8, 8)
    out = DiffAugment("translation", translation_ratio=0.25)(x)  # reach 2
    # The input's pixel (0, 0) holds 1; where it lands gives the shift (dy, dx) when it stayed inside.
    landed = torch.nonzero(out[:, 0] == 1)
    assert set(landed[:, 1].tolist()) == {0, 1, 2} and set(landed[:, 2].tolist()) == {0, 1, 2}
    # Negative shifts: pixel (7, 7) (value 64) lands at 7 + d for d in {-2, ..., 0}.
    landed = torch.nonzero(out[:, 0] == 64)
    assert set(landed[:, 1].tolist()) == {5, 6, 7} and set(landed[:, 2].tolist()) == {5, 6, 7}


@pytest.mark.parametrize(("side", "ratio", "size"), [(16, 0.5, 8), (8, 0.3, 2), (7, 0.5, 4), (6, 0.5, 3)])
def test_cutout_equals_the_per_pixel_square_of_its_draws(side, ratio, size):
    # size = round(ratio × side): 8, 2.4 → 2, 3.5 → 4. The square's top-left is uniform on
    # [-size // 2, side - size // 2 - size % 2], so its centre is uniform over the image (as in DiffAugment).
    x = torch.randn(6, 3, side, side + 2)
    width = int((side + 2) * ratio + 0.5)
    torch.manual_seed(2)
    out = DiffAugment("cutout", cutout_ratio=ratio)(x)
    torch.manual_seed(2)
    top = torch.randint(0, side + 1 - size % 2, (6, 1, 1)).flatten() - size // 2
    left = torch.randint(0, side + 3 - width % 2, (6, 1, 1)).flatten() - width // 2
    torch.testing.assert_close(out, reference_cutout(x, top, left, size, width), rtol=0, atol=0)


def test_cutout_square_positions_span_the_image_and_no_further():
    x = torch.ones(3000, 1, 8, 8)
    out = DiffAugment("cutout", cutout_ratio=0.5)(x)  # a 4×4 square, top-left in [-2, 6]
    zero = out[:, 0] == 0
    rows, cols = zero.any(dim=2), zero.any(dim=1)
    first_row = torch.where(rows.any(dim=1), rows.float().argmax(dim=1), torch.tensor(-1))
    heights = rows.sum(dim=1)
    # Fully inside: 4 rows zeroed; clipped at the top by 1 or 2 rows; clipped at the bottom likewise.
    assert set(heights.tolist()) == {2, 3, 4}
    assert set(first_row[heights == 4].tolist()) == {0, 1, 2, 3, 4}
    assert set(cols.sum(dim=1).tolist()) == {2, 3, 4}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_color_equals_the_closed_form_of_its_draws(dtype):
    x = torch.randn(7, 3, 5, 4, dtype=dtype)
    torch.manual_seed(3)
    out = DiffAugment("color")(x)
    assert out.dtype == dtype
    torch.manual_seed(3)  # brightness b ~ U[-0.5, 0.5], saturation s ~ U[0, 2], contrast c ~ U[0.5, 1.5]
    b = torch.empty(7, 1, 1, 1, dtype=dtype).uniform_(-0.5, 0.5)  # drawn in the images' dtype
    s = torch.empty(7, 1, 1, 1, dtype=dtype).uniform_(0.0, 2.0)
    c = torch.empty(7, 1, 1, 1, dtype=dtype).uniform_(0.5, 1.5)
    expected = torch.empty_like(x)
    for k in range(7):
        bright = x[k] + b[k]
        pixel_mean = bright.mean(dim=0, keepdim=True)  # over channels, per pixel
        saturated = (bright - pixel_mean) * s[k] + pixel_mean
        image_mean = saturated.mean()
        expected[k] = (saturated - image_mean) * c[k] + image_mean
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


def test_policy_order_and_default():
    assert DiffAugment().ops == ["color", "translation", "cutout"]
    assert DiffAugment(" cutout , color ").ops == ["color", "cutout"]  # always applied in POLICIES order
    augment = DiffAugment()
    assert (augment.translation_ratio, augment.cutout_ratio) == (0.125, 0.5)  # DiffAugment's defaults
    assert repr(DiffAugment("cutout,translation")) == "DiffAugment(policy='translation,cutout')"


@pytest.mark.parametrize("name", ["translation_ratio", "cutout_ratio"])
def test_ratios_must_be_strictly_between_zero_and_one(name):
    for ratio in (0.0, 1.0):
        with pytest.raises(ValueError) as raised:
            DiffAugment(**{name: ratio})
        assert str(raised.value) == f"DiffAugment {name} must be in (0, 1), got {ratio}"
    DiffAugment(**{name: 0.99})
