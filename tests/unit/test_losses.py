import math

import pytest
import torch

from lightning_gan.losses import (
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    RelativisticAverageLoss,
    WassersteinLoss,
)

LOSSES = [MinimaxLoss(), NonSaturatingLoss()]
ALL_LOSSES = [*LOSSES, LeastSquaresLoss(), WassersteinLoss(), HingeLoss(), RelativisticAverageLoss()]
REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5, 4.0])


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def hand_bce_d(real, fake):
    # -(mean log D(x) + mean log(1 - D(G(z)))) with D = sigmoid(logit), in plain Python.
    return -sum(math.log(sigmoid(r)) for r in real) / len(real) - sum(
        math.log(1 - sigmoid(f)) for f in fake
    ) / len(fake)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_discriminator_loss_is_hand_computed_bce(loss):
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(
        hand_bce_d(REAL.tolist(), FAKE.tolist()), rel=1e-6
    )


def test_discriminator_loss_at_chance_is_log4():
    assert MinimaxLoss().discriminator_loss(torch.zeros(5), torch.zeros(5)).item() == pytest.approx(
        math.log(4)
    )


def test_minimax_generator_loss_is_saturating_form():
    expected = sum(math.log(1 - sigmoid(f)) for f in FAKE.tolist()) / len(FAKE)
    assert MinimaxLoss().generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_non_saturating_generator_loss():
    expected = -sum(math.log(sigmoid(f)) for f in FAKE.tolist()) / len(FAKE)
    assert NonSaturatingLoss().generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_gradient_signs(loss):
    real, fake = REAL.clone().requires_grad_(), FAKE.clone().requires_grad_()
    loss.discriminator_loss(real, fake).backward()
    assert (real.grad < 0).all()  # raising real logits lowers D's loss
    assert (fake.grad > 0).all()  # lowering fake logits lowers D's loss
    fake_g = FAKE.clone().requires_grad_()
    loss.generator_loss(fake_g).backward()
    assert (fake_g.grad < 0).all()  # raising fake logits lowers G's loss


def test_minimax_saturates_where_non_saturating_does_not():
    # D confidently rejects the fake (logit -10): the minimax G gradient is ~sigmoid(-10) ≈ 4.5e-5,
    # the non-saturating one ~1 - sigmoid(-10) ≈ 1.
    grads = []
    for loss in LOSSES:
        logit = torch.tensor([-10.0], requires_grad=True)
        loss.generator_loss(logit).backward()
        grads.append(abs(logit.grad.item()))
    assert grads[0] == pytest.approx(sigmoid(-10), rel=1e-4)
    assert grads[1] == pytest.approx(1 - sigmoid(-10), rel=1e-4)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_finite_for_extreme_logits(loss):
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(loss.discriminator_loss(big, big))
    assert torch.isfinite(loss.generator_loss(big))


def mean(values):
    return sum(values) / len(values)


def softplus(x):
    return math.log1p(math.exp(x))


def closed_forms(name, real, fake):
    """(D loss, G loss) written out from each paper's formula, in plain Python."""
    if name == "MinimaxLoss":
        return hand_bce_d(real, fake), mean([math.log(1 - sigmoid(f)) for f in fake])
    if name == "NonSaturatingLoss":
        return hand_bce_d(real, fake), mean([-math.log(sigmoid(f)) for f in fake])
    if name == "LeastSquaresLoss":
        d = 0.5 * mean([(r - 1) ** 2 for r in real]) + 0.5 * mean([f**2 for f in fake])
        return d, 0.5 * mean([(f - 1) ** 2 for f in fake])
    if name == "WassersteinLoss":
        return mean(fake) - mean(real), -mean(fake)
    if name == "HingeLoss":
        d = mean([max(0.0, 1 - r) for r in real]) + mean([max(0.0, 1 + f) for f in fake])
        return d, -mean(fake)
    if name == "RelativisticAverageLoss":
        mr, mf = mean(real), mean(fake)
        d = -mean([math.log(sigmoid(r - mf)) for r in real]) - mean(
            [math.log(1 - sigmoid(f - mr)) for f in fake]
        )
        g = -mean([math.log(sigmoid(f - mr)) for f in fake]) - mean(
            [math.log(1 - sigmoid(r - mf)) for r in real]
        )
        return d, g
    raise AssertionError(name)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=repr)
def test_values_equal_closed_forms_on_hand_picked_logits(loss):
    d_expected, g_expected = closed_forms(type(loss).__name__, REAL.tolist(), FAKE.tolist())
    real = REAL if loss.generator_needs_real else None
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d_expected, rel=1e-6)
    assert loss.generator_loss(FAKE, real).item() == pytest.approx(g_expected, rel=1e-6)


# Logits inside every loss's active region, so each derivative is strictly signed there: hinge
# margins (real < 1, fake > -1) and the least-squares targets (real < 1, 0 < fake < 1).
REAL_ACTIVE = torch.tensor([0.5, -0.3, 0.9])
FAKE_ACTIVE = torch.tensor([0.1, 0.4, 0.8, 0.6])


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=repr)
def test_monotone_in_the_right_direction(loss):
    real, fake = REAL_ACTIVE.clone().requires_grad_(), FAKE_ACTIVE.clone().requires_grad_()
    loss.discriminator_loss(real, fake).backward()
    assert (real.grad < 0).all(), "D loss must fall when real logits rise"
    assert (fake.grad > 0).all(), "D loss must fall when fake logits fall"
    fake_g = FAKE_ACTIVE.clone().requires_grad_()
    loss.generator_loss(fake_g, REAL_ACTIVE if loss.generator_needs_real else None).backward()
    assert (fake_g.grad < 0).all(), "G loss must fall when fake logits rise"
    # And as finite differences, not only the sign of the gradient:
    bump = 0.1
    d0 = loss.discriminator_loss(REAL_ACTIVE, FAKE_ACTIVE)
    assert loss.discriminator_loss(REAL_ACTIVE + bump, FAKE_ACTIVE) < d0
    assert loss.discriminator_loss(REAL_ACTIVE, FAKE_ACTIVE - bump) < d0
    real_arg = REAL_ACTIVE if loss.generator_needs_real else None
    assert loss.generator_loss(FAKE_ACTIVE + bump, real_arg) < loss.generator_loss(FAKE_ACTIVE, real_arg)


def test_hinge_ignores_samples_beyond_the_margin():
    real, fake = torch.tensor([1.5, 0.0]).requires_grad_(), torch.tensor([-2.0, 0.0]).requires_grad_()
    HingeLoss().discriminator_loss(real, fake).backward()
    assert real.grad.tolist() == [0.0, -0.5] and fake.grad.tolist() == [0.0, 0.5]


def test_least_squares_optimum_targets():
    # D's loss is zero exactly at real = 1, fake = 0; G's at fake = 1.
    assert LeastSquaresLoss().discriminator_loss(torch.ones(3), torch.zeros(3)).item() == 0
    assert LeastSquaresLoss().generator_loss(torch.ones(3)).item() == 0


def test_relativistic_needs_real_logits():
    assert RelativisticAverageLoss.generator_needs_real and not NonSaturatingLoss.generator_needs_real
    with pytest.raises(ValueError, match="needs the real logits"):
        RelativisticAverageLoss().generator_loss(FAKE)


def test_relativistic_is_shift_invariant():
    # Only differences of logits enter RaGAN: adding a constant to every logit changes nothing.
    loss = RelativisticAverageLoss()
    assert loss.discriminator_loss(REAL + 3, FAKE + 3).item() == pytest.approx(
        loss.discriminator_loss(REAL, FAKE).item(), rel=1e-6
    )
    assert loss.generator_loss(FAKE - 2, REAL - 2).item() == pytest.approx(
        loss.generator_loss(FAKE, REAL).item(), rel=1e-6
    )


def test_relativistic_g_loss_without_real_logits_says_so_and_losses_print_their_name():
    with pytest.raises(ValueError) as raised:
        RelativisticAverageLoss().generator_loss(torch.zeros(2))
    assert str(raised.value) == "RelativisticAverageLoss.generator_loss needs the real logits, got None"
    assert repr(NonSaturatingLoss()) == "NonSaturatingLoss()" and repr(MinimaxLoss()) == "MinimaxLoss()"
