"""``lightning-gan sample`` and ``lightning-gan export`` on checkpoints that ``lightning-gan fit`` wrote."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_gan import GAN
from lightning_gan.export import load_generator
from lightning_gan.sampling import main as sample_main
from tests.helpers import REPO, run_cli

SHORT = [
    "--trainer.val_check_interval=4",
    "--trainer.limit_val_batches=1",
    "--trainer.enable_progress_bar=false",
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """``last.ckpt`` of a 4-iteration default run (2-D points) and of a conditional DCGAN on digits."""
    found = {}
    for name, config in (
        ("points", []),
        ("digits", ["--config", str(REPO / "configs" / "cgan_digits.yaml")]),
    ):
        folder = tmp_path_factory.mktemp(name)
        result = run_cli(["fit", *config, "--model.init_args.max_iterations=4", *SHORT], folder)
        assert result.returncode == 0, result.stderr[-3000:]
        (found[name],) = folder.glob("runs/lightning_gan/*/checkpoints/last.ckpt")
    return found


def expected_samples(ckpt: Path, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """G_ema's and G's eval-mode outputs for the documented latents (``seed``) and labels (``i mod C``)."""
    gan = GAN.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True)
    z = torch.randn(n, gan.latent_dim, generator=torch.Generator().manual_seed(seed))
    classes = getattr(gan.generator, "num_classes", 0)
    args = (z, torch.tensor([i % classes for i in range(n)])) if classes else (z,)
    with torch.no_grad():
        return gan.generator_ema.eval()(*args), gan.generator.eval()(*args)


def test_sample_writes_seeded_points_of_g_ema(checkpoints, tmp_path):
    command = ["sample", "--ckpt_path", str(checkpoints["points"]), "--n", "300", "--seed", "7"]
    assert run_cli([*command, "--out", "a"], tmp_path).returncode == 0  # as typed
    sample_main([*command[1:], "--out", str(tmp_path / "b")])  # the same again, in this process
    points = np.load(tmp_path / "a" / "samples.npz")["samples"]
    ema, raw = expected_samples(checkpoints["points"], 300, 7)
    assert points.shape == (300, 2)
    np.testing.assert_allclose(points, ema.numpy(), rtol=1e-6, atol=1e-6)
    assert not np.allclose(points, raw.numpy())  # the EMA copy, not G
    np.testing.assert_array_equal(points, np.load(tmp_path / "b" / "samples.npz")["samples"])
    assert Image.open(tmp_path / "a" / "scatter.png").size == (384, 384)
    sample_main([*command[1:-1], "8", "--out", str(tmp_path / "c")])
    assert not np.allclose(points, np.load(tmp_path / "c" / "samples.npz")["samples"])


def test_sample_writes_a_grid_and_every_image_of_a_conditional_model(checkpoints, tmp_path):
    args = ["sample", "--ckpt_path", str(checkpoints["digits"]), "--n", "12", "--out", "out", "--nrow", "4"]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "13 files in out" in result.stdout
    ema, _ = expected_samples(checkpoints["digits"], 12, 0)
    pixels = ((ema.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[:, 0].numpy()  # (12, 16, 16)
    for i in range(12):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / f"{i:06d}.png")), pixels[i])
    grid = np.asarray(Image.open(tmp_path / "out" / "grid.png"))
    assert grid.shape == (3 * 18 + 2, 4 * 18 + 2)  # 3 rows of 4 tiles, 2-pixel padding
    np.testing.assert_array_equal(
        grid[2 + 18 : 2 + 18 + 16, 2 + 18 : 2 + 18 + 16], pixels[5]
    )  # row 1, column 1


@pytest.mark.parametrize("name", ["points", "digits"])
def test_exported_program_matches_eager_at_another_batch_size(checkpoints, name, tmp_path):
    result = run_cli(["export", "--ckpt_path", str(checkpoints[name]), "--out", "g.pt2"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    program = torch.export.load(tmp_path / "g.pt2").module()
    ema, _ = expected_samples(checkpoints[name], 5, 3)  # exported with a batch of 2
    gan = GAN.load_from_checkpoint(checkpoints[name], map_location="cpu", weights_only=True)
    z = torch.randn(5, gan.latent_dim, generator=torch.Generator().manual_seed(3))
    args = (z, torch.tensor([i % 10 for i in range(5)])) if name == "digits" else (z,)
    torch.testing.assert_close(program(*args), ema, rtol=1e-5, atol=1e-5)


def test_exported_module_matches_g_ema(checkpoints, tmp_path):
    command = [sys.executable, "-m", "lightning_gan.export", "--ckpt_path", str(checkpoints["points"])]
    subprocess.run([*command, "--out", str(tmp_path / "g.pt")], check=True, capture_output=True, timeout=120)
    ema, _ = expected_samples(checkpoints["points"], 6, 1)
    generator = load_generator(tmp_path / "g.pt")
    z = torch.randn(6, generator.latent_dim, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(generator(z), ema, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["sample", "--ckpt_path", "last", "--out", "x"],
            "--ckpt_path last: no such file; give a checkpoint file",
        ),
        (["sample", "--ckpt_path", "CKPT", "--out", "x", "--n", "0"], "--n must be >= 1, got 0"),
        (["export", "--ckpt_path", "broken.ckpt", "--out", "g.pt"], "not a readable checkpoint"),
    ],
)
def test_bad_input_ends_with_one_line(checkpoints, tmp_path, args, message):
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    result = run_cli([arg.replace("CKPT", str(checkpoints["points"])) for arg in args], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("lightning-gan: error: ")
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "g.pt").exists()
