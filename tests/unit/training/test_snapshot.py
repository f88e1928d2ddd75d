from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lightning_gan.schedules import LinearDecay
from lightning_gan.training.snapshot import Snapshot, host_copy


def fit_like():
    """A module, its Adam and a LinearDecay schedule, the way a Trainer holds them."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    optimizer = torch.optim.Adam(module.parameters(), lr=0.1)
    scheduler = LinearDecay(optimizer, start=0, end=10)
    trainer = SimpleNamespace(
        optimizers=[optimizer], lr_scheduler_configs=[SimpleNamespace(scheduler=scheduler)]
    )
    return trainer, module, optimizer, scheduler


def train(module, optimizer, scheduler, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        module(torch.randn(8, 3)).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()


def test_host_copy_copies_tensors_and_walks_containers():
    x = torch.ones(2)
    copied = host_copy({"a": [x, (x, 3)], "b": "s"})
    x.add_(1)
    assert torch.equal(copied["a"][0], torch.ones(2)) and isinstance(copied["a"][1], tuple)
    assert copied["a"][1][1] == 3 and copied["b"] == "s"


def test_restore_gives_back_weights_buffers_optimizer_and_schedule_with_lowered_rates():
    trainer, module, optimizer, scheduler = fit_like()
    train(module, optimizer, scheduler, 3)
    snapshot = Snapshot()
    snapshot.take(trainer, module, iteration=3)
    weights = {k: v.clone() for k, v in module.state_dict().items()}
    moments = optimizer.state_dict()["state"][0]["exp_avg"].clone()
    lr_at_snapshot = optimizer.param_groups[0]["lr"]  # 0.1 · (1 - 3/10)

    train(module, optimizer, scheduler, 4)  # weights, running stats, moments and schedule move on
    snapshot.restore(trainer, module, lr_factor=0.5)

    for key, value in module.state_dict().items():
        assert torch.equal(value, weights[key]), key  # incl. BatchNorm's running stats
    assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], moments)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * lr_at_snapshot)
    assert scheduler.base_lrs == [pytest.approx(0.05)]
    train(module, optimizer, scheduler, 1)  # the schedule goes on from the halved rate
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * (1 - 4 / 10))


def test_restore_without_a_snapshot_says_so():
    trainer, module, *_ = fit_like()
    with pytest.raises(RuntimeError, match="no snapshot was taken"):
        Snapshot().restore(trainer, module, 0.5)
