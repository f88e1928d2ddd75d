"""Bad input that earlier test files do not already cover: one clear error each, raised early.

Covered elsewhere (each asserting its message): G/D shape mismatch, no latent_dim and bad
d_steps_per_g_step (test_module.py); unknown loss class_path (test_cli.py); image folder missing,
empty, all corrupt, batch larger than the set, bad channels (data/test_folder.py); DCGAN sizes
(nets/test_nets.py); mixture std/modes/sizes (data/test_mixture.py); empty mode_coverage batch
(metrics/test_mode_coverage.py); FSDP/DeepSpeed (test_distributed.py); KID subset size
(data/test_digits.py); optimization arguments (test_optimization.py).
"""

import subprocess
import sys

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_gan import GAN
from lightning_gan.data.tensors import BatchedTensorDataset
from lightning_gan.metrics import InceptionFeatures
from lightning_gan.nets import MLPDiscriminator, MLPGenerator
from tests.helpers import quiet_trainer, run_cli, tiny_gan, tiny_mixture


def test_nan_in_the_data_is_refused_naming_the_rows():
    x = torch.randn(10, 2)
    x[3, 1] = float("nan")
    x[7, 0] = float("inf")
    with pytest.raises(
        ValueError, match=r"non-finite values \(NaN/inf\): tensor 0 has 2 bad rows of 10, the first \[3, 7\]"
    ):
        BatchedTensorDataset(x, torch.arange(10))


def test_checkpoint_of_another_architecture_is_refused_before_loading(tmp_path):
    small = tiny_gan(max_iterations=1)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="small")
    quiet_trainer(limit_val_batches=0, enable_checkpointing=True, callbacks=[checkpoint]).fit(
        small, tiny_mixture()
    )
    wide = GAN(
        MLPGenerator(latent_dim=4, hidden_features=32, n_hidden=2),
        MLPDiscriminator(hidden_features=16, n_hidden=2),
    )
    with pytest.raises(
        ValueError,
        match=r"another architecture than this GAN .*net.0.weight: checkpoint \(16, 4\), model \(32, 4\)",
    ):
        quiet_trainer(max_steps=4, limit_val_batches=0).fit(
            wide, tiny_mixture(), ckpt_path=tmp_path / "small.ckpt", weights_only=False
        )


def test_inception_features_without_the_extra_name_it():
    with pytest.raises(ImportError, match=r'pip install "lightning-gan\[inception\]"'):
        InceptionFeatures()


def test_unknown_regularizer_class_path_is_a_parse_error(tmp_path):
    args = ["fit", "--model.init_args.regularizers=[{class_path: lightning_gan.regularizers.NoSuchPenalty}]"]
    result = subprocess.run(
        [sys.executable, "-m", "lightning_gan", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "NoSuchPenalty" in result.stderr and "regularizers" in result.stderr
    assert not (tmp_path / "runs").exists()  # nothing was started or written


def test_offline_wandb_with_log_model_is_one_line_before_anything_is_written(tmp_path):
    result = run_cli(
        ["fit", "--trainer.logger.init_args.log_model=true"], tmp_path
    )  # shipped logger: offline
    assert result.returncode == 2
    assert result.stderr.splitlines()[-2].startswith(  # the last lines: the message and the hint
        "lightning-gan: error: --trainer.logger.init_args.log_model=True uploads checkpoints as W&B "
        "artifacts, which an offline run cannot do; set offline=false"
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()
