import csv
from functools import partial
from pathlib import Path

import pytest
import torch
from lightning import Callback
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from lightning_gan import GAN
from lightning_gan.losses import MinimaxLoss
from lightning_gan.metrics import mode_coverage
from lightning_gan.nets import MLPDiscriminator, MLPGenerator
from lightning_gan.regularizers import R1Penalty
from lightning_gan.training import checks
from tests.helpers import changed, quiet_trainer, snapshot, tiny_gan, tiny_mixture


class Recorder(GAN):
    """Records, inside each phase, which parameters require grad."""

    def discriminator_loss(self, real, fake, batch):
        self.seen.append(("d", self._flags()))
        return super().discriminator_loss(real, fake, batch)

    def generator_loss(self, fake, batch):
        self.seen.append(("g", self._flags()))
        self.d_before_g_step = snapshot(self.discriminator)
        self.d_grads_before_g_step = [p.grad.clone() for p in self.discriminator.parameters()]
        return super().generator_loss(fake, batch)

    def _flags(self):
        return (
            {p.requires_grad for p in self.generator.parameters()},
            {p.requires_grad for p in self.discriminator.parameters()},
        )


def make_recorder(**kwargs):
    gan = tiny_gan(Recorder, **kwargs)
    gan.seen = []
    return gan


def test_each_phase_freezes_the_other_net_and_flags_are_restored():
    gan = make_recorder()
    gan.generator.net[0].bias.requires_grad_(False)  # a user-frozen parameter must stay frozen
    quiet_trainer(max_steps=4, limit_val_batches=0).fit(gan, tiny_mixture())
    assert [phase for phase, _ in gan.seen] == ["d", "g", "d", "g"]
    for phase, (g_flags, d_flags) in gan.seen:
        if phase == "d":
            assert g_flags == {False} and d_flags == {True}
        else:
            assert g_flags == {True, False} and d_flags == {False}  # the user's frozen bias stays frozen
    assert not gan.generator.net[0].bias.requires_grad
    assert all(
        p.requires_grad for p in gan.generator.net[0:].parameters() if p is not gan.generator.net[0].bias
    )
    assert all(p.requires_grad for p in gan.discriminator.parameters())


def test_d_phase_changes_only_d_and_g_phase_changes_only_g():
    gan = make_recorder(d_steps_per_g_step=2)
    g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
    quiet_trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0).fit(gan, tiny_mixture())
    assert changed(d0, gan.discriminator) and not changed(g0, gan.generator)  # one D step, no G step yet

    gan = make_recorder()
    g0 = snapshot(gan.generator)
    quiet_trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0).fit(gan, tiny_mixture())
    assert changed(g0, gan.generator)
    assert not changed(gan.d_before_g_step, gan.discriminator)  # the G step left D untouched
    after = [p.grad for p in gan.discriminator.parameters()]
    assert all(
        torch.equal(a, b) for a, b in zip(gan.d_grads_before_g_step, after, strict=True)
    )  # G's backward left D's grads alone


@pytest.mark.parametrize("k", [1, 3])
def test_k_d_steps_per_g_step_and_iteration_units(k):
    gan = tiny_gan(d_steps_per_g_step=k, max_iterations=4)
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(gan, tiny_mixture())
    opt_g, opt_d = trainer.optimizers
    g_steps = {int(s["step"]) for s in opt_g.state.values()}
    d_steps = {int(s["step"]) for s in opt_d.state.values()}
    assert g_steps == {4} and d_steps == {4 * k}
    assert gan.iteration == 4 and gan.clock.d_steps == 0
    assert trainer.global_step == 4 * (k + 1)  # Lightning counts every optimizer step


def test_each_d_step_gets_its_own_real_batch():
    class Batches(GAN):
        def discriminator_loss(self, real, fake, batch):
            self.reals.append(real.clone())
            return super().discriminator_loss(real, fake, batch)

    gan = tiny_gan(Batches, d_steps_per_g_step=2, max_iterations=2)
    gan.reals = []
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    assert len(gan.reals) == 4
    assert all(not torch.equal(a, b) for i, a in enumerate(gan.reals) for b in gan.reals[i + 1 :])


def test_fakes_for_d_are_detached():
    class Probe(GAN):
        def discriminator_loss(self, real, fake, batch):
            self.fake_grad_fn = fake.grad_fn
            return super().discriminator_loss(real, fake, batch)

    gan = tiny_gan(Probe, max_iterations=1)
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    assert gan.fake_grad_fn is None


def test_subclass_overriding_one_hook_trains():
    class UniformLatent(GAN):
        """Uniform noise in [-1, 1] instead of Gaussian."""

        def sample_latent(self, n):
            self.calls = getattr(self, "calls", 0) + 1
            return torch.rand(n, self.latent_dim, device=self.device) * 2 - 1

    gan = tiny_gan(UniformLatent, loss=MinimaxLoss(), max_iterations=5)
    g0 = snapshot(gan.generator)
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    assert gan.iteration == 5 and changed(g0, gan.generator)
    assert gan.calls >= 10  # one draw per D step and per G step (plus the dry pass)
    assert gan.sample(7).shape == (7, 2)


class RecordingGAN(GAN):
    """Keeps every step's loss values, to compare the logged window means against."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.steps: dict[str, list[float]] = {}

    def discriminator_loss(self, real, fake, batch):
        return self.keep(super().discriminator_loss(real, fake, batch))

    def generator_loss(self, fake, batch):
        return self.keep(super().generator_loss(fake, batch))

    def keep(self, out):
        for key, value in out.items():
            self.steps.setdefault(key, []).append(float(value))
        return out


class GradientNorms(Callback):
    """The L2 norm of all of G's and of D's gradients at each of their optimizer steps."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.norms = {"g": [], "d": []}
        for name, optimizer in zip(("g", "d"), trainer.optimizers, strict=True):
            optimizer.register_step_pre_hook(partial(self.record, self.norms[name]))

    @staticmethod
    def record(norms, optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))


def test_logging_window_means_and_one_x_axis(tmp_path):
    gan = tiny_gan(RecordingGAN, max_iterations=12, d_steps_per_g_step=2)
    logger = CSVLogger(tmp_path, name="csv")
    norms = GradientNorms()
    trainer = quiet_trainer(
        logger=logger,
        log_every_n_steps=4,
        val_check_interval=6,
        check_val_every_n_epoch=None,
        callbacks=[norms],
    )
    trainer.fit(gan, tiny_mixture())
    rows = list(csv.DictReader(open(Path(logger.log_dir) / "metrics.csv")))
    train_steps = sorted({int(r["step"]) for r in rows if r.get("train/d_loss")})
    val_steps = sorted({int(r["step"]) for r in rows if r.get("val/modes")})
    assert train_steps == [4, 8, 12]  # iterations, not Lightning's optimizer steps (36)
    assert val_steps == [3, 6, 9, 12]  # val_check_interval=6 counts batches: k = 2 per iteration
    # Each window's value is the mean of its steps: k = 2 D steps per iteration, one G step.
    logged = {int(r["step"]): r for r in rows if r.get("train/d_loss")}
    for window, step in enumerate(train_steps):
        for key, per_iteration in (("d_loss", 2), ("d_real", 2), ("d_fake", 2), ("g_loss", 1)):
            steps = gan.steps[key][window * 4 * per_iteration : (window + 1) * 4 * per_iteration]
            assert float(logged[step][f"train/{key}"]) == pytest.approx(sum(steps) / len(steps), rel=1e-5)
        # Gradient norms: those of the window's last updates (the last of its iteration's k D updates).
        assert float(logged[step]["train/grad_norm_d"]) == pytest.approx(
            norms.norms["d"][2 * step - 1], rel=1e-5
        )
        assert float(logged[step]["train/grad_norm_g"]) == pytest.approx(norms.norms["g"][step - 1], rel=1e-5)
    assert "train/d_loss" in trainer.callback_metrics and "val/reverse_kl" in trainer.callback_metrics


class Probe(GAN):
    """Logs ``train/probe`` = 1, 2, 3, ... at its G steps, so every window mean is known exactly."""

    def generator_loss(self, fake, batch):
        out = super().generator_loss(fake, batch)
        self.count = getattr(self, "count", 0) + 1
        return out | {"probe": torch.tensor(float(self.count))}


def test_logged_values_are_window_means():
    class Sink(CSVLogger):
        pass

    gan = tiny_gan(Probe, max_iterations=8)
    trainer = quiet_trainer(logger=Sink("."), log_every_n_steps=4, limit_val_batches=0)
    trainer.fit(gan, tiny_mixture())
    rows = list(csv.DictReader(open(Path(trainer.logger.log_dir) / "metrics.csv")))
    probes = [float(r["train/probe"]) for r in rows if r.get("train/probe")]
    assert probes == [2.5, 6.5]  # mean(1..4), mean(5..8)


@pytest.mark.parametrize(("mode", "best"), [("min", 2.5), ("max", 6.5)])
def test_checkpoint_monitors_see_the_window_means(tmp_path, mode, best):
    gan = tiny_gan(Probe, max_iterations=8)
    # Windows close at iterations 4 and 8, i.e. at optimizer steps 8 and 16 (G and D each step).
    ckpt = ModelCheckpoint(dirpath=tmp_path, monitor="train/probe", mode=mode, every_n_train_steps=8)
    trainer = quiet_trainer(
        log_every_n_steps=4, limit_val_batches=0, enable_checkpointing=True, callbacks=[ckpt]
    )
    trainer.fit(gan, tiny_mixture())
    assert float(ckpt.best_model_score) == best  # mean(1..4) = 2.5, mean(5..8) = 6.5
    assert float(trainer.callback_metrics["train/probe"]) == 6.5
    assert trainer.progress_bar_metrics["train/d_loss"] == pytest.approx(
        float(trainer.callback_metrics["train/d_loss"])
    )


def test_checkpoint_round_trip_python_built(tmp_path):
    gan = tiny_gan(d_steps_per_g_step=2, max_iterations=3)
    ckpt = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    quiet_trainer(limit_val_batches=0, enable_checkpointing=True, callbacks=[ckpt]).fit(gan, tiny_mixture())
    loaded = GAN.load_from_checkpoint(tmp_path / "last.ckpt", weights_only=False)
    assert not changed(snapshot(gan.generator), loaded.generator)
    assert not changed(snapshot(gan.discriminator), loaded.discriminator)
    assert loaded.iteration == 3 and loaded.clock.k == 2
    z = torch.randn(5, 4)
    assert torch.equal(loaded.sample(5, z=z), gan.sample(5, z=z))


def test_sample_uses_eval_mode_and_restores_it():
    class BNGen(nn.Module):
        latent_dim = 3

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))

        def forward(self, z):
            return self.net(z)

    gan = GAN(BNGen(), MLPDiscriminator())
    stats = gan.generator.net[1].running_mean.clone()
    gan.sample(16)
    assert torch.equal(stats, gan.generator.net[1].running_mean) and gan.generator.training


def test_generator_without_latent_dim_is_rejected():
    with pytest.raises(ValueError) as raised:
        GAN(nn.Linear(2, 2), MLPDiscriminator())
    assert str(raised.value) == (
        "the generator (Linear) must expose an integer attribute latent_dim >= 1 "
        "(the size of z in (N, latent_dim)), got None"
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"d_steps_per_g_step": 0}, "d_steps_per_g_step"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"regularizers": [R1Penalty(gamma=1), R1Penalty(gamma=2)]}, "distinct names"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_gan(**kwargs)


def test_shape_mismatch_names_the_shapes():
    gan = GAN(MLPGenerator(latent_dim=4, out_features=3), MLPDiscriminator(in_features=3))
    with pytest.raises(ValueError, match=r"z \(2, 4\) → G\(z\) \(2, 3\); one data sample has shape \(2,\)"):
        quiet_trainer(max_steps=2).fit(gan, tiny_mixture())


def test_discriminator_rejecting_g_output():
    gan = GAN(MLPGenerator(latent_dim=4), MLPDiscriminator(in_features=3))
    with pytest.raises(ValueError, match="the discriminator cannot take the generator's output"):
        checks.check_shapes(gan, (2,))


def test_discriminator_output_shape_checked():
    class Wide(nn.Module):
        def forward(self, x):
            return x  # (N, 2): not logits

    with pytest.raises(ValueError, match=r"logits of shape \(N,\) or \(N, 1\).*D \(2, 2\)"):
        checks.check_shapes(GAN(MLPGenerator(), Wide()), (2,))


def test_test_and_predict_subcommands(tmp_path):
    gan = tiny_gan(max_iterations=2)
    dm = tiny_mixture()
    logger = CSVLogger(tmp_path, name="csv")
    trainer = quiet_trainer(logger=logger, limit_val_batches=0)
    trainer.fit(gan, dm)
    evaluator = quiet_trainer()  # the fit's trainer skips validation (limit_val_batches=0)
    evaluator.validate(gan, dm)
    validated = {k: v for k, v in evaluator.callback_metrics.items() if k.startswith("val/")}
    trainer.test(gan, dm)
    tested = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
    # test reports what validate does on the same held-out split under the same evaluation seed.
    assert tested == {key.replace("val/", "test/"): value for key, value in validated.items()}
    assert set(tested) >= {"test/modes", "test/high_quality", "test/reverse_kl", "test/d_real", "test/d_fake"}
    rows = list(csv.DictReader(open(Path(logger.log_dir) / "metrics.csv")))
    assert [int(r["step"]) for r in rows if r.get("test/d_real")] == [2]
    predictions = trainer.predict(gan, dm)
    assert torch.cat(predictions).shape == (200, 2)  # as many samples as the held-out split


def test_window_resets_and_progress_bar_without_a_logger():
    gan = tiny_gan(max_iterations=8)
    trainer = quiet_trainer(log_every_n_steps=4, limit_val_batches=0)  # logger=False
    trainer.fit(gan, tiny_mixture())
    assert "train/d_loss" in trainer.progress_bar_metrics
    assert (
        gan.window.sums == {} and gan.window.counts == {}
    )  # the window closed at iteration 8 and was emptied


def test_schedulers_step_once_per_iteration():
    from functools import partial

    from lightning_gan.schedules import LinearDecay

    decay = partial(LinearDecay, start=0, end=10)
    gan = tiny_gan(g_scheduler=decay, d_scheduler=decay, d_steps_per_g_step=3, max_iterations=4)
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    g_opt, d_opt = gan.optimizers()
    # 4 iterations (12 D steps, 4 G steps): both learning rates are at 1 - 4/10 of the base.
    assert g_opt.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.6)
    assert d_opt.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.6)


def test_reduce_on_plateau_is_rejected():
    from functools import partial

    gan = tiny_gan(g_scheduler=partial(torch.optim.lr_scheduler.ReduceLROnPlateau), max_iterations=2)
    with pytest.raises(ValueError) as raised:
        quiet_trainer().fit(gan, tiny_mixture())
    assert str(raised.value) == (
        "GAN steps learning-rate schedules once per iteration without a metric; ReduceLROnPlateau is not "
        "supported; use a step-based one (LinearLR, CosineAnnealingLR, LinearDecay)"
    )


def test_a_fit_checks_g_against_the_data_before_the_first_step():
    gan = GAN(MLPGenerator(latent_dim=4, out_features=3), MLPDiscriminator(in_features=3), max_iterations=2)
    with pytest.raises(ValueError) as raised:
        quiet_trainer().fit(gan, tiny_mixture())
    assert str(raised.value) == (
        "generator output does not match the data: z (2, 4) → G(z) (2, 3); one data sample has shape "
        "(2,); make G emit (N, *(2,))"
    )
    assert gan.iteration == 0


def test_validation_measures_g_samples_drawn_from_the_evaluation_seed():
    gan = tiny_gan(max_iterations=3)
    dm = tiny_mixture()  # 200 held-out points in batches of 100
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(gan, dm)
    evaluator = quiet_trainer()  # the fit's trainer skips validation (limit_val_batches=0)
    evaluator.validate(gan, dm)
    validated = {k: float(v) for k, v in evaluator.callback_metrics.items() if k.startswith("val/")}
    # The reference, computed apart from the module: G's samples (no EMA here) from latents drawn,
    # one validation batch at a time, from the evaluation seed; the held-out reals play no part.
    torch.manual_seed(gan.run_state.evaluation_seed)
    z = torch.cat([torch.randn(100, gan.latent_dim), torch.randn(100, gan.latent_dim)])
    with torch.no_grad():
        expected = mode_coverage(gan.generator.eval()(z), dm.centers, dm.std)
    assert validated["val/modes"] == expected["modes"].item()
    assert validated["val/high_quality"] == pytest.approx(expected["high_quality"].item(), abs=1e-7)
    assert validated["val/reverse_kl"] == pytest.approx(expected["reverse_kl"].item(), rel=1e-6, abs=1e-7)
    assert validated["val/high_quality"] != pytest.approx(
        mode_coverage(torch.cat([b[0] for b in dm.val_dataloader()]), dm.centers, dm.std)[
            "high_quality"
        ].item()
    )


def test_iterations_the_loggers_hold_from_before_a_resume_are_not_logged_again(tmp_path):
    class AsIfResumed(Callback):
        """As if W&B already held iterations up to 2 (what ``logged_before_resume`` reads at fit start)."""

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            pl_module.logged_before_resume = 2

    gan = tiny_gan(max_iterations=6)
    logger = CSVLogger(tmp_path, name="csv")
    quiet_trainer(logger=logger, log_every_n_steps=2, limit_val_batches=0, callbacks=[AsIfResumed()]).fit(
        gan, tiny_mixture()
    )
    rows = list(csv.DictReader(open(Path(logger.log_dir) / "metrics.csv")))
    assert sorted({int(r["step"]) for r in rows if r.get("train/d_loss")}) == [4, 6]  # 2 is held already


def test_default_optimizers_are_dcgans_adam():
    gan = tiny_gan()
    g_optimizer, d_optimizer = gan.configure_optimizers()[0]
    for optimizer in (g_optimizer, d_optimizer):
        assert type(optimizer) is torch.optim.Adam
        group = optimizer.param_groups[0]
        assert (group["lr"], group["betas"]) == (2e-4, (0.5, 0.999))  # Radford et al. 2016


def test_each_validation_prints_its_values_at_the_iteration(capsys):
    gan = tiny_gan(max_iterations=4)
    trainer = quiet_trainer(val_check_interval=2, check_val_every_n_epoch=None, num_sanity_val_steps=0)
    trainer.fit(gan, tiny_mixture())
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("iteration ")]
    assert [line.split(":")[0] for line in lines] == ["iteration 2", "iteration 4"]
    printed = dict(pair.split("=") for pair in lines[-1].split(": ", 1)[1].split(" "))
    assert set(printed) == {k for k in trainer.callback_metrics if k.startswith("val/")}
    for key, value in printed.items():
        assert float(value) == pytest.approx(float(trainer.callback_metrics[key]), rel=1e-3), key


def test_a_fit_shows_the_losses_and_d_scores_in_the_progress_bar_and_takes_one_d_forward():
    gan = tiny_gan(max_iterations=2)
    sizes: list[int] = []
    gan.discriminator.register_forward_hook(lambda _m, args, _out: sizes.append(args[0].shape[0]))
    trainer = quiet_trainer(limit_val_batches=0, log_every_n_steps=1)
    trainer.fit(gan, tiny_mixture())
    # The setup dry run scores 2 samples; each iteration then scores 64 reals and 64 fakes in one
    # D forward for D's step and 64 fakes for G's.
    assert sizes == [2, 128, 64, 128, 64]
    assert set(trainer.progress_bar_metrics) == {
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
    }


def test_a_fit_resumed_at_max_iterations_stops_at_once(tmp_path):
    gan = tiny_gan(max_iterations=2)
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(gan, tiny_mixture())
    trainer.save_checkpoint(tmp_path / "done.ckpt")
    again = tiny_gan(max_iterations=2)
    resumed = quiet_trainer(limit_val_batches=0, max_epochs=-1)
    resumed.fit(again, tiny_mixture(), ckpt_path=tmp_path / "done.ckpt", weights_only=False)
    assert again.iteration == 2 and resumed.global_step == trainer.global_step
    for key, value in snapshot(gan).items():
        assert torch.equal(snapshot(again)[key], value), key


def test_a_batch_that_is_a_tensor_is_the_reals():
    reals = torch.randn(4, 2)
    assert tiny_gan().real_from_batch(reals) is reals
    assert tiny_gan().real_from_batch((reals, torch.zeros(4))) is reals


def test_each_update_uses_only_its_own_gradient():
    """``zero_grad`` before each backward: with frozen weights (lr 0), a constant G and one real batch,
    every D update sees the same gradient, and so does G's output bias (a missed ``zero_grad`` doubles it)."""

    class Grads(GAN):
        seen: list

        def on_before_optimizer_step(self, optimizer):
            super().on_before_optimizer_step(optimizer)
            self.seen.append([p.grad.clone() for group in optimizer.param_groups for p in group["params"]])

    torch.manual_seed(0)
    sgd = partial(torch.optim.SGD, lr=0.0)
    gan = tiny_gan(Grads, g_optimizer=sgd, d_optimizer=sgd, max_iterations=3)
    gan.seen = []
    with torch.no_grad():
        [m for m in gan.generator.modules() if isinstance(m, nn.Linear)][-1].weight.zero_()  # G(z) = bias
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2)), batch_size=8)
    quiet_trainer(limit_val_batches=0).fit(gan, train_dataloaders=loader)
    g_steps, d_steps = gan.seen[1::2], gan.seen[0::2]  # D's update, then G's, each iteration
    assert len(d_steps) == len(g_steps) == 3
    g_bias = [grads[-1] for grads in g_steps]  # d g_loss / d b depends only on D at the constant G(z) = b
    for steps in (d_steps, [[bias] for bias in g_bias]):
        for later in steps[1:]:
            assert all(torch.equal(a, b) for a, b in zip(steps[0], later, strict=True))
        assert all(g.abs().sum() > 0 for g in steps[0])
