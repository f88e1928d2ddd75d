import pytest
import torch
from lightning import Callback
from torch import nn

from lightning_gan import GAN
from lightning_gan.ema import GeneratorEMA
from tests.helpers import quiet_trainer, tiny_gan, tiny_mixture


def test_fixed_decay_equals_closed_form_average():
    # After n updates with constant β: θ_ema = βⁿ θ₀ + Σₜ (1 - β) βⁿ⁻ᵗ θₜ.
    beta, thetas = 0.9, [torch.tensor([1.0, -2.0]), torch.tensor([3.0, 0.5]), torch.tensor([-1.0, 4.0])]
    net, average = nn.Linear(2, 1), nn.Linear(2, 1)
    theta0 = torch.tensor([0.5, 0.25])
    with torch.no_grad():
        average.weight.copy_(theta0)
    ema = GeneratorEMA(decay=beta)
    for theta in thetas:
        with torch.no_grad():
            net.weight.copy_(theta)
        ema.update(average, net, ema.beta(64, 0))
    n = len(thetas)
    expected = beta**n * theta0 + sum(
        (1 - beta) * beta ** (n - t) * th for t, th in enumerate(thetas, start=1)
    )
    torch.testing.assert_close(average.weight.detach().squeeze(0), expected)


def test_half_life_in_images():
    ema = GeneratorEMA(half_life_images=1000)
    assert ema.beta(1000, 10**6) == pytest.approx(0.5)  # one half-life per update
    assert ema.beta(100, 10**6) ** 10 == pytest.approx(0.5)  # ten updates of 100 images


def test_ramp_up_shortens_the_half_life_early():
    ema = GeneratorEMA(half_life_images=10_000, ramp_up=0.05)
    assert ema.beta(64, 0) == pytest.approx(0.0, abs=1e-12)  # nothing seen yet: follow G exactly
    assert ema.beta(64, 1280) == pytest.approx(0.5)  # half-life 0.05 · 1280 = 64 images
    assert ema.beta(64, 10**7) == pytest.approx(0.5 ** (64 / 10_000))  # capped at the full half-life


def test_buffers_are_copied():
    net, average = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    net(torch.randn(8, 3) * 5 + 2)  # moves running statistics
    GeneratorEMA(decay=0.99).update(average, net, 0.99)
    torch.testing.assert_close(average.running_mean, net.running_mean)
    torch.testing.assert_close(average.running_var, net.running_var)


ONE_OF = "GeneratorEMA takes exactly one of half_life_images and decay, got "


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {},
            ONE_OF + "half_life_images=None, decay=None",
        ),
        (
            {"half_life_images": 10, "decay": 0.9},
            ONE_OF + "half_life_images=10, decay=0.9",
        ),
        ({"decay": 1.0}, "GeneratorEMA: decay must be in [0, 1), got 1.0"),
        ({"decay": -0.1}, "GeneratorEMA: decay must be in [0, 1), got -0.1"),
        ({"half_life_images": 0}, "GeneratorEMA: half_life_images must be > 0, got 0"),
        (
            {"half_life_images": 10, "ramp_up": 0},
            "GeneratorEMA: ramp_up must be > 0 and used with half_life_images, got 0",
        ),
        (
            {"decay": 0.9, "ramp_up": 0.05},
            "GeneratorEMA: ramp_up must be > 0 and used with half_life_images, got 0.05",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as raised:
        GeneratorEMA(**kwargs)
    assert str(raised.value) == message


def test_boundary_arguments_are_accepted():
    assert GeneratorEMA(decay=0.0).beta(64, 0) == 0.0  # β = 0: G_ema copies G
    assert GeneratorEMA(half_life_images=0.5).beta(1, 0) == pytest.approx(0.25)  # two half-lives per update
    # A ramped half-life below one image: 0.05 · 10 = 0.5 images, so one image is two half-lives.
    assert GeneratorEMA(half_life_images=100, ramp_up=0.05).beta(1, 10) == pytest.approx(0.25)


def test_gan_tracks_g_and_samples_from_the_average(tmp_path):
    beta = 0.8
    gan = tiny_gan(ema=GeneratorEMA(decay=beta), max_iterations=6)
    initial = [p.detach().clone() for p in gan.generator.parameters()]
    seen = []

    class AfterEachIteration(Callback):
        """G's weights once each iteration is over, i.e. after its G step (independent of the EMA code)."""

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if pl_module.iteration > len(seen):
                seen.append([p.detach().clone() for p in pl_module.generator.parameters()])

    trainer = quiet_trainer(
        limit_val_batches=0,
        default_root_dir=tmp_path,
        enable_checkpointing=True,
        callbacks=[AfterEachIteration()],
    )
    trainer.fit(gan, tiny_mixture())
    assert len(seen) == 6 and gan.clock.images_seen == 6 * 64
    # Closed form over the G weights after each of the 6 G updates: an EMA that lagged one step
    # behind (averaging G before its step) would not match.
    for i, p_ema in enumerate(gan.generator_ema.parameters()):
        expected = beta**6 * initial[i] + sum(
            (1 - beta) * beta ** (6 - t) * s[i] for t, s in enumerate(seen, 1)
        )
        torch.testing.assert_close(p_ema, expected)
    assert all(not p.requires_grad for p in gan.generator_ema.parameters())
    z = torch.randn(5, gan.latent_dim)
    torch.testing.assert_close(gan.sample(5, z=z), gan.generator_ema(z))
    assert not torch.allclose(gan.sample(5, z=z), gan.generator(z))

    # Saved in, and restored from, the checkpoint.
    path = trainer.checkpoint_callback.best_model_path
    restored = GAN.load_from_checkpoint(path, weights_only=False)
    torch.testing.assert_close(restored.sample(5, z=z), gan.sample(5, z=z))
    assert restored.clock.images_seen == gan.clock.images_seen


def test_no_ema_means_sampling_from_g():
    gan = tiny_gan()
    assert gan.generator_ema is None
    z = torch.randn(4, gan.latent_dim)
    torch.testing.assert_close(gan.sample(4, z=z), gan.generator(z))


def test_half_life_ema_in_a_fit_uses_the_images_of_each_update_and_those_seen_before():
    half_life, ramp_up = 200.0, 0.5  # ramped half-life min(200, 0.5 · seen): 0, 32, 64, 96, 128, 160
    gan = tiny_gan(ema=GeneratorEMA(half_life_images=half_life, ramp_up=ramp_up), max_iterations=6)
    seen = []

    class AfterEachIteration(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if pl_module.iteration > len(seen):
                seen.append([p.detach().clone() for p in pl_module.generator.parameters()])

    quiet_trainer(limit_val_batches=0, callbacks=[AfterEachIteration()]).fit(gan, tiny_mixture())
    expected = [p.detach().clone() for p in seen[0]]  # seen 0 images: half-life 0, β = 0, a copy of G
    for t, weights in enumerate(seen[1:], 1):
        beta = 0.5 ** (64 / min(half_life, ramp_up * 64 * t))  # 64 images per update
        expected = [beta * e + (1 - beta) * w for e, w in zip(expected, weights, strict=True)]
    for p_ema, e in zip(gan.generator_ema.parameters(), expected, strict=True):
        torch.testing.assert_close(p_ema, e)


def test_repr_names_the_setting():
    assert repr(GeneratorEMA(decay=0.9)) == "GeneratorEMA(decay=0.9)"
    assert repr(GeneratorEMA(half_life_images=10.0)) == "GeneratorEMA(half_life_images=10.0, ramp_up=None)"
