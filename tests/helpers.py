"""Small, fast building blocks shared by the tests."""

import json
import os
import signal
import subprocess
from pathlib import Path

from lightning import Callback, Trainer
from torch import nn

from lightning_gan import GAN
from lightning_gan.data import GaussianMixtureDataModule
from lightning_gan.nets import MLPDiscriminator, MLPGenerator

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"


def tiny_mixture(**kwargs) -> GaussianMixtureDataModule:
    args = dict(layout="ring", n_samples=512, n_val_samples=200, batch_size=64, val_batch_size=100)
    return GaussianMixtureDataModule(**(args | kwargs))


def tiny_gan(cls: type[GAN] = GAN, **kwargs) -> GAN:
    return cls(
        MLPGenerator(latent_dim=4, hidden_features=16, n_hidden=2),
        MLPDiscriminator(hidden_features=16, n_hidden=2),
        **kwargs,
    )


def quiet_trainer(**kwargs) -> Trainer:
    args = dict(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        max_epochs=-1,
    )
    return Trainer(**(args | kwargs))


def snapshot(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, module: nn.Module) -> bool:
    return any(not (before[k] == v).all() for k, v in module.state_dict().items())


def inspect_wandb_run(run_dir: Path) -> dict:
    """An offline W&B run's state, config and latest metrics, as ``wandb leet inspect`` reads them."""
    inspected = subprocess.run(
        ["wandb", "leet", "inspect", "--summary", "--json", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    files = sorted(str(path.relative_to(run_dir)) for path in Path(run_dir).rglob("*"))
    assert inspected.returncode == 0, f"wandb leet inspect {run_dir}: {inspected.stderr[-2000:]}; {files}"
    return json.loads(inspected.stdout)


class SigkillAt(Callback):
    """SIGKILL this very process after iteration ``iteration``, once (a ``marker`` file remembers)."""

    def __init__(self, iteration: int, marker: str = "killed") -> None:
        self.iteration, self.marker = iteration, Path(marker)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: GAN, outputs: object, batch: object, batch_idx: int
    ) -> None:
        if pl_module.iteration == self.iteration and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


class SigtermAt(Callback):
    """SIGTERM this process once it is part-way through iteration ``iteration + 1`` (after ``d_steps`` D
    updates and ``micro_batch`` batches of the next), as a cluster pre-empting the job would."""

    def __init__(self, iteration: int, d_steps: int = 0, micro_batch: int = 0) -> None:
        self.at = (iteration, d_steps, micro_batch)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: GAN, outputs: object, batch: object, batch_idx: int
    ) -> None:
        clock = pl_module.clock
        if (clock.iteration, clock.d_steps, clock.micro_batch) == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


class PointsDataModule(GaussianMixtureDataModule):
    """2-D ring points from a datamodule of the user's own: no sample metrics at validation."""

    def __init__(self) -> None:
        super().__init__(layout="ring", n_samples=1024, n_val_samples=200, batch_size=64, val_batch_size=100)

    def val_metrics(self) -> dict:
        return {}


def run_cli(args: list[str], cwd: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    """``lightning-gan ARGS`` as typed in a shell (offline W&B; ``tests.helpers`` importable)."""
    # As from a fresh shell: nothing this test process set for its own W&B or distributed runs.
    inherited = (
        "WANDB_SERVICE",
        "MASTER_ADDR",
        "MASTER_PORT",
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "NODE_RANK",
    )
    environment = {
        key: value for key, value in os.environ.items() if key not in inherited and not key.startswith("PL_")
    }
    environment |= {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONPATH": str(REPO)} | env
    return subprocess.run(
        ["lightning-gan", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
