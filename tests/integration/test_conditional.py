import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lightning_gan import ConditionalGAN
from lightning_gan.callbacks import SampleGrid, run_dir
from lightning_gan.data import DigitsDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from tests.helpers import quiet_trainer, tiny_mixture


class LabelSpy(nn.Module):
    """Wraps a conditional net and records the labels of every call."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, []
        self.latent_dim = getattr(net, "latent_dim", None)
        self.num_classes = net.num_classes

    def forward(self, x, labels):
        self.calls.append(labels.clone())
        return self.net(x, labels)


def digits_cgan(**kwargs):
    g = DCGANGenerator(latent_dim=8, image_size=8, channels=1, base_channels=4, num_classes=10)
    d = DCGANDiscriminator(image_size=8, channels=1, base_channels=4, num_classes=10)
    return ConditionalGAN(LabelSpy(g), LabelSpy(d), **kwargs)


class RecordingDigits(DigitsDataModule):
    def train_dataloader(self):
        self.batches = []
        for batch in super().train_dataloader():
            self.batches.append(batch[1].clone())
            yield batch


def test_fakes_share_the_batch_labels_and_d_sees_them():
    gan = digits_cgan(max_iterations=3)
    data = RecordingDigits(image_size=8, batch_size=16)
    quiet_trainer(limit_val_batches=0).fit(gan, data)
    g_calls = [c for c in gan.generator.calls if len(c) == 16]
    d_calls = [c for c in gan.discriminator.calls if len(c) == 16]
    assert len(g_calls) == 6 and len(d_calls) == 9  # per iteration: G twice (D and G phase), D thrice
    for i, labels in enumerate(data.batches[:3]):
        for call in (*g_calls[2 * i : 2 * i + 2], *d_calls[3 * i : 3 * i + 3]):
            assert torch.equal(call, labels)


def test_sampling_draws_uniform_labels():
    gan = digits_cgan()
    torch.manual_seed(0)
    labels = gan.sample_labels(10_000)
    counts = torch.bincount(labels, minlength=10).float()
    assert labels.min() >= 0 and labels.max() <= 9 and (counts / 1000 - 1).abs().max() < 0.1
    assert gan.sample(6, labels=torch.full((6,), 4)).shape == (6, 1, 8, 8)
    assert gan.generator.calls[-1].tolist() == [4] * 6


def test_grid_has_one_row_per_class(tmp_path):
    gan = digits_cgan(max_iterations=2)
    grid = SampleGrid(n_samples=64, nrow=6)
    trainer = quiet_trainer(
        callbacks=[grid], val_check_interval=2, check_val_every_n_epoch=None, default_root_dir=tmp_path
    )
    trainer.fit(gan, DigitsDataModule(image_size=8, batch_size=16))
    picture = np.asarray(Image.open(grid.last_path))
    assert picture.shape == (10 * 10 + 2, 6 * 10 + 2)  # 10 rows (classes) × 6 columns of 8 px + padding
    assert grid.last_path.parent == run_dir(trainer) / "samples"
    last = gan.generator.calls[-1]
    assert last.tolist() == [c for c in range(10) for _ in range(6)]


@pytest.mark.parametrize(
    "g_classes, d_classes, data_classes, match",
    [
        (0, 0, 10, "same num_classes >= 1"),
        (10, 5, 10, "same num_classes >= 1"),
        (3, 3, 10, "has 10 classes"),
    ],
)
def test_class_mismatches_fail_at_setup(g_classes, d_classes, data_classes, match):
    gan = ConditionalGAN(
        MLPGenerator(latent_dim=2, num_classes=g_classes), MLPDiscriminator(num_classes=d_classes)
    )
    data = tiny_mixture()
    data.num_classes = data_classes
    with pytest.raises(ValueError, match=match):
        quiet_trainer(max_steps=2).fit(gan, data)


class RecordingEvaluation(nn.Module):
    """Stands in for the GAN's Evaluation: keeps what validation feeds it."""

    def __init__(self):
        super().__init__()
        self.fed = []

    def update(self, real_logits, fake_logits, fake):
        self.fed.append((real_logits, fake_logits, fake))


def test_validation_scores_reals_with_their_labels_and_fakes_with_the_labels_they_were_drawn_for():
    gan = digits_cgan().eval()
    gan.evaluation = RecordingEvaluation()
    real, labels = torch.rand(6, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 3, 4, 5])
    torch.manual_seed(5)
    gan.validation_step((real, labels), 0)
    gan.test_step((real, labels), 1)  # the same measurements
    torch.manual_seed(5)  # reference: labels drawn first, then G's samples for exactly those labels
    fake_labels = gan.sample_labels(6)
    fake = gan.sample(6, labels=fake_labels)
    with torch.no_grad():
        expected = (gan.discriminator(real, labels), gan.discriminator(fake, fake_labels), fake)
    got = gan.evaluation.fed[0]
    for value, reference in zip(got, expected, strict=True):
        torch.testing.assert_close(value.reshape(reference.shape), reference)
    assert len(gan.evaluation.fed) == 2


def test_every_d_call_of_an_iteration_gets_the_batch_labels():
    """Relativistic loss (D scores reals in G's phase too), R1 on reals, a G penalty that scores fakes."""
    from lightning_gan.losses import RelativisticAverageLoss
    from lightning_gan.regularizers import R1Penalty, Regularizer

    class ScoredSpread(Regularizer):
        network, name = "generator", "scored_spread"

        def penalty(self, discriminate, real, fake):
            return discriminate(fake).square().mean()

    gan = digits_cgan(
        max_iterations=2, loss=RelativisticAverageLoss(), regularizers=[R1Penalty(gamma=1.0), ScoredSpread()]
    )
    data = RecordingDigits(image_size=8, batch_size=16)
    quiet_trainer(limit_val_batches=0).fit(gan, data)
    d_calls = [c for c in gan.discriminator.calls if len(c) == 16]
    # Per iteration: D's phase reals, fakes, R1's reals; G's phase reals, fakes, the penalty's fakes.
    assert len(d_calls) == 2 * 6
    for i, labels in enumerate(data.batches[:2]):
        for call in d_calls[6 * i : 6 * i + 6]:
            assert torch.equal(call, labels)
