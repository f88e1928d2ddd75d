"""What Lightning leaves to manual optimization: accumulation, clipping, mixed precision, schedules."""

from functools import partial

import pytest
import torch
from lightning.pytorch.callbacks import LambdaCallback, ModelCheckpoint
from lightning.pytorch.plugins import MixedPrecision
from torch import nn

from lightning_gan import GAN, losses
from lightning_gan.cli import GANCLI, default_config
from lightning_gan.data import GaussianMixtureDataModule
from lightning_gan.data.tensors import tensor_loader
from lightning_gan.regularizers import (
    GradientPenalty,
    R1Penalty,
    R2Penalty,
    Regularizer,
    ScaledScorer,
    WeightClipping,
    input_gradients,
)
from lightning_gan.schedules import LinearDecay
from tests.helpers import changed, quiet_trainer, snapshot, tiny_gan, tiny_mixture


def fp16_scaler_plugin(init_scale: float = 2.0**10) -> MixedPrecision:
    """Real ``16-mixed`` on CPU: float16 autocast and a CPU ``GradScaler``."""
    return MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu", init_scale=init_scale))


class InOrder(GaussianMixtureDataModule):
    """The mixture without shuffling, so runs with different batch splits read the same rows."""

    def train_dataloader(self):
        return tensor_loader(self.train_set, self.batch_size, False, True, self.num_workers)


class KeyedNoise(GAN):
    """Noise keyed by (iteration, D update, phase): the j-th call of a phase gets the j-th slice of
    one 64-row draw, so 2 micro-batches of 32 see exactly the latents of 1 batch of 64."""

    def sample_latent(self, n):
        if not self.training or self._training_network is None:
            return super().sample_latent(n)
        key = (self.iteration, self.clock.d_steps, self._training_network)
        self.calls[key] = self.calls.get(key, -1) + 1
        generator = torch.Generator().manual_seed(hash(key) % 2**31)
        z = torch.randn(64, self.latent_dim, generator=generator)
        return z[self.calls[key] * n : (self.calls[key] + 1) * n]


def keyed_gan(**kwargs) -> KeyedNoise:
    torch.manual_seed(0)
    gan = tiny_gan(KeyedNoise, regularizers=[R1Penalty(gamma=1.0)], **kwargs)
    gan.calls = {}
    return gan


def test_accumulating_two_batches_equals_one_batch_twice_as_large():
    one = keyed_gan(max_iterations=5, d_steps_per_g_step=2)
    quiet_trainer(limit_val_batches=0).fit(one, InOrder(layout="ring", n_samples=2048, batch_size=64))
    two = keyed_gan(max_iterations=5, d_steps_per_g_step=2, accumulate_grad_batches=2)
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(two, InOrder(layout="ring", n_samples=2048, batch_size=32))
    assert two.iteration == 5 and trainer.global_step == 5 * 3  # optimizer steps: k D + 1 G
    assert trainer.fit_loop.epoch_loop.batch_progress.current.completed == 5 * 2 * 2  # k·N per iteration
    difference = max(
        (a - b).abs().max().item() for a, b in zip(one.parameters(), two.parameters(), strict=True)
    )
    assert difference < 1e-6


@pytest.mark.parametrize("algorithm", ["norm", "value"])
def test_gradients_are_clipped_per_network(algorithm):
    # SGD with lr 1 and no momentum: the update is -g, so the clipped gradient can be read off it.
    torch.manual_seed(0)
    gan = tiny_gan(
        d_gradient_clip_val=1e-3,
        gradient_clip_algorithm=algorithm,
        g_optimizer=partial(torch.optim.SGD, lr=1.0),
        d_optimizer=partial(torch.optim.SGD, lr=1.0),
        max_iterations=1,
    )
    g_before, d_before = snapshot(gan.generator), snapshot(gan.discriminator)
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    d_update = torch.cat([(d_before[k] - v).flatten() for k, v in gan.discriminator.state_dict().items()])
    g_update = torch.cat([(g_before[k] - v).flatten() for k, v in gan.generator.state_dict().items()])
    measure = torch.linalg.vector_norm if algorithm == "norm" else lambda u: u.abs().max()
    assert measure(d_update).item() == pytest.approx(1e-3, rel=1e-4)  # ‖g‖ > c, so rescaled to c
    assert measure(g_update).item() > 2e-3  # G is not clipped


def test_clipping_under_a_grad_scaler_acts_on_unscaled_gradients():
    # Clipping scaled gradients to c would leave c / scale after unscaling (1e-3 / 1024 here).
    gan = tiny_gan(
        d_gradient_clip_val=1e-3,
        d_optimizer=partial(torch.optim.SGD, lr=1.0),
        max_iterations=1,
    )
    d_before = snapshot(gan.discriminator)
    quiet_trainer(limit_val_batches=0, plugins=[fp16_scaler_plugin()]).fit(gan, tiny_mixture())
    d_update = torch.cat([(d_before[k] - v).flatten() for k, v in gan.discriminator.state_dict().items()])
    assert d_update.norm().item() == pytest.approx(1e-3, rel=1e-3)


def tiny_gradient_d() -> nn.Module:
    """D(x) = w₂ᵀ W₁ x with weights 1e-4: ∇ₓD = W₁ᵀw₂ = 1e-8 per input, below float16's smallest value."""
    d = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False))
    nn.init.constant_(d[0].weight, 1e-4)
    nn.init.constant_(d[1].weight, 1e-4)
    return d


def test_input_gradients_scale_and_unscale():
    d, x = tiny_gradient_d(), torch.randn(5, 2)
    exact = input_gradients(d, x)
    assert torch.allclose(exact, torch.full((5, 2), 2e-8), rtol=1e-5)
    # Scale 2^16: multiplying the logits and dividing the gradients by a power of two is exact in fp32.
    assert torch.equal(input_gradients(ScaledScorer(d, 2.0**16), x), exact)
    with torch.autocast("cpu", dtype=torch.float16):
        underflowed = input_gradients(d, x)
        scaled = input_gradients(ScaledScorer(d, 2.0**14), x)  # 2^16 itself overflows float16
    assert torch.all(underflowed == 0)  # the float16 backward loses a 1e-8 gradient entirely...
    assert torch.allclose(scaled, exact, rtol=2e-2)  # ...and keeps it when the logits are scaled


class ScaleProbe(R1Penalty):
    """R1 that records the loss scale it was given alongside the scaler's."""

    def penalty(self, discriminate, real, fake):
        self.seen.append((discriminate.grad_scale, self.scaler.get_scale()))
        return super().penalty(discriminate, real, fake)


def test_penalties_receive_the_grad_scalers_scale_and_scaler_state_is_checkpointed(tmp_path):
    probe = ScaleProbe(gamma=1.0)
    probe.seen = []
    plugin = fp16_scaler_plugin(init_scale=2.0**10)
    probe.scaler = plugin.scaler
    gan = tiny_gan(regularizers=[probe, GradientPenalty(weight=1.0)], max_iterations=3)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="last")
    trainer = quiet_trainer(
        limit_val_batches=0, plugins=[plugin], callbacks=[checkpoint], enable_checkpointing=True
    )
    trainer.fit(gan, tiny_mixture())
    assert len(probe.seen) == 3 and all(given == actual for given, actual in probe.seen)
    assert probe.seen[0][0] == 2.0**10
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["MixedPrecision"]["scale"] == plugin.scaler.get_scale()


class InfAt(Regularizer):
    """Adds +inf to D's loss on one D update: its gradients become non-finite there."""

    name = "inf_probe"

    def __init__(self, update: int) -> None:
        super().__init__()
        self.update, self.count = update, -1

    def penalty(self, discriminate, real, fake):
        self.count += 1
        return discriminate(real).sum() * float("inf") if self.count == self.update else None


def test_update_skipped_by_the_grad_scaler_does_not_advance_its_schedule():
    decay = partial(LinearDecay, start=0, end=10)
    gan = tiny_gan(regularizers=[InfAt(update=2)], g_scheduler=decay, d_scheduler=decay, max_iterations=4)
    plugin = fp16_scaler_plugin(init_scale=2.0**10)
    quiet_trainer(limit_val_batches=0, plugins=[plugin]).fit(gan, tiny_mixture())
    g_schedule, d_schedule = gan.lr_schedulers()
    assert g_schedule.last_epoch == 4  # every G update was applied
    assert d_schedule.last_epoch == 3  # D's third update was skipped for inf gradients
    assert plugin.scaler.get_scale() == 2.0**9  # backed off once
    assert all(torch.isfinite(p).all() for p in gan.parameters())


def test_schedules_can_step_per_epoch():
    decay = partial(LinearDecay, start=0, end=10)
    gan = tiny_gan(g_scheduler=decay, d_scheduler=decay, scheduler_interval="epoch", max_iterations=16)
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())  # 512 rows / 64 = 8 iterations per epoch
    assert [schedule.last_epoch for schedule in gan.lr_schedulers()] == [2, 2]


LOSSES = [
    losses.MinimaxLoss,
    losses.NonSaturatingLoss,
    losses.LeastSquaresLoss,
    losses.WassersteinLoss,
    losses.HingeLoss,
    losses.RelativisticAverageLoss,
]
REGULARIZERS = [
    partial(GradientPenalty, weight=1.0),
    partial(R1Penalty, gamma=1.0),
    partial(R2Penalty, gamma=1.0),
    partial(WeightClipping, clip=0.05),
]


@pytest.mark.parametrize(
    "loss, regularizer",
    [(loss, None) for loss in LOSSES]
    + [(losses.NonSaturatingLoss, regularizer) for regularizer in REGULARIZERS],
)
def test_bf16_mixed_trains_every_loss_and_regularizer(loss, regularizer):
    gan = tiny_gan(loss=loss(), regularizers=[regularizer()] if regularizer else None, max_iterations=4)
    dtypes = set()
    record = lambda module, args, out: dtypes.add(out.dtype)  # noqa: E731
    hook_in_training = LambdaCallback(
        on_train_start=lambda *_: gan.discriminator.net[0].register_forward_hook(record)
    )
    g_before, d_before = snapshot(gan.generator), snapshot(gan.discriminator)
    trainer = quiet_trainer(
        limit_val_batches=0, precision="bf16-mixed", log_every_n_steps=2, callbacks=[hook_in_training]
    )
    trainer.fit(gan, tiny_mixture())
    assert dtypes == {torch.bfloat16}  # D really ran under bfloat16 autocast
    assert changed(g_before, gan.generator) and changed(d_before, gan.discriminator)
    assert all(torch.isfinite(p).all() for p in gan.parameters())
    logged = trainer.callback_metrics
    assert torch.isfinite(logged["train/d_loss"]) and torch.isfinite(logged["train/g_loss"])
    if regularizer is not None and regularizer.func is not WeightClipping:
        assert torch.isfinite(logged[f"train/{regularizer.func.name}"])


def test_cli_moves_trainer_clipping_and_accumulation_to_the_model():
    args = ["--config", str(default_config()), "--trainer.gradient_clip_val=0.5"]
    args += ["--trainer.gradient_clip_algorithm=value", "--trainer.accumulate_grad_batches=2"]
    cli = GANCLI([*args, "--model.init_args.d_gradient_clip_val=2"], run=False)
    assert cli.model.guard.clip == {"generator": 0.5, "discriminator": 2.0}
    assert cli.model.guard.algorithm == "value" and cli.model.clock.accumulate == 2
    assert cli.trainer.gradient_clip_val is None and cli.trainer.accumulate_grad_batches == 1


def test_cli_rejects_conflicting_accumulation():
    args = ["--config", str(default_config()), "--trainer.accumulate_grad_batches=2"]
    with pytest.raises(
        ValueError, match="accumulate_grad_batches=2 and model accumulate_grad_batches=3 disagree"
    ):
        GANCLI([*args, "--model.init_args.accumulate_grad_batches=3"], run=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"accumulate_grad_batches": 0}, "accumulate_grad_batches must be >= 1"),
        ({"g_gradient_clip_val": 0.0}, "g_gradient_clip_val must be > 0"),
        ({"gradient_clip_algorithm": "max"}, "'norm' or 'value'"),
        ({"scheduler_interval": "step"}, "'iteration' or 'epoch'"),
    ],
)
def test_bad_optimization_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_gan(**kwargs)
