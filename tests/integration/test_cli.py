import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import wandb
import yaml
from jsonargparse import Namespace

from lightning_gan import GAN
from lightning_gan.cli import default_config, with_default_config
from lightning_gan.cli_config import resume_run
from tests.helpers import REPO, inspect_wandb_run


def test_default_config_is_the_shipped_pacgan_grid_recipe():
    assert default_config().read_text() == (REPO / "configs" / "pacgan_grid.yaml").read_text()
    assert with_default_config(["fit", "--trainer.max_steps=2"]) == [
        "fit",
        "--config",
        str(default_config()),
        "--trainer.max_steps=2",
    ]
    assert with_default_config(["fit", "-c", "x.yaml"]) == ["fit", "-c", "x.yaml"]
    assert with_default_config(["--help"]) == ["--help"]


def test_print_config_via_python_m():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lightning_gan",
            "fit",
            "--print_config",
            "--model.init_args.d_steps_per_g_step=3",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config = yaml.safe_load(out)
    assert config["model"]["class_path"] == "lightning_gan.GAN"
    assert config["model"]["init_args"]["d_steps_per_g_step"] == 3
    assert config["data"]["class_path"] == "lightning_gan.data.GaussianMixtureDataModule"
    assert config["model"]["init_args"]["generator"]["class_path"] == "lightning_gan.nets.MLPGenerator"


def test_unknown_loss_class_path_fails_at_parse():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lightning_gan",
            "fit",
            "--model.init_args.loss=lightning_gan.losses.NoSuchLoss",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "NoSuchLoss" in result.stderr and "loss" in result.stderr


@pytest.mark.slow
def test_fit_writes_offline_wandb_run_pngs_and_loadable_checkpoint(tmp_path):
    # Its own W&B service, as from a shell: not the one a W&B run of this test process left in WANDB_SERVICE.
    env = {key: value for key, value in os.environ.items() if key != "WANDB_SERVICE"}
    env |= {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    env |= {"WANDB_DATA_DIR": str(tmp_path / "wandb_data"), "WANDB_CACHE_DIR": str(tmp_path / "wandb_cache")}
    args = [
        "lightning-gan",
        "fit",
        # An online logger (log_model uploads every checkpoint it writes) in an offline environment:
        # W&B keeps the artifacts in the offline run for `wandb sync`, where they can be read back.
        "--trainer.logger.init_args.offline=false",
        "--trainer.logger.init_args.log_model=all",
        "--model.init_args.max_iterations=60",
        "--trainer.val_check_interval=30",
        "--trainer.log_every_n_steps=10",
        "--data.init_args.n_samples=4096",
        "--model.init_args.g_scheduler.init_args.start=0",  # G's rate halves by iteration 60, D's holds
        "--model.init_args.g_scheduler.init_args.end=120",
        "--trainer.enable_progress_bar=false",
    ]
    done = subprocess.run(
        args, cwd=tmp_path, env=env, check=True, capture_output=True, text=True, timeout=300
    )
    run_dirs = list((tmp_path / "runs" / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1
    run = inspect_wandb_run(run_dirs[0])
    summary = run["summary"]
    assert summary["iteration"] == 60  # the GAN's x-axis
    assert summary["trainer/global_step"] == 120  # Lightning's own: 2 optimizer steps per iteration
    # The summary holds the last validation, as printed.
    last = dict(pair.split("=") for pair in done.stdout.strip().splitlines()[-1].split(": ")[1].split())
    assert {key: summary[key] for key in last} == pytest.approx(
        {key: float(v) for key, v in last.items()}, rel=1e-3
    )
    assert summary["train/lr_g"] == pytest.approx(0.002 * (1 - 60 / 120))  # G's linear decay from 0 to 120
    assert summary["train/lr_d"] == pytest.approx(0.002)  # D's decay starts at 16k
    assert summary["val/samples"]["_type"] == "images/separated" and summary["val/samples"]["width"] == 384
    # Every GAN key is charted against ``iteration``, declared once by name.
    output = subprocess.run(
        ["wandb", "leet", "inspect", "--json", str(run_dirs[0])], capture_output=True, text=True, check=True
    ).stdout
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    metrics = [record["metric"] for record in records if record.get("type") == "metric"]
    axes = {m["name"]: m.get("step_metric") for m in metrics if "name" in m}
    for key in ("train/d_loss", "train/d_real", "train/lr_g", "train/lr_d", "val/modes", "val/samples"):
        assert axes[key] == "iteration", key
    rows = [record["history"]["item"] for record in records if record.get("type") == "history"]
    assert [row["iteration"] for row in rows if "val/modes" in row] == [30, 60]
    assert [row["iteration"] for row in rows if "train/d_loss" in row] == [10, 20, 30, 40, 50, 60]
    assert run["config"]["model"]["init_args"]["max_iterations"] == 60  # the full resolved config
    assert run["config"]["trainer"]["val_check_interval"] == 30

    folder = tmp_path / "runs" / "lightning_gan" / run["run_id"]
    assert sorted(p.name for p in (folder / "samples").glob("*.png")) == [
        "iter_0000030.png",
        "iter_0000060.png",
    ]
    assert (folder / "config.yaml").exists()
    gan = GAN.load_from_checkpoint(folder / "checkpoints" / "last.ckpt", weights_only=False)
    assert gan.iteration == 60 and type(gan.generator).__name__ == "MLPGenerator"
    state = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert torch.equal(gan.generator.net[0].weight, state["generator.net.0.weight"])
    assert gan.sample(4).shape == (4, 2)

    # Checkpoints as W&B artifacts under one name, each file as written at each save; its metadata names
    # the file and the score. (Lightning's logger also tags last.ckpt "best": its callback has no monitor.)
    artifacts = [record["artifact"] for record in records if record.get("type") == "artifact"]
    saved = [json.loads(a["metadata"])["original_filename"] for a in artifacts]
    assert sorted(saved) == ["best.ckpt", "last.ckpt", "last.ckpt"]  # at 60 reverse KL was no better
    assert {(a["name"], a["type"]) for a in artifacts} == {(f"model-{run['run_id']}", "model")}
    for name in ("best.ckpt", "last.ckpt"):
        [uploaded, *_] = [
            a for a in reversed(artifacts) if json.loads(a["metadata"])["original_filename"] == name
        ]
        [content] = uploaded["manifest"]["contents"]
        file = folder / "checkpoints" / name
        assert content["digest"] == base64.b64encode(hashlib.md5(file.read_bytes()).digest()).decode()
    [best] = [a for a in artifacts if json.loads(a["metadata"])["original_filename"] == "best.ckpt"]
    first = dict(pair.split("=") for pair in done.stdout.strip().splitlines()[-2].split(": ")[1].split())
    assert json.loads(best["metadata"])["score"] == pytest.approx(float(first["val/reverse_kl"]), rel=1e-3)


def test_strategy_objects_chosen_from_yaml(tmp_path):
    from lightning_gan.augment import DiffAugment
    from lightning_gan.cli import GANCLI
    from lightning_gan.ema import GeneratorEMA
    from lightning_gan.losses import HingeLoss
    from lightning_gan.regularizers import R1Penalty

    extra = tmp_path / "extra.yaml"
    extra.write_text(
        """
model:
  init_args:
    loss: lightning_gan.losses.HingeLoss
    regularizers:
      - class_path: lightning_gan.regularizers.R1Penalty
        init_args: {gamma: 0.5, every: 4}
    ema:
      class_path: lightning_gan.ema.GeneratorEMA
      init_args: {half_life_images: 500, ramp_up: 0.05}
    augment:
      class_path: lightning_gan.augment.DiffAugment
      init_args: {policy: "translation,cutout"}
    g_scheduler:
      class_path: torch.optim.lr_scheduler.LinearLR
      init_args: {start_factor: 1.0, end_factor: 0.0, total_iters: 8}
    max_iterations: 4
trainer: {limit_val_batches: 1, val_check_interval: 4, enable_progress_bar: false}
"""
    )
    cli = GANCLI(["fit", "--config", str(REPO / "configs" / "dcgan_digits.yaml"), "--config", str(extra)])
    model = cli.model
    assert isinstance(model.loss, HingeLoss) and isinstance(model.augment, DiffAugment)
    assert isinstance(model.ema, GeneratorEMA) and model.generator_ema is not None
    (r1,) = model.regularizers
    assert isinstance(r1, R1Penalty) and (r1.gamma, r1.every) == (0.5, 4)
    assert model.iteration == 4
    g_opt, d_opt = model.optimizers()
    assert g_opt.param_groups[0]["lr"] == pytest.approx(0.0002 * 4 / 8)  # halfway down the schedule
    assert d_opt.param_groups[0]["lr"] == pytest.approx(0.0002)  # no D schedule asked for
    wandb.finish()


def test_cli_progress_bar_counts_iterations_redraws_every_50_unless_configured_or_off():
    from lightning.pytorch.callbacks import TQDMProgressBar

    from lightning_gan.callbacks import IterationProgressBar
    from lightning_gan.cli import GANCLI

    base = ["--config", str(default_config())]
    trainer = GANCLI(base, run=False).trainer
    assert isinstance(trainer.progress_bar_callback, IterationProgressBar)
    assert trainer.progress_bar_callback.refresh_rate == 50
    assert [type(c).__name__ for c in trainer.callbacks].count("CheckpointOnSigterm") == 1
    assert (
        GANCLI([*base, "--trainer.enable_progress_bar=false"], run=False).trainer.progress_bar_callback
        is None
    )
    bar = {"class_path": "lightning.pytorch.callbacks.TQDMProgressBar", "init_args": {"refresh_rate": 7}}
    own = [f"--trainer.callbacks+={json.dumps(bar)}"]
    bars = [c for c in GANCLI([*base, *own], run=False).trainer.callbacks if isinstance(c, TQDMProgressBar)]
    assert [bar.refresh_rate for bar in bars] == [7]


def resume_config(tmp_path: Path, ckpt_path: str | None, **logger_args) -> Namespace:
    defaults = {"project": "gan", "save_dir": str(tmp_path / "runs"), "version": None, "id": None}
    args = Namespace(**(defaults | logger_args))
    logger = Namespace(class_path="lightning.pytorch.loggers.WandbLogger", init_args=args)
    return Namespace(ckpt_path=ckpt_path, weights_only=None, trainer=Namespace(logger=logger))


def test_ckpt_path_last_resumes_the_newest_run_under_the_logger_folder_in_that_run(tmp_path):
    for run, age in (("old1", 100), ("new2", 10)):
        checkpoint = tmp_path / "runs" / "gan" / run / "checkpoints" / "last.ckpt"
        checkpoint.parent.mkdir(parents=True)
        checkpoint.touch()
        os.utime(checkpoint, (1e9 - age, 1e9 - age))
    config = resume_config(tmp_path, "last")
    resume_run(config)
    assert config.ckpt_path == str(tmp_path / "runs" / "gan" / "new2" / "checkpoints" / "last.ckpt")
    assert config.trainer.logger.init_args.version == "new2"  # W&B resumes that run id
    assert config.weights_only is None  # Lightning's safe default: the checkpoints hold no Python objects

    named = resume_config(tmp_path, str(tmp_path / "runs" / "gan" / "old1" / "checkpoints" / "last.ckpt"))
    resume_run(named)
    assert named.trainer.logger.init_args.version == "old1"

    clash = resume_config(tmp_path, named.ckpt_path, id="other")
    with pytest.raises(ValueError, match="belongs to run 'old1' but the logger is set to version 'other'"):
        resume_run(clash)


def test_without_a_checkpoint_or_outside_a_run_folder_nothing_changes(tmp_path):
    fresh = resume_config(tmp_path, "last")  # no run yet: Lightning warns and starts afresh
    resume_run(fresh)
    assert fresh.ckpt_path == "last" and fresh.trainer.logger.init_args.version is None
    elsewhere = resume_config(tmp_path, str(tmp_path / "model.ckpt"))
    resume_run(elsewhere)
    assert elsewhere.trainer.logger.init_args.version is None
    explicit = resume_config(tmp_path, None)
    explicit.weights_only = True
    resume_run(explicit)
    assert explicit.weights_only is True
