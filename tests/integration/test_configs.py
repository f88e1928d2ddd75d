from pathlib import Path

import pytest
import wandb
from PIL import Image

from lightning_gan.cli import GANCLI
from tests.helpers import CONFIG_DIR

# Listed by name so a new recipe is added here on purpose; the next test checks the list is complete.
CONFIG_NAMES = [
    "ada_digits.yaml",
    "cgan_digits.yaml",
    "dcgan_digits.yaml",
    "dcgan_folder.yaml",
    "gan_grid.yaml",
    "gan_ring.yaml",
    "hinge_sn_digits.yaml",
    "lsgan_grid.yaml",
    "pacgan_grid.yaml",
    "pacgan_grid_long.yaml",
    "pacgan_ring.yaml",
    "ragan_digits.yaml",
    "wgan_gp_digits.yaml",
]
CONFIGS = [CONFIG_DIR / name for name in CONFIG_NAMES]


def test_every_shipped_config_is_listed():
    assert sorted(p.name for p in CONFIG_DIR.glob("*.yaml")) == CONFIG_NAMES


@pytest.fixture(autouse=True)
def _finish_wandb():
    yield
    if wandb.run is not None:
        wandb.finish()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_config_trains_a_few_iterations(config, tmp_path):
    args = [
        "fit",
        "--config",
        str(config),
        "--model.init_args.max_iterations=4",
        "--trainer.val_check_interval=4",
    ]
    args += ["--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false"]
    if config.name == "dcgan_folder.yaml":
        for i in range(8):
            Image.new("RGB", (70, 64), (30 * i, 100, 200)).save(tmp_path / f"{i}.png")
        args += [
            f"--data.init_args.root={tmp_path}",
            "--data.init_args.batch_size=4",
            "--data.init_args.num_workers=0",
        ]
        args += ["--data.init_args.val_fraction=0.25"]
        args += [
            "--model.init_args.generator.init_args.base_channels=8",
            "--model.init_args.discriminator.init_args.base_channels=8",
        ]
    cli = GANCLI(args)
    assert cli.model.iteration == 4
    k = cli.model.clock.k  # optimizer steps per iteration: k D steps + 1 G step
    assert cli.trainer.global_step == 4 * (k + 1)
    assert list(Path("runs").rglob("samples/iter_0000004.png"))
    assert list(Path("runs").rglob("checkpoints/last.ckpt"))


def test_folder_config_needs_root():
    with pytest.raises(SystemExit):
        GANCLI(["fit", "--config", str(CONFIGS[0].parent / "dcgan_folder.yaml")])
