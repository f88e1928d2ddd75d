"""Non-finite losses and gradients: skipped, counted, logged; too many in a row stop the run."""

import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from lightning_gan import GAN
from lightning_gan.nets import MLPDiscriminator, MLPGenerator
from tests.helpers import quiet_trainer, snapshot, tiny_mixture


class NaNDiscriminator(MLPDiscriminator):
    """Returns NaN logits on the D-phase calls listed in ``poisoned`` (counting real+fake as one update)."""

    def __init__(self, poisoned):
        super().__init__(hidden_features=16, n_hidden=2)
        self.poisoned, self.calls = set(poisoned), 0

    def forward(self, x):
        logits = super().forward(x)
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.parameters()):  # a D update
            update = self.calls // 2  # real and fake: two calls per update
            self.calls += 1
            if update in self.poisoned:
                return logits * float("nan")
        return logits


def nan_gan(poisoned, **kwargs):
    torch.manual_seed(0)
    return GAN(
        MLPGenerator(latent_dim=4, hidden_features=16, n_hidden=2), NaNDiscriminator(poisoned), **kwargs
    )


def test_nan_update_is_skipped_counted_logged_and_training_goes_on():
    gan = nan_gan({2}, max_iterations=5)
    before = {}

    class Watch(Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            before[module.iteration] = snapshot(module.discriminator)

    trainer = quiet_trainer(limit_val_batches=0, log_every_n_steps=5, callbacks=[Watch()])
    trainer.fit(gan, tiny_mixture())
    assert gan.iteration == 5 and gan.guard.skipped_steps == 1
    # The poisoned D update (iteration 2) left D as it was; the others changed it.
    assert all(torch.equal(before[2][k], before[3][k]) for k in before[2])
    assert not all(torch.equal(before[1][k], before[2][k]) for k in before[1])
    assert all(torch.isfinite(p).all() for p in gan.parameters())
    assert trainer.callback_metrics["train/skipped_steps"] == 1


def test_too_many_nan_updates_in_a_row_stop_with_a_clear_error_and_keep_the_checkpoint(tmp_path):
    gan = nan_gan(set(range(10, 100)), max_iterations=50, max_consecutive_skips=3)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="last", every_n_train_steps=10)
    trainer = quiet_trainer(limit_val_batches=0, enable_checkpointing=True, callbacks=[checkpoint])
    with pytest.raises(FloatingPointError) as raised:
        trainer.fit(gan, tiny_mixture())
    assert str(raised.value) == (
        "3 discriminator updates in a row had non-finite (NaN/inf) gradients; training stops here and the "
        "last checkpoint written is left as it was. Lower the learning rate, add clipping "
        "(g_gradient_clip_val/d_gradient_clip_val) or a gradient penalty, check the data for NaN, or raise "
        "max_consecutive_skips (now 3)."
    )
    assert gan.guard.skipped_steps == 3 and gan.guard.in_a_row == {"generator": 0, "discriminator": 3}
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    # Written every 10 optimizer steps (5 iterations): the last at iteration 10, just before the first
    # NaN update; the run stopped at iteration 12, before the next save, and left it alone.
    assert saved["gan_state"]["clock"]["iteration"] == 10
    assert all(torch.isfinite(v).all() for v in saved["state_dict"].values() if v.is_floating_point())


def test_max_consecutive_skips_is_validated():
    with pytest.raises(ValueError, match="max_consecutive_skips must be >= 1"):
        nan_gan(set(), max_consecutive_skips=0)
