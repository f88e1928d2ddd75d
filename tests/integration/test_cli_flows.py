"""The flows a user types that used to fail: each through the console script, as in a shell."""

import hashlib
from pathlib import Path

import pytest
import torch

from lightning_gan import GAN
from lightning_gan.module import default_optimizer
from tests.helpers import CONFIG_DIR, run_cli, tiny_gan

SHORT = [
    "--trainer.val_check_interval=4",
    "--trainer.limit_val_batches=1",
    "--trainer.enable_progress_bar=false",
]


def only_run(folder: Path) -> Path:
    (run,) = (folder / "runs" / "lightning_gan").iterdir()
    return run


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model.init_args.d_steps_per_g_step=0"],
            "d_steps_per_g_step (Algorithm 1's k) must be >= 1, got 0",
        ),
        (["--data.init_args.n_modes=0"], "n_modes for the grid layout must be a perfect square >= 1, got 0"),
        (
            ["--model.init_args.generator=lightning_gan.nets.MLPDiscriminator"],
            "the generator (MLPDiscriminator) must expose an integer attribute latent_dim >= 1",
        ),
        (["--model.init_args.gradient_clip_algorithm=max"], "Does not validate"),  # the parser's own check
    ],
)
def test_a_bad_value_ends_with_the_packages_one_line_message(tmp_path, args, message):
    result = run_cli(["fit", *args], tmp_path)
    assert result.returncode != 0 and message in result.stderr
    if "Does not validate" not in message:
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert (
            lines[-2] == f"lightning-gan: error: {lines[-2].split('error: ', 1)[1]}" and message in lines[-2]
        )
        assert lines[-1] == "(set LIGHTNING_GAN_TRACEBACK=1 for the full traceback)"
    assert not (tmp_path / "runs").exists()


def test_the_full_traceback_on_request(tmp_path):
    result = run_cli(["fit", "--model.init_args.d_steps_per_g_step=0"], tmp_path, LIGHTNING_GAN_TRACEBACK="1")
    assert result.returncode == 1 and "Traceback" in result.stderr
    assert "ValueError: d_steps_per_g_step (Algorithm 1's k) must be >= 1, got 0" in result.stderr


@pytest.fixture
def bad_checkpoints(tmp_path) -> dict[str, Path]:
    (tmp_path / "garbage.ckpt").write_text("not a checkpoint")
    good = tmp_path / "python.ckpt"
    gan = tiny_gan()
    torch.save({"state_dict": gan.state_dict(), "hyper_parameters": dict(gan.hparams)}, good)
    (tmp_path / "truncated.ckpt").write_bytes(good.read_bytes()[:2000])
    torch.save({"weights": torch.ones(2)}, tmp_path / "tensors.ckpt")
    return {
        name: tmp_path / f"{name}.ckpt" for name in ("garbage", "truncated", "python", "tensors", "missing")
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("garbage", "not a readable checkpoint (truncated or corrupt?)"),
        ("truncated", "not a readable checkpoint (truncated or corrupt?)"),
        ("python", "the checkpoint holds Python objects"),
        ("tensors", "a torch file but not a Lightning checkpoint"),
        ("missing", "no such file"),
    ],
)
def test_a_checkpoint_the_cli_cannot_read_is_named_with_the_option(bad_checkpoints, tmp_path, name, message):
    path = bad_checkpoints[name]
    result = run_cli(["validate", "--ckpt_path", str(path)], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"lightning-gan: error: --ckpt_path {path}: {message}" in result.stderr


@pytest.mark.slow
def test_another_datamodule_on_the_default_config_trains_and_keeps_last_but_no_best(tmp_path):
    args = ["fit", "--data=tests.helpers.PointsDataModule", "--model.init_args.max_iterations=8", *SHORT]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "BestCheckpoint: this run logs no 'val/reverse_kl'" in result.stderr
    assert "iteration 8: val/d_real=" in result.stdout
    run = only_run(tmp_path)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.ckpt"]


@pytest.mark.slow
def test_a_config_without_optimizers_saves_and_reloads(tmp_path):
    config = (CONFIG_DIR / "gan_ring.yaml").read_text()
    start, end = config.index("    g_optimizer:"), config.index("    max_iterations:")
    (tmp_path / "no_optimizers.yaml").write_text(config[:start] + config[end:])
    args = ["fit", "--config", "no_optimizers.yaml", "--model.init_args.max_iterations=4", *SHORT]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = only_run(tmp_path)
    assert "Unable to serialize" not in (run / "config.yaml").read_text()
    gan = GAN.load_from_checkpoint(run / "checkpoints" / "last.ckpt")  # Lightning's weights_only default
    assert (
        gan.iteration == 4 and gan.g_optimizer is default_optimizer and gan.d_optimizer is default_optimizer
    )
    (adam, _), _ = gan.configure_optimizers()
    assert adam.defaults["lr"] == 2e-4 and adam.defaults["betas"] == (0.5, 0.999)


@pytest.mark.slow
def test_a_failed_resume_changes_no_file_of_the_run_it_named(tmp_path):
    result = run_cli(["fit", "--model.init_args.max_iterations=4", *SHORT], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = only_run(tmp_path)
    before = digest(run)
    wider = "--model.init_args.generator.init_args.hidden_features=64"
    failed = run_cli(["fit", "--ckpt_path", "last", wider, *SHORT], tmp_path)
    assert failed.returncode == 2, failed.stderr[-3000:]
    assert "another architecture than this GAN" in failed.stderr.strip().splitlines()[-2]
    assert digest(run) == before
