"""A checkpoint written by version 0.1 (before the collaborators) still loads and resumes its counters."""

import shutil

import pytest
import torch

from lightning_gan import GAN
from lightning_gan.training.legacy import upgrade_checkpoint
from tests.helpers import REPO, quiet_trainer, tiny_mixture

FIXTURE = REPO / "tests" / "fixtures" / "checkpoint_v0_1_mlp.ckpt"


def test_a_version_0_1_checkpoint_loads_with_its_weights_and_counters():
    gan = GAN.load_from_checkpoint(FIXTURE, weights_only=False)
    assert (gan.iteration, gan.clock.d_steps, gan.clock.images_seen, gan.clock.k) == (10, 0, 320, 2)
    assert gan.run_state.evaluation_seed == 3 and gan.window.counts == {
        "d_loss": 20,
        "d_real": 20,
        "d_fake": 20,
        "g_loss": 10,
        "r1_penalty": 5,
    }
    torch.manual_seed(0)
    # Drawn from this file by version 0.1 itself: G_ema(z) for z from seed 0.
    expected = torch.tensor([[-0.1248, -0.5688], [-0.5748, -0.9173], [-1.0651, -1.6242]])
    assert torch.allclose(gan.sample(3), expected, atol=1e-4)


def test_a_version_0_1_checkpoint_resumes_a_fit(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "old.ckpt")
    gan = GAN.load_from_checkpoint(tmp_path / "old.ckpt", weights_only=False, max_iterations=12)
    data = tiny_mixture(layout="ring", n_samples=256, batch_size=32)
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(gan, data, ckpt_path=tmp_path / "old.ckpt", weights_only=False)
    assert gan.iteration == 12 and trainer.global_step == 30 + 2 * 3  # 2 iterations of k + 1 = 3 steps


def test_upgrade_maps_every_counter():
    old = {
        "gan_counters": {
            "iteration": 4,
            "d_steps_in_iteration": 1,
            "micro_batch": 1,
            "images_seen": 64,
            "skipped_steps": 2,
            "window_sums": {"d_loss": torch.tensor(3.0)},
            "window_counts": {"d_loss": 3},
            "consecutive_skips": {"generator": 0, "discriminator": 1},
            "d_applied": True,
            "evaluation_seed": 7,
        }
    }
    upgrade_checkpoint(old)
    assert old["gan_state"] == {
        "clock": {"iteration": 4, "d_steps": 1, "micro_batch": 1, "images_seen": 64},
        "guard": {
            "skipped_steps": 2,
            "in_a_row": {"generator": 0, "discriminator": 1},
            "applied": {"generator": False, "discriminator": True},
        },
        "window": {"sums": {"d_loss": torch.tensor(3.0)}, "counts": {"d_loss": 3}},
        "run": {"evaluation_seed": 7},
    }


ZEROS = {
    "clock": {"iteration": 0, "d_steps": 0, "micro_batch": 0, "images_seen": 0},
    "guard": {
        "skipped_steps": 0,
        "in_a_row": {"generator": 0, "discriminator": 0},
        "applied": {"generator": False, "discriminator": False},
    },
    "window": {"sums": {}, "counts": {}},
    "run": {"evaluation_seed": None},
}


@pytest.mark.parametrize("counters", [True, False], ids=["no_counters_kept", "no_gan_counters"])
def test_upgrade_starts_missing_counters_at_zero(counters):
    # Early 0.1 files lack counters added later in 0.1 (images_seen, d_applied, ...): they start at zero.
    old = {"gan_counters": {}} if counters else {}  # built here: the upgrade changes it in place
    upgrade_checkpoint(old)
    assert old["gan_state"] == ZEROS


def test_upgrade_leaves_a_current_checkpoint_alone():
    current = {"gan_state": {"clock": {"iteration": 3}}, "gan_counters": {"iteration": 9}}
    upgrade_checkpoint(current)
    assert current["gan_state"] == {"clock": {"iteration": 3}}
