import os
import stat

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_gan.checkpoint_io import AtomicCheckpointIO
from lightning_gan.cli import GANCLI
from tests.helpers import CONFIG_DIR, quiet_trainer, tiny_gan, tiny_mixture


def test_a_write_that_fails_half_way_leaves_the_old_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint({"iteration": 1, "weights": torch.ones(1000)}, path)
    before = path.read_bytes()

    def torn_save(obj: object, file: object) -> None:
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"iteration": 2}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    monkeypatch.undo()
    assert io.load_checkpoint(path)["iteration"] == 1


def test_the_file_gets_the_usual_permissions_not_a_private_temporary_files(tmp_path):
    AtomicCheckpointIO().save_checkpoint({"a": 1}, tmp_path / "sub" / "x.ckpt")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "sub" / "x.ckpt").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("config", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_writes_checkpoints_atomically(config, tmp_path):
    root = [f"--data.init_args.root={tmp_path}"] if config.name == "dcgan_folder.yaml" else []
    cli = GANCLI(["--config", str(config), *root], run=False)
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_a_python_trainer_chooses_it_through_plugins(tmp_path):
    trainer = quiet_trainer(
        max_steps=4,
        enable_checkpointing=True,
        callbacks=[ModelCheckpoint(dirpath=tmp_path)],
        limit_val_batches=0,
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(tiny_gan(), tiny_mixture())
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    assert [p.suffix for p in tmp_path.iterdir()] == [".ckpt"]
