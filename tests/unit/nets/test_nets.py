import pytest
import torch
from torch import nn

from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("size", [8, 16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_dcgan_shapes(size, channels):
    g = DCGANGenerator(latent_dim=10, image_size=size, channels=channels, base_channels=4)
    d = DCGANDiscriminator(image_size=size, channels=channels, base_channels=4)
    x = g(torch.randn(3, 10))
    assert x.shape == (3, channels, size, size)
    assert x.abs().max() <= 1
    assert d(x).shape == (3,)


@pytest.mark.parametrize("size", [4, 24, 256])
def test_dcgan_rejects_sizes(size):
    with pytest.raises(ValueError, match="power of two in"):
        DCGANGenerator(image_size=size)
    with pytest.raises(ValueError, match="power of two in"):
        DCGANDiscriminator(image_size=size)


def test_dcgan_init():
    g = DCGANGenerator(latent_dim=100, image_size=64, base_channels=64)
    convs = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert convs.mean().abs() < 1e-3 and convs.std().item() == pytest.approx(0.02, rel=0.02)
    bn = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01)


def test_mlp_configurable():
    g = MLPGenerator(latent_dim=5, out_features=3, hidden_features=7, n_hidden=4, activation="tanh")
    linears = [m for m in g.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 5 and linears[0].in_features == 5 and linears[-1].out_features == 3
    assert sum(isinstance(m, nn.Tanh) for m in g.modules()) == 4
    assert g(torch.randn(6, 5)).shape == (6, 3)
    assert MLPDiscriminator(in_features=3)(torch.randn(6, 3)).shape == (6,)


def test_mlp_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        MLPGenerator(activation="swish")
    with pytest.raises(ValueError, match="MLP sizes must be >= 1"):
        MLPDiscriminator(n_hidden=0)


def test_mlp_generator_batch_norm_option():
    g = MLPGenerator(latent_dim=2, hidden_features=8, n_hidden=2, batch_norm=True)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in g.modules()) == 2
    z = torch.randn(16, 2)
    g.train()
    g(z * 3 + 1)  # training forwards move the running statistics
    g.eval()
    torch.testing.assert_close(g(z[:1]), g(z)[:1])  # eval: each sample independent of the batch
