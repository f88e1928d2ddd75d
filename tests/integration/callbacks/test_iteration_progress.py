"""IterationProgressBar: one bar over the fit, in iterations, across epochs and a resume."""

from typing import Any

from lightning import Callback

from lightning_gan.callbacks import IterationProgressBar
from tests.helpers import quiet_trainer, tiny_gan, tiny_mixture


class Recorder(Callback):
    """Records the bar's count and postfix after every batch (runs after the bar's own hook)."""

    def __init__(self, bar: IterationProgressBar) -> None:
        self.bar, self.counts, self.postfix = bar, [], ""

    def on_train_batch_end(self, trainer, pl_module, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.counts.append((pl_module.iteration, self.bar.train_progress_bar.n))
        self.postfix = self.bar.train_progress_bar.postfix or ""


def fit(max_iterations: int, refresh_rate: int, ckpt_path=None, **trainer_args):
    bar = IterationProgressBar(refresh_rate=refresh_rate)
    recorder = Recorder(bar)
    gan = tiny_gan(d_steps_per_g_step=2, max_iterations=max_iterations)
    trainer = quiet_trainer(
        callbacks=[bar, recorder],
        enable_progress_bar=True,
        log_every_n_steps=2,
        limit_val_batches=0,
        **trainer_args,
    )
    trainer.fit(
        gan, tiny_mixture(n_samples=256), ckpt_path=ckpt_path, weights_only=False
    )  # 4 batches an epoch
    return trainer, bar, recorder


def test_bar_counts_iterations_not_batches_across_epochs(capsys):
    trainer, bar, recorder = fit(max_iterations=9, refresh_rate=3)
    assert trainer.current_epoch >= 4  # 18 batches of 4 per epoch: the bar outlived several epochs
    assert bar.train_progress_bar.total == 9 and bar.train_progress_bar.n == 9
    # Redrawn at iterations 3, 6 and 9; in between it shows the last redraw, never the batch index.
    assert [shown for _, shown in recorder.counts] == [0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 6, 6, 6, 6, 6, 6, 9]
    for label in ("d_loss=", "g_loss=", "D(x)=", "D(G(z))="):
        assert label in recorder.postfix
    assert "v_num" not in recorder.postfix and "train/" not in recorder.postfix
    output = capsys.readouterr().out
    assert "iteration" in output and "9/9" in output and "Epoch" not in output


def test_resumed_bar_starts_at_the_restored_iteration(tmp_path):
    trainer, _, _ = fit(max_iterations=4, refresh_rate=1)
    trainer.save_checkpoint(tmp_path / "four.ckpt")
    _, bar, recorder = fit(max_iterations=6, refresh_rate=1, ckpt_path=tmp_path / "four.ckpt")
    assert bar.train_progress_bar.initial == 4
    assert [shown for _, shown in recorder.counts] == [4, 5, 5, 6]
