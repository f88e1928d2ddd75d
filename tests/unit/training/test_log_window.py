import pytest
import torch
from lightning import Trainer
from lightning.pytorch.loggers import Logger, WandbLogger

from lightning_gan.training import LogWindow
from lightning_gan.training.guard import UpdateGuard
from lightning_gan.training.log_window import send_to_loggers, training_metrics


def test_means_are_per_key_and_the_window_empties():
    window = LogWindow()
    d_losses, g_losses = [1.0, 2.0, 6.0, 3.0], [5.0, 7.0]
    for i, d in enumerate(d_losses):  # k = 2: two D values per G value
        window.add({"d_loss": torch.tensor(d)})
        if i % 2:
            window.add({"g_loss": torch.tensor(g_losses[i // 2])})
    means = window.means()
    assert means == {"d_loss": torch.tensor(3.0), "g_loss": torch.tensor(6.0)}
    assert window.means() == {}


def test_values_are_detached():
    window = LogWindow()
    x = torch.ones((), requires_grad=True)
    window.add({"a": x * 2})
    assert not window.means()["a"].requires_grad


def test_state_round_trip_gives_the_same_means():
    window = LogWindow()
    window.add({"a": torch.tensor(1.0)})
    restored = LogWindow()
    restored.load_state_dict(window.state_dict())
    for w in (window, restored):
        w.add({"a": torch.tensor(4.0)})
    assert restored.means() == window.means() == {"a": torch.tensor(2.5)}


class RecordingLogger(Logger):
    """A logger that keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[dict, int]] = []

    @property
    def name(self) -> str:
        return "recording"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics, step=None) -> None:
        self.calls.append((dict(metrics), step))

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass


def test_send_to_loggers_reaches_every_logger_the_monitors_and_the_progress_bar():
    first, second = RecordingLogger(), RecordingLogger()
    trainer = Trainer(logger=[first, second], accelerator="cpu", enable_progress_bar=False)
    metrics = {"train/d_loss": torch.tensor(0.5), "train/g_loss": torch.tensor(2.0)}
    send_to_loggers(trainer, metrics, step=7, prog_bar=["train/g_loss", "train/absent"])
    assert first.calls == second.calls == [({"train/d_loss": 0.5, "train/g_loss": 2.0}, 7)]
    assert trainer.callback_metrics == {"train/d_loss": torch.tensor(0.5), "train/g_loss": torch.tensor(2.0)}
    assert trainer.progress_bar_metrics == {"train/g_loss": 2.0}
    # After a resume, iterations the loggers hold already: the monitors still see the values.
    send_to_loggers(trainer, {"train/d_loss": torch.tensor(0.25)}, step=8, logged=False)
    assert len(first.calls) == 1 and float(trainer.callback_metrics["train/d_loss"]) == 0.25


class FakeRun:
    """The two calls a W&B run gets from the GAN's logging: metric declarations and rows."""

    def __init__(self) -> None:
        self.defined: list[tuple[str, str | None]] = []
        self.rows: list[dict] = []

    def define_metric(self, key: str, step_metric: str | None = None) -> None:
        self.defined.append((key, step_metric))

    def log(self, row: dict) -> None:
        self.rows.append(row)


class FakeRunWandbLogger(WandbLogger):
    """Lightning's W&B logger with a :class:`FakeRun` as its run (no wandb process started)."""

    def __init__(self) -> None:
        super().__init__(offline=True)
        self.run = FakeRun()

    @property
    def experiment(self) -> FakeRun:
        return self.run


def test_send_to_loggers_charts_wandb_rows_against_the_iteration():
    logger = FakeRunWandbLogger()
    trainer = Trainer(logger=logger, accelerator="cpu", enable_progress_bar=False)
    send_to_loggers(trainer, {"train/d_loss": torch.tensor(0.5)}, step=7)
    assert logger.run.defined == [("iteration", None), ("train/d_loss", "iteration")]
    assert logger.run.rows == [{"train/d_loss": 0.5, "iteration": 7, "trainer/global_step": 0}]


def test_training_metrics_are_the_window_means_norms_skips_and_learning_rates():
    window, guard = LogWindow(), UpdateGuard()
    window.add({"d_loss": torch.tensor(1.0)})
    window.add({"d_loss": torch.tensor(2.0)})
    guard.norms = {"grad_norm_d": torch.tensor(3.0)}
    guard.skipped_steps = 2
    g, d = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizers = [torch.optim.SGD([g], lr=0.1), torch.optim.SGD([d], lr=0.3)]
    assert training_metrics(window, guard, optimizers) == {
        "train/d_loss": torch.tensor(1.5),
        "train/grad_norm_d": torch.tensor(3.0),
        "train/skipped_steps": torch.tensor(2.0),
        "train/lr_g": torch.tensor(0.1),
        "train/lr_d": torch.tensor(0.3),
    }
    assert guard.norms == {} and window.means() == {}  # both taken
    with pytest.raises(ValueError):
        training_metrics(window, guard, optimizers[:1])  # G's and D's, always both
