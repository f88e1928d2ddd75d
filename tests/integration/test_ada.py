"""AdaptiveAugment inside a fit: p follows ADA's rule from the reals' logits D actually gave, and resumes."""

import pytest
import torch

from lightning_gan import GAN
from lightning_gan.ada import AdaptiveAugment
from lightning_gan.data import DigitsDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator
from tests.helpers import quiet_trainer

BATCH, SPEED, INTERVAL, TARGET = 16, 160, 2, 0.6


class RecordingGAN(GAN):
    """Keeps each D step's ``ada_rt`` (mean sign of the reals' logits) and the ``ada_p`` it saw."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rts, self.ps = [], []

    def discriminator_loss(self, real, fake, batch):
        out = super().discriminator_loss(real, fake, batch)
        self.rts.append(float(out["ada_rt"]))
        self.ps.append(float(out["ada_p"]))
        return out


def fit(iterations: int, ckpt_path=None, target: float = TARGET):
    torch.manual_seed(0)
    gan = RecordingGAN(
        DCGANGenerator(latent_dim=8, image_size=8, channels=1, base_channels=4),
        DCGANDiscriminator(image_size=8, channels=1, base_channels=4),
        augment=AdaptiveAugment(target=target, speed_images=SPEED, interval=INTERVAL),
        d_steps_per_g_step=2,
        max_iterations=iterations,
    )
    trainer = quiet_trainer(limit_val_batches=0, log_every_n_steps=3)
    trainer.fit(
        gan,
        DigitsDataModule(image_size=8, batch_size=BATCH, train_subset=64),
        ckpt_path=ckpt_path,
        weights_only=False,
    )
    return gan, trainer


@pytest.mark.parametrize("target", [0.0, 0.6])
def test_p_follows_adas_rule_from_the_logged_rt(target):
    gan, trainer = fit(iterations=9, target=target)
    assert len(gan.rts) == 18  # k = 2 D steps per iteration
    p = 0.0
    for start in range(0, 18, INTERVAL):  # every 2 D updates: p += sign(r_t - target) * 32 reals / speed
        r_t = sum(gan.rts[start : start + INTERVAL]) / INTERVAL
        assert gan.ps[start] == pytest.approx(p, abs=1e-6)  # what the step was augmented with
        p = min(max(p + (1 if r_t > target else -1 if r_t < target else 0) * INTERVAL * BATCH / SPEED, 0), 1)
    assert gan.augment.p.item() == pytest.approx(p, abs=1e-6)
    assert trainer.callback_metrics["train/ada_p"].item() == pytest.approx(sum(gan.ps[12:18]) / 6, abs=1e-6)
    if target == 0.0:  # D calls more reals real than not from the start: p only rises
        assert p > 0


def test_a_resumed_fit_continues_p_exactly(tmp_path):
    whole, _ = fit(iterations=8)
    half, trainer = fit(iterations=4)
    trainer.save_checkpoint(tmp_path / "half.ckpt")
    resumed, _ = fit(iterations=8, ckpt_path=tmp_path / "half.ckpt")
    assert resumed.augment.updates == whole.augment.updates == 16
    assert resumed.augment.p.item() == whole.augment.p.item()
    assert resumed.rts == whole.rts[8:]
