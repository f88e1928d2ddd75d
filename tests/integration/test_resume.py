"""Exact resume: a run killed with SIGKILL, or stopped by SIGTERM, and resumed with ``--ckpt_path last``
ends bit for bit where an uninterrupted run ends, in the same W&B run, with no iteration logged twice."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning import Callback, seed_everything

from tests.helpers import REPO, quiet_trainer, snapshot, tiny_gan, tiny_mixture

CONFIG = """
seed_everything: 7
model:
  class_path: lightning_gan.GAN
  init_args:
    generator:
      class_path: lightning_gan.nets.MLPGenerator
      init_args: {latent_dim: 4, hidden_features: 32, n_hidden: 2}
    discriminator:
      class_path: lightning_gan.nets.MLPDiscriminator
      init_args: {hidden_features: 32, n_hidden: 2}
    regularizers:
      - class_path: lightning_gan.regularizers.R1Penalty
        init_args: {gamma: 1.0, every: 4}
    ema:
      class_path: lightning_gan.ema.GeneratorEMA
      init_args: {decay: 0.9}
    g_scheduler:
      class_path: lightning_gan.schedules.LinearDecay
      init_args: {start: 100, end: 302}
    d_steps_per_g_step: 2
    accumulate_grad_batches: 2
    max_iterations: 302  # 1208 batches: the 8th validation is at the last step
data:
  class_path: lightning_gan.data.GaussianMixtureDataModule
  init_args: {n_samples: 2000, batch_size: 64, n_val_samples: 500, val_batch_size: 250}
trainer:
  accelerator: cpu
  max_epochs: -1
  val_check_interval: 151  # batches (4 per iteration: 2 D updates of 2 micro-batches), so mid-update
  check_val_every_n_epoch: null
  log_every_n_steps: 10
  enable_progress_bar: false
  logger:
    class_path: lightning.pytorch.loggers.WandbLogger
    init_args: {project: resume, save_dir: runs, offline: true}
  callbacks:
    - class_path: lightning_gan.callbacks.SampleGrid
      init_args: {n_samples: 200}
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint  # at every validation
      init_args: {filename: last, save_top_k: 1}
"""
#: The killed run's extra callback: SIGKILL itself after iteration 210 (between the checkpoints at
#: iterations 188 and 226), once.
KILLER = """    - class_path: tests.helpers.SigkillAt
      init_args: {iteration: 210}
"""
#: The pre-empted run's: SIGTERM mid-way through iteration 211 (1 D update and 1 of 2 batches in).
TERMINATOR = """    - class_path: tests.helpers.SigtermAt
      init_args: {iteration: 210, d_steps: 1, micro_batch: 1}
"""


def fit(folder: Path, *extra: str) -> subprocess.Popen:
    # Each run gets its own W&B service, as from a shell: WANDB_SERVICE (set once this test process has
    # used W&B) would attach it to ours, which would keep the killed run's id registered ("in use").
    env = {key: value for key, value in os.environ.items() if key != "WANDB_SERVICE"}
    env |= {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "lightning_gan", "fit", "--config", "config.yaml", *extra]
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def saved(folder: Path, name: str) -> tuple[dict, Path]:
    """A checkpoint of the one run folder under ``folder`` (a resumed run must reuse it), and that folder."""
    (run,) = (folder / "runs" / "resume").iterdir()
    return torch.load(run / "checkpoints" / f"{name}.ckpt", weights_only=False), run


def logged_steps(folder: Path) -> list[list[tuple[int, tuple[str, ...]]]]:
    """Per W&B session (offline segment, oldest first): ``(iteration, metric names)`` of every
    history record, in the order written."""
    sessions = []
    for run in sorted((folder / "runs" / "wandb").glob("offline-run-*")):
        records = subprocess.run(
            ["wandb", "leet", "inspect", "--json", str(run)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        steps = []
        for line in records.splitlines():
            record = json.loads(line)
            if record.get("type") == "history":
                item = record["history"]["item"]
                names = tuple(sorted(key for key in item if not key.startswith("_")))
                steps.append((int(item["iteration"]), names))
        sessions.append(steps)
    return sessions


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, str]:
    """The reference: the config run straight through (its folder and output)."""
    folder = tmp_path_factory.mktemp("straight")
    (folder / "config.yaml").write_text(CONFIG)
    run = fit(folder)
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output[-3000:]
    return folder, output


def assert_resume_matches(interrupted: Path, straight: Path, output: str, last_saved: int) -> None:
    """Resume ``interrupted`` with ``--ckpt_path last`` and compare it with the uninterrupted run."""
    resumed = fit(interrupted, "--ckpt_path", "last")
    resumed_output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, resumed_output[-3000:]
    assert "Restored all states from the checkpoint" in resumed_output

    expected, _ = saved(straight, "last")
    got, interrupted_run = saved(interrupted, "last")
    assert got["gan_state"]["clock"]["iteration"] == expected["gan_state"]["clock"]["iteration"] == 302
    for key, value in expected["state_dict"].items():  # G, D and G_ema
        assert torch.equal(value, got["state_dict"][key]), key
    for mine, theirs in zip(expected["optimizer_states"], got["optimizer_states"], strict=True):
        for slot, state in mine["state"].items():
            for name, tensor in state.items():
                assert torch.equal(tensor, theirs["state"][slot][name]), (slot, name)
    assert expected["lr_schedulers"] == got["lr_schedulers"]
    # The validations after the resume print the very same figures as the uninterrupted run's.
    late = [
        line
        for line in output.splitlines()
        if line.startswith("iteration ") and int(line.split()[1][:-1]) > last_saved
    ]
    assert late and all(line in resumed_output for line in late)

    # W&B: the resumed run kept the run id (one run folder, two offline segments with that id). The
    # first session holds a prefix of the reference's history (a SIGKILL loses what W&B had not yet
    # written); the resumed one continues after both that and the checkpoint, so no step is logged
    # twice or backwards, and every step after the checkpoint is there.
    segments = sorted((interrupted / "runs" / "wandb").glob("offline-run-*"))
    assert len(segments) == 2 and {s.name.rsplit("-", 1)[1] for s in segments} == {interrupted_run.name}
    (reference,) = logged_steps(straight)
    first, second = logged_steps(interrupted)
    assert first == reference[: len(first)]
    resumed_from = max([last_saved, *(step for step, _ in first)])
    assert second == [(step, names) for step, names in reference if step > resumed_from]


@pytest.mark.slow
def test_sigkill_and_resume_with_ckpt_path_last_is_bitwise_exact(tmp_path, uninterrupted):
    (tmp_path / "config.yaml").write_text(CONFIG + KILLER)
    victim = fit(tmp_path)
    victim.communicate(timeout=600)
    assert victim.returncode == -signal.SIGKILL
    checkpoint, _ = saved(tmp_path, "last")
    clock = checkpoint["gan_state"]["clock"]  # the 5th validation's: batch 755, iteration 188 and 3 batches
    assert (clock["iteration"], clock["d_steps"], clock["micro_batch"]) == (188, 1, 1)
    assert_resume_matches(tmp_path, *uninterrupted, last_saved=188)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_exits_143_and_resume_is_bitwise_exact(tmp_path, uninterrupted):
    (tmp_path / "config.yaml").write_text(CONFIG + TERMINATOR)
    victim = fit(tmp_path)
    output, _ = victim.communicate(timeout=600)
    assert victim.returncode == 143, output[-3000:]
    assert output.rstrip().endswith("lightning-gan: stopped by SIGTERM; continue with --ckpt_path last")
    checkpoint, _ = saved(tmp_path, "last")
    clock = checkpoint["gan_state"]["clock"]  # written at the signal, mid-way through iteration 211
    assert (clock["iteration"], clock["d_steps"], clock["micro_batch"]) == (210, 1, 1)
    assert_resume_matches(tmp_path, *uninterrupted, last_saved=210)


def test_validating_or_not_never_changes_the_training_run():
    weights = []
    for every in (None, 3):  # no validation at all, or a sanity check plus one every 3 batches
        seed_everything(5)
        gan = tiny_gan()
        validation = {"limit_val_batches": 0} if every is None else {"val_check_interval": every}
        quiet_trainer(max_steps=40, num_sanity_val_steps=2, check_val_every_n_epoch=None, **validation).fit(
            gan, tiny_mixture()
        )
        weights.append(snapshot(gan))
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def test_checkpoint_from_another_number_of_processes_resumes_with_a_warning(tmp_path):
    seed_everything(0)
    trainer = quiet_trainer(max_steps=4, limit_val_batches=0)
    gan = tiny_gan()
    trainer.fit(gan, tiny_mixture())
    trainer.save_checkpoint(tmp_path / "one.ckpt")
    checkpoint = torch.load(tmp_path / "one.ckpt", weights_only=False)
    checkpoint["rank_states"] *= 2  # as if written by 2 processes
    torch.save(checkpoint, tmp_path / "two.ckpt")
    with pytest.warns(UserWarning, match="random streams of 2 processes but this run has 1"):
        quiet_trainer(max_steps=8, limit_val_batches=0).fit(
            tiny_gan(), tiny_mixture(), ckpt_path=tmp_path / "two.ckpt", weights_only=False
        )


class SaveAt(Callback):
    """Save a checkpoint after the batch that leaves the clock at ``(iteration, d_steps, micro_batch)``."""

    def __init__(self, at: tuple[int, int, int], path: Path) -> None:
        self.at, self.path = at, path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        clock = pl_module.clock
        if (clock.iteration, clock.d_steps, clock.micro_batch) == self.at:
            trainer.save_checkpoint(self.path)


@pytest.mark.parametrize(
    "at",
    [(3, 1, 1), (3, 0, 1), (3, 1, 0), (2, 0, 0)],  # mid D update 2, 1; before G; at an epoch's end
)
def test_a_checkpoint_mid_iteration_resumes_to_the_uninterrupted_run(tmp_path, at):
    """k = 2 D updates of 2 micro-batches each per iteration: a checkpoint after any batch resumes exactly."""
    seed_everything(3)
    whole = tiny_gan(d_steps_per_g_step=2, accumulate_grad_batches=2, max_iterations=6)
    quiet_trainer(limit_val_batches=0, callbacks=[SaveAt(at, tmp_path / "mid.ckpt")]).fit(
        whole, tiny_mixture()
    )
    clock = torch.load(tmp_path / "mid.ckpt", weights_only=False)["gan_state"]["clock"]
    assert (clock["iteration"], clock["d_steps"], clock["micro_batch"]) == at
    resumed = tiny_gan(d_steps_per_g_step=2, accumulate_grad_batches=2, max_iterations=6)
    quiet_trainer(limit_val_batches=0).fit(
        resumed, tiny_mixture(), ckpt_path=tmp_path / "mid.ckpt", weights_only=False
    )
    assert resumed.iteration == whole.iteration == 6
    assert resumed.clock.images_seen == whole.clock.images_seen == 6 * 2 * 64  # G sees 2 micro-batches
    expected = snapshot(whole)
    for key, value in snapshot(resumed).items():
        assert torch.equal(value, expected[key]), key
