"""Goodfellow et al. (2014), Proposition 1 and Theorem 1, checked numerically on 1-D Gaussians.

p_data = N(0, 1) and p_g = N(1, 0.5²). Their log density ratio is quadratic in x, so a D with
logit a·x² + b·x + c can represent the optimal discriminator exactly and its cross-entropy is
convex: training D alone must land on D*(x) = p_data(x) / (p_data(x) + p_g(x)).
"""

import math
from functools import partial

import pytest
import torch
from torch import nn

from lightning_gan import GAN
from lightning_gan.data.tensors import BatchedTensorDataset, tensor_loader
from lightning_gan.losses import MinimaxLoss
from tests.helpers import quiet_trainer

MU_G, SIGMA_G = 1.0, 0.5


def log_normal(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))


def optimal_logit(x):
    # logit D*(x) = log p_data(x) - log p_g(x)
    return log_normal(x, 0.0, 1.0) - log_normal(x, MU_G, SIGMA_G)


def jsd_by_quadrature():
    x = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    p, q = log_normal(x, 0.0, 1.0).exp(), log_normal(x, MU_G, SIGMA_G).exp()
    m = (p + q) / 2
    integrand = 0.5 * p * torch.log(p / m) + 0.5 * q * torch.log(q / m)
    return torch.trapezoid(torch.nan_to_num(integrand), x).item()


class FixedGaussianG(nn.Module):
    """G(z) = μ + σz: pushes N(0, 1) noise to p_g = N(μ, σ²). Never trained here (lr 0)."""

    latent_dim = 1

    def __init__(self):
        super().__init__()
        self.mu, self.sigma = nn.Parameter(torch.tensor(MU_G)), nn.Parameter(torch.tensor(SIGMA_G))

    def forward(self, z):
        return self.mu + self.sigma * z


class QuadraticD(nn.Module):
    def __init__(self):
        super().__init__()
        self.coef = nn.Parameter(torch.zeros(3))

    def forward(self, x):
        return self.coef[0] * x.square() + self.coef[1] * x + self.coef[2]


def train_d_alone() -> GAN:
    """D trained against the fixed G until it converges (G's learning rate is 0).

    Trained inside the test that uses it, not in a fixture: mutation runs order tests by the time
    their call takes, so this slow one then runs after the fast ones.
    """
    torch.manual_seed(0)
    data = tensor_loader(BatchedTensorDataset(torch.randn(400_000, 1)), 4000, True, False, 0)  # batch-indexed
    gan = GAN(
        FixedGaussianG(),
        QuadraticD(),
        loss=MinimaxLoss(),
        g_optimizer=partial(torch.optim.SGD, lr=0.0),
        d_optimizer=partial(torch.optim.Adam, lr=0.05),
        d_scheduler=partial(
            torch.optim.lr_scheduler.LinearLR, start_factor=1.0, end_factor=0.0, total_iters=1500
        ),
        max_iterations=1500,
    )
    quiet_trainer(limit_val_batches=0).fit(gan, train_dataloaders=data)
    assert gan.generator.mu.item() == MU_G and gan.generator.sigma.item() == SIGMA_G  # G never moved
    return gan


def test_d_trained_alone_converges_to_the_optimal_discriminator_and_attains_its_value():
    trained_d = train_d_alone()
    # Tolerance: |D(x) - D*(x)| < 0.01 in probability on x in [-2, 2], where the samples are dense.
    x = torch.linspace(-2, 2, 81).unsqueeze(1)
    with torch.no_grad():
        learned = torch.sigmoid(trained_d.discriminate(x))
    optimal = torch.sigmoid(optimal_logit(x.squeeze(1)))
    assert (learned - optimal).abs().max().item() < 0.01
    # D* maximises V, so the trained D's value sits just below V(D*) = -log 4 + 2·JSD.
    torch.manual_seed(2)
    real, fake = torch.randn(1_000_000, 1), MU_G + SIGMA_G * torch.randn(1_000_000, 1)
    with torch.no_grad():
        value = -MinimaxLoss().discriminator_loss(trained_d.discriminate(real), trained_d.discriminate(fake))
    assert value.item() == pytest.approx(-math.log(4) + 2 * jsd_by_quadrature(), abs=5e-3)


def test_value_at_optimal_d_is_minus_log4_plus_twice_jsd():
    # V(D*, G) = E_data[log D*] + E_g[log(1 - D*)], evaluated with the package's loss on samples
    # (V = -d_loss), against -log 4 + 2·JSD(p_data ‖ p_g) from quadrature. MC error ~1e-3.
    torch.manual_seed(1)
    real = torch.randn(2_000_000, dtype=torch.float64)
    fake = MU_G + SIGMA_G * torch.randn(2_000_000, dtype=torch.float64)
    value = -MinimaxLoss().discriminator_loss(optimal_logit(real), optimal_logit(fake)).item()
    jsd = jsd_by_quadrature()
    assert 0.05 < jsd < math.log(2)  # a non-trivial divergence
    assert value == pytest.approx(-math.log(4) + 2 * jsd, abs=5e-3)
