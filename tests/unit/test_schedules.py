import pytest
import torch

from lightning_gan.schedules import LinearDecay


def lrs(scheduler, optimizer, steps):
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return values


def test_hold_then_linear_decay():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    values = lrs(LinearDecay(optimizer, start=4, end=8, final_factor=0.2), optimizer, 11)
    assert values == pytest.approx([1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.2, 0.2])


def test_state_round_trip_resumes_the_schedule():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = LinearDecay(optimizer, start=2, end=6)
    lrs(scheduler, optimizer, 4)
    state = scheduler.state_dict()
    fresh_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    fresh = LinearDecay(fresh_optimizer, start=2, end=6)
    fresh.load_state_dict(state)
    fresh_optimizer.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"]
    assert lrs(fresh, fresh_optimizer, 3) == pytest.approx(lrs(scheduler, optimizer, 3))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"start": 5, "end": 5}, "start < end"), ({"start": 0, "end": 3, "final_factor": 2}, "final_factor")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinearDecay(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), **kwargs)
