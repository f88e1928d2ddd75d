import pytest
import torch
from torch import nn

from lightning_gan import GAN
from lightning_gan.losses import AdversarialLoss
from lightning_gan.nets import MLPGenerator, PackedDiscriminator
from lightning_gan.regularizers import GradientPenalty, R1Penalty, R2Penalty, Regularizer, WeightClipping
from tests.helpers import quiet_trainer, tiny_mixture


class Linear(nn.Module):
    """D(x) = w·x + b, so ∇D = w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):
        return x @ self.w + self.b


class Quadratic(nn.Module):
    """D(x) = xᵀAx with A symmetric, so ∇D(x) = 2Ax."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x):
        return ((x @ self.a) * x).sum(dim=1)


A = [[1.0, 0.5], [0.5, -2.0]]
REAL = torch.tensor([[1.0, 2.0], [-0.5, 0.3], [2.0, -1.0]])
FAKE = torch.tensor([[0.2, 0.1], [-1.0, -1.5], [0.4, 3.0]])


def test_linear_d_closed_forms():
    d = Linear([3.0, 4.0])  # ‖w‖ = 5
    assert GradientPenalty(weight=10).penalty(d, REAL, FAKE).item() == pytest.approx(10 * (5 - 1) ** 2)
    assert R1Penalty(gamma=2).penalty(d, REAL, FAKE).item() == pytest.approx(0.5 * 2 * 25)
    assert R2Penalty(gamma=2).penalty(d, REAL, FAKE).item() == pytest.approx(0.5 * 2 * 25)


def test_penalty_gradient_reaches_d():
    d = Linear([3.0, 4.0])
    R1Penalty(gamma=2).penalty(d, REAL, FAKE).backward()
    # ∂/∂w of γ/2 ‖w‖² = γ w
    torch.testing.assert_close(d.w.grad, torch.tensor([6.0, 8.0]))


def test_quadratic_d_r1_and_r2_closed_forms():
    d, a = Quadratic(A), torch.tensor(A)
    for x, reg in ((REAL, R1Penalty(gamma=3)), (FAKE, R2Penalty(gamma=3))):
        expected = 0.5 * 3 * (2 * x @ a).square().sum(dim=1).mean()  # γ/2 mean ‖2Ax‖²
        assert reg.penalty(d, REAL, FAKE).item() == pytest.approx(expected.item(), rel=1e-6)


def test_quadratic_d_gradient_penalty_on_interpolates():
    d, a = Quadratic(A), torch.tensor(A)
    torch.manual_seed(7)
    value = GradientPenalty(weight=10).penalty(d, REAL, FAKE).item()
    torch.manual_seed(7)
    eps = torch.rand(3, 1)  # the penalty's first random draw: ε per sample
    x_hat = eps * REAL + (1 - eps) * FAKE
    expected = 10 * ((2 * x_hat @ a).norm(dim=1) - 1).square().mean()
    assert value == pytest.approx(expected.item(), rel=1e-6)


def test_packed_d_gradient_is_taken_per_group():
    # A packed linear D on pairs: D([x1, x2]) = w·[x1; x2]; each group's gradient is the whole w.
    d = PackedDiscriminator(Linear([1.0, 2.0, 2.0, 4.0]), pack=2)
    x = torch.randn(4, 2)
    assert R1Penalty(gamma=2).penalty(d, x, x).item() == pytest.approx(25.0)  # ‖w‖² = 25


@pytest.mark.parametrize("every", [0, -3])
def test_lazy_interval_validated(every):
    with pytest.raises(ValueError) as raised:
        R1Penalty(every=every)
    assert str(raised.value) == f"R1Penalty: every (the lazy interval) must be >= 1, got {every}"


def test_gradient_penalty_interpolates_in_the_samples_dtype():
    d, a = Quadratic(A).double(), torch.tensor(A, dtype=torch.float64)
    real, fake = REAL.double(), FAKE.double()
    torch.manual_seed(7)
    value = GradientPenalty(weight=10).penalty(d, real, fake)
    torch.manual_seed(7)
    eps = torch.rand(3, 1, dtype=torch.float64)  # drawn in float64, not drawn in float32 and cast
    x_hat = eps * real + (1 - eps) * fake
    expected = 10 * ((2 * x_hat @ a).norm(dim=1) - 1).square().mean()
    assert value.dtype == torch.float64 and value.item() == pytest.approx(expected.item(), rel=1e-12)


def test_weight_clipping_acts_after_every_update():
    clipping = WeightClipping(clip=0.5)
    assert clipping.every == 1 and all(clipping.is_due(update) for update in range(1, 5))


def test_weight_clipping_bounds_parameters():
    d = Linear([3.0, -0.004])
    WeightClipping(clip=0.01).after_step(d)
    assert d.w.tolist() == pytest.approx([0.01, -0.004]) and d.b.item() == pytest.approx(0.01)
    with pytest.raises(ValueError, match="clip"):
        WeightClipping(clip=0)


class NoAdversarialSignal(AdversarialLoss):
    """Zero losses that keep the graph: only the regularizers move D."""

    def discriminator_loss(self, real_logits, fake_logits):
        return 0 * (real_logits.sum() + fake_logits.sum())

    def generator_loss(self, fake_logits, real_logits=None):
        return 0 * fake_logits.sum()


class CountingR1(R1Penalty):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def penalty(self, discriminate, real, fake):
        self.calls += 1
        return super().penalty(discriminate, real, fake)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("every", [1, 4])
def test_lazy_regularization_applies_every_n_updates_with_gain_n(every, k):
    # With SGD(lr) and only R1 = γ/2 ‖w‖², each applied update is w ← w - lr·n·γ·w (gain n = every),
    # and the others leave w alone. 8 iterations of k D updates: applied ⌈8k/n⌉ times, on D updates
    # 0, n, 2n, ... counted over the run (k does not change the rate).
    lr, gamma, iterations = 0.01, 1.0, 8
    updates = iterations * k
    r1 = CountingR1(gamma=gamma, every=every)
    d = Linear([3.0, 4.0])
    gan = GAN(
        MLPGenerator(latent_dim=2, hidden_features=8, n_hidden=1),
        d,
        loss=NoAdversarialSignal(),
        regularizers=[r1],
        d_optimizer=lambda params: torch.optim.SGD(params, lr=lr),
        d_steps_per_g_step=k,
        max_iterations=iterations,
    )
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    applied = -(-updates // every)
    assert r1.calls == applied
    expected = torch.tensor([3.0, 4.0]) * (1 - lr * every * gamma) ** applied
    torch.testing.assert_close(d.w.detach(), expected)


class GeneratorSpread(Regularizer):
    """A G-side penalty for the test: mean squared norm of the fakes."""

    network = "generator"
    name = "spread"

    def penalty(self, discriminate, real, fake):
        return fake.square().sum(dim=1).mean()


def test_regularizers_act_on_the_network_they_name():
    r1, spread = CountingR1(gamma=1.0), GeneratorSpread()
    clip = WeightClipping(clip=0.05)
    gan = GAN(
        MLPGenerator(latent_dim=2, hidden_features=8, n_hidden=1),
        Linear([3.0, 4.0]),
        regularizers=[r1, spread, clip],
        d_steps_per_g_step=2,
        max_iterations=3,
    )
    seen, stepped = [], []
    spread.penalty = lambda discriminate, real, fake: (
        seen.append((fake.requires_grad, real.shape)) or fake.square().mean()
    )
    spread.after_step = stepped.append
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    assert r1.calls == 6  # every D update (k=2, 3 iterations)
    assert seen == [(True, (64, 2))] * 3  # every G update, on fakes that carry G's graph, with its reals
    assert stepped == [gan.generator] * 3  # after each G step, with G
    assert max(p.abs().max().item() for p in gan.discriminator.parameters()) <= 0.05


def test_a_generator_penalty_enters_gs_loss():
    def fit(regularizers):
        torch.manual_seed(0)
        generator = MLPGenerator(latent_dim=2, hidden_features=8, n_hidden=1)
        gan = GAN(generator, Linear([3.0, 4.0]), regularizers=regularizers, max_iterations=2)
        quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
        return [p.detach().clone() for p in gan.generator.parameters()]

    plain, penalised = fit([]), fit([GeneratorSpread()])
    assert not all(torch.equal(a, b) for a, b in zip(plain, penalised, strict=True))


def test_defaults_are_the_papers_and_reprs_name_the_settings():
    assert (GradientPenalty().weight, GradientPenalty().every) == (10.0, 1)  # WGAN-GP's lambda
    assert (R1Penalty().gamma, R1Penalty().every) == (10.0, 1)
    assert WeightClipping().clip == 0.01  # WGAN's c
    assert repr(R1Penalty(gamma=2.0, every=4)) == "R1Penalty(gamma=2.0, every=4)"
    assert repr(R2Penalty(gamma=1.0)) == "R2Penalty(gamma=1.0, every=1)"
    assert repr(GeneratorSpread(every=3)) == "GeneratorSpread(every=3)"
