import pytest
import torch
from torch.nn.utils import parametrize

from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

LABELS = torch.tensor([0, 3, 3, 9])


@pytest.mark.parametrize(
    "g, d, x_shape",
    [
        (MLPGenerator(latent_dim=4, num_classes=10), MLPDiscriminator(num_classes=10), (4, 2)),
        (
            DCGANGenerator(latent_dim=8, image_size=16, channels=1, base_channels=4, num_classes=10),
            DCGANDiscriminator(image_size=16, channels=1, base_channels=4, num_classes=10),
            (4, 1, 16, 16),
        ),
    ],
    ids=["mlp", "dcgan"],
)
def test_conditional_nets(g, d, x_shape):
    z = torch.randn(4, g.latent_dim)
    assert g(z, LABELS).shape == x_shape
    assert not torch.allclose(g(z, LABELS), g(z, torch.tensor([1, 1, 1, 1])))  # the label matters
    x = torch.randn(x_shape)
    assert d(x, LABELS).shape == (4,)
    with pytest.raises(ValueError, match="is conditional: call it with labels"):
        g(z)
    with pytest.raises(ValueError, match="is conditional: call it with labels"):
        d(x)


def test_projection_discriminator_is_psi_plus_inner_product():
    d = MLPDiscriminator(hidden_features=8, n_hidden=2, num_classes=3)
    x, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 1, 0])
    features = d.net[:-1](x)
    expected = d.net[-1](features).squeeze(1) + (d.embed.weight[y] * features).sum(dim=1)
    torch.testing.assert_close(d(x, y), expected)


@pytest.mark.parametrize(
    ("d", "x"),
    [
        (MLPDiscriminator(hidden_features=8, n_hidden=2), torch.randn(5, 2)),
        (DCGANDiscriminator(image_size=8, channels=1), torch.randn(5, 1, 8, 8)),
    ],
)
def test_unconditional_discriminator_is_its_sequential(d, x):
    assert torch.equal(d(x), d.net(x).flatten())  # every layer once, in order, and nothing else


def test_unconditional_nets_reject_labels():
    with pytest.raises(ValueError, match="unconditional"):
        MLPDiscriminator()(torch.randn(4, 2), LABELS)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPDiscriminator(spectral_norm=True),
        lambda: DCGANDiscriminator(image_size=8, channels=1, batch_norm=False, spectral_norm=True),
    ],
)
def test_spectral_norm_bounds_every_weight(make):
    torch.manual_seed(0)  # built here, seeded: not from whatever state collection left behind
    d = make().train()
    for _ in range(100):  # one power iteration per training forward; σ_max is approached from below
        d(torch.randn(4, 2) if isinstance(d, MLPDiscriminator) else torch.randn(4, 1, 8, 8))
    normalised = [m for m in d.modules() if parametrize.is_parametrized(m, "weight")]
    assert normalised and not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    for module in normalised:
        weight = module.weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(weight, ord=2).item() == pytest.approx(1.0, abs=0.05)
