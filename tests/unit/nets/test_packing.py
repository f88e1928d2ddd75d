import pytest
import torch
from torch import nn

from lightning_gan import GAN
from lightning_gan.nets import DCGANDiscriminator, MLPDiscriminator, MLPGenerator, PackedDiscriminator
from lightning_gan.training import checks
from tests.helpers import quiet_trainer, tiny_mixture


class Record(nn.Module):
    def forward(self, x):
        self.seen = x
        return x.flatten(1).sum(dim=1)


def test_points_are_grouped_consecutively():
    inner = Record()
    x = torch.arange(12.0).reshape(6, 2)
    logits = PackedDiscriminator(inner, pack=3)(x)
    assert inner.seen.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert logits.tolist() == [15.0, 51.0]


def test_images_are_stacked_along_channels():
    inner = Record()
    x = torch.randn(4, 3, 8, 8)
    PackedDiscriminator(inner, pack=2)(x)
    assert inner.seen.shape == (2, 6, 8, 8)
    torch.testing.assert_close(inner.seen[1, 3:], x[3])  # group 1 = samples 2 and 3


def test_pack_one_is_plain_d():
    d = MLPDiscriminator()
    x = torch.randn(5, 2)
    torch.testing.assert_close(PackedDiscriminator(d, pack=1)(x), d(x))


def test_packed_dcgan_scores_groups():
    d = PackedDiscriminator(DCGANDiscriminator(image_size=8, channels=2, base_channels=4), pack=2)
    assert d(torch.randn(6, 1, 8, 8)).shape == (3,)


def test_errors():
    with pytest.raises(ValueError, match="pack must be >= 1"):
        PackedDiscriminator(MLPDiscriminator(), pack=0)
    with pytest.raises(ValueError, match="does not take class labels"):
        PackedDiscriminator(MLPDiscriminator(in_features=4), pack=2)(torch.randn(4, 2), torch.zeros(4).long())
    with pytest.raises(ValueError, match="not a multiple of 4"):
        PackedDiscriminator(MLPDiscriminator(in_features=8), pack=4)(torch.randn(6, 2))


@pytest.mark.parametrize("n", [1, 5, 7])
def test_eval_mode_completes_the_last_group_by_wrapping_around(n):
    inner = Record()
    d = PackedDiscriminator(inner, pack=4).eval()
    x = torch.arange(2.0 * n).reshape(n, 2)
    logits = d(x)
    padded = x[[i % n for i in range(-(-n // 4) * 4)]]  # x[0], ..., x[n-1], x[0], ... up to a multiple of 4
    assert torch.equal(inner.seen, padded.reshape(-1, 8))
    assert logits.shape == (-(-n // 4),)
    with pytest.raises(ValueError, match=f"got a batch of {n}, not a multiple of 4"):
        d.train()(x)  # training batches must divide: a wrapped sample would be counted twice


def test_gan_trains_with_a_packed_d_and_checks_its_width():
    gan = GAN(
        MLPGenerator(latent_dim=2, hidden_features=16, n_hidden=2),
        PackedDiscriminator(MLPDiscriminator(in_features=8, hidden_features=16, n_hidden=2), pack=4),
        max_iterations=3,
    )
    quiet_trainer(limit_val_batches=1).fit(gan, tiny_mixture())
    assert gan.iteration == 3
    wrong = GAN(MLPGenerator(latent_dim=2), PackedDiscriminator(MLPDiscriminator(in_features=2), pack=4))
    with pytest.raises(ValueError, match="discriminator cannot take the generator's output"):
        checks.check_shapes(wrong, (2,))
