import math

import pytest
import torch

from lightning_gan.losses import MinimaxLoss, NonSaturatingLoss

LOSSES = [MinimaxLoss(), NonSaturatingLoss()]
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
