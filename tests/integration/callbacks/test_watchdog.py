"""HealthWatchdog: failures injected into a fit are detected, rolled back and recovered from."""

import functools
import warnings

import pytest
import torch
import wandb
from lightning import Callback
from lightning.pytorch.loggers import WandbLogger
from torch import nn
from wandb.sdk.wandb_run import Run

from lightning_gan.callbacks import HealthWatchdog
from tests.helpers import inspect_wandb_run, quiet_trainer, snapshot, tiny_gan, tiny_mixture

LR = 1e-3
INJECT_AT = 200  # the failure starts in iteration 201; the window ending at 210 shows it


class Inject(Callback):
    """Breaks the fit once, at the start of iteration ``at + 1``."""

    def __init__(self, how: str, at: int = INJECT_AT) -> None:
        self.how, self.at, self.done = how, at, False

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if pl_module.iteration != self.at or self.done:
            return
        self.done = True
        with torch.no_grad():
            if self.how == "d_lr":  # a D learning rate 1000× too high
                trainer.optimizers[1].param_groups[0]["lr"] = 1.0
            elif self.how == "nan":  # one NaN weight in D: every gradient non-finite from now on
                next(pl_module.discriminator.parameters())[0, 0] = float("nan")
            elif self.how == "collapse":  # G's output layer zeroed: every sample is its bias
                [*linears] = (m for m in pl_module.generator.modules() if isinstance(m, nn.Linear))
                linears[-1].weight.zero_()
            elif self.how == "saturate":  # G stops learning 10 away from the data; D learns 10× faster
                [*linears] = (m for m in pl_module.generator.modules() if isinstance(m, nn.Linear))
                linears[-1].bias += 10.0
                trainer.optimizers[0].param_groups[0]["lr"] = 0.0
                trainer.optimizers[1].param_groups[0]["lr"] = 10 * LR


class Record(Callback):
    """After the watchdog: the networks at each logging window, and every window's train values."""

    def __init__(self) -> None:
        self.weights, self.windows, self.last = {}, {}, -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.iteration % trainer.log_every_n_steps or pl_module.iteration == self.last:
            return
        self.last = pl_module.iteration
        self.weights[self.last] = snapshot(pl_module)
        self.windows[self.last] = {k: float(v) for k, v in trainer.callback_metrics.items()}


def fit(
    watchdog: HealthWatchdog | None,
    inject: str | None = None,
    iterations: int = 300,
    logger=False,
    extra=(),
    at: int = INJECT_AT,
):
    torch.manual_seed(0)
    adam = functools.partial(torch.optim.Adam, lr=LR, betas=(0.5, 0.999))
    gan = tiny_gan(g_optimizer=adam, d_optimizer=adam, max_iterations=iterations)
    record = Record()
    callbacks = [*([Inject(inject, at)] if inject else []), *([watchdog] if watchdog else []), record, *extra]
    trainer = quiet_trainer(callbacks=callbacks, log_every_n_steps=10, limit_val_batches=0, logger=logger)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(gan, tiny_mixture(layout="grid"))
    warned = [str(w.message) for w in caught if "HealthWatchdog" in str(w.message)]
    return gan, trainer, record, warned


@pytest.mark.parametrize(
    ("inject", "signals"),
    [
        ("d_lr", ["grad_norm", "grad_norm"]),
        ("nan", ["grad_norm", "grad_norm", "skipped_steps"]),
        ("collapse", ["diversity"]),
    ],
)
def test_an_injected_failure_is_detected_rolled_back_and_recovered(inject, signals):
    watchdog = HealthWatchdog(rollback=True, snapshot_every=50)
    gan, trainer, record, warned = fit(watchdog, inject)
    # Detected in the first window that holds the failure, and nowhere else.
    assert [(i, p.signal) for i, p in watchdog.problems] == [(210, s) for s in signals]
    assert watchdog.rollbacks == 1 and len(warned) == 1
    # Restored: the snapshot of 160 (taken at 160, confirmed at 170; 210's candidate never was).
    assert "iteration 210" in warned[0] and "rolled back to iteration 160" in warned[0]
    for key, value in record.weights[210].items():
        assert torch.equal(value, record.weights[160][key]), key
    # Recovered: lowered learning rates, healthy windows to the end, the losses of before.
    assert [group["lr"] for opt in trainer.optimizers for group in opt.param_groups] == [LR / 2, LR / 2]
    assert all(window["health/problems"] == 0 for i, window in record.windows.items() if i != 210)
    assert record.windows[300]["health/rollbacks"] == 1
    assert abs(record.windows[300]["train/d_loss"] - record.windows[200]["train/d_loss"]) < 0.5
    assert torch.isfinite(gan.sample(64)).all() and gan.iteration == 300


@pytest.mark.slow
def test_a_slowly_saturating_d_is_rolled_back_past_the_restore_point_that_already_held_it():
    # Injected after iteration 220 (just past the restore point 210, confirmed at 220), D needs about
    # a hundred iterations to win outright, so the restore point taken meanwhile already holds the trouble.
    watchdog = HealthWatchdog(rollback=True, snapshot_every=100)
    _, trainer, record, warned = fit(watchdog, "saturate", iterations=420, at=220)
    (first, saturated), (second, again) = watchdog.problems
    assert saturated.signal == again.signal == "saturation" and len(warned) == 2
    newest = max(
        c for c in range(10, first, 100) if c + 10 < first
    )  # taken at 10, 110, ...; confirmed 10 later
    assert 220 < newest < first < second
    assert f"iteration {first}: D saturated" in warned[0]
    assert f"rolled back to iteration {newest} with learning rates × 0.5 (rollback 1 of 3)" in warned[0]
    # The trouble came back before a new restore point: back to the one before, rates × 0.5 once more.
    assert "rolled back to iteration 210 with learning rates × 0.25 (rollback 2 of 3)" in warned[1]
    for key, value in record.weights[second].items():
        assert torch.equal(value, record.weights[210][key]), key
    assert [group["lr"] for opt in trainer.optimizers for group in opt.param_groups] == [LR / 4, LR / 4]
    assert all(window["health/problems"] == 0 for i, window in record.windows.items() if i > second)
    assert record.windows[420]["train/d_real"] < 0.9 and record.windows[420]["train/d_fake"] > 0.1


def test_warn_only_reports_the_failure_and_changes_nothing_else():
    watchdog = HealthWatchdog(rollback=False)
    _, _, record, warned = fit(watchdog, "collapse", iterations=220)
    _, _, unwatched, _ = fit(None, "collapse", iterations=220)
    assert [(i, p.signal) for i, p in watchdog.problems] == [(210, "diversity"), (220, "diversity")]
    assert len(warned) == 2 and "warning only (rollback=False)" in warned[0]
    for key, value in record.weights[220].items():
        assert torch.equal(value, unwatched.weights[220][key]), key


def test_a_watchdog_that_finds_nothing_changes_no_number_of_the_fit():
    watchdog = HealthWatchdog(rollback=True, snapshot_every=10)  # a snapshot and a probe every window
    _, _, watched, _ = fit(watchdog, iterations=120)
    _, _, unwatched, _ = fit(None, iterations=120)
    assert watchdog.problems == [] and watchdog.snapshot.iteration == 110
    for iteration, weights in unwatched.weights.items():
        for key, value in weights.items():
            assert torch.equal(watched.weights[iteration][key], value), (iteration, key)


class FakeValidationMetric(Callback):
    """Puts ``val/score`` into the callback metrics at every validation: 1, 1, then 10 (a regression)."""

    def __init__(self) -> None:
        self.values = iter([1.0, 1.0, 10.0, 1.0])

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        trainer.callback_metrics["val/score"] = torch.tensor(next(self.values))


def test_a_validation_metric_regressing_past_the_tolerance_rolls_back():
    watchdog = HealthWatchdog(rollback=True, snapshot_every=10, metric="val/score", mode="min", tolerance=0.5)
    torch.manual_seed(0)
    gan = tiny_gan(max_iterations=40)
    trainer = quiet_trainer(
        callbacks=[watchdog, FakeValidationMetric()],
        log_every_n_steps=10,
        val_check_interval=10,
        check_val_every_n_epoch=None,
        limit_val_batches=1,
    )
    with pytest.warns(
        UserWarning, match=r"iteration 30: val/score regressed to 10 \(best 1, limit 1.5\); rolled back"
    ):
        trainer.fit(gan, tiny_mixture(layout="grid"))
    assert [(i, p.signal) for i, p in watchdog.problems] == [(30, "metric")] and watchdog.rollbacks == 1


@pytest.mark.wandb_reader
def test_problems_reach_wandb_as_alerts_and_health_keys(tmp_path, monkeypatch):
    alerts = []
    original = Run.alert

    def alert(run, **kwargs):
        alerts.append(kwargs)
        return original(run, **kwargs)

    monkeypatch.setattr(Run, "alert", alert)
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(project="watchdog", save_dir=tmp_path, offline=True)
    fit(HealthWatchdog(rollback=True, snapshot_every=50), "collapse", iterations=230, logger=logger)
    logger.experiment.finish()
    wandb.teardown()  # this process's W&B service ends and WANDB_SERVICE goes: later CLI runs start their own
    assert len(alerts) == 1
    assert alerts[0]["title"] == "GAN health: diversity" and alerts[0]["level"] == "WARN"
    assert alerts[0]["text"].startswith("iteration 210: samples collapsed")
    [run_dir] = (tmp_path / "wandb").glob("offline-run-*")
    summary = inspect_wandb_run(run_dir)["summary"]
    assert (
        summary["iteration"] == 230 and summary["health/rollbacks"] == 1 and summary["health/problems"] == 0
    )
    assert summary["health/diversity"] > 0.1


def test_a_fit_resumed_from_a_checkpoint_keeps_the_watchdog_state(tmp_path):
    watchdog = HealthWatchdog(rollback=True, snapshot_every=50)
    _, trainer, _, _ = fit(watchdog, "collapse", iterations=230)
    trainer.save_checkpoint(tmp_path / "w.ckpt")
    resumed = HealthWatchdog(rollback=True, snapshot_every=50)
    resumed.load_state_dict(
        torch.load(tmp_path / "w.ckpt", weights_only=False)["callbacks"]["HealthWatchdog"]
    )
    assert resumed.rollbacks == 1 and [p.signal for _, p in resumed.problems] == ["diversity"]
    assert resumed.monitor.norms == watchdog.monitor.norms and resumed.monitor.peak_diversity > 0.1


def test_out_of_range_arguments_are_refused_with_what_is_accepted():
    with pytest.raises(ValueError, match=r"HealthWatchdog: lr_factor=2 \(accepted: in \(0, 1\]\)$"):
        HealthWatchdog(lr_factor=2)
