"""UpdateGuard without a Trainer: a stand-in module, and an optimizer whose step calls the hook."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lightning_gan.training import UpdateGuard
from lightning_gan.training.guard import all_finite


class Scaler:
    """A GradScaler stand-in whose scale drops (a skipped step) when ``skip`` is set."""

    def __init__(self) -> None:
        self.scale, self.skip = 1024.0, False

    def is_enabled(self) -> bool:
        return True

    def get_scale(self) -> float:
        return self.scale


class Module:
    """The parts of a LightningModule the guard uses: its trainer's precision plugin and clip_gradients."""

    def __init__(self, scaler: Scaler | None = None) -> None:
        self.trainer = SimpleNamespace(precision_plugin=SimpleNamespace(scaler=scaler))
        self.clipped = []

    def clip_gradients(self, optimizer, gradient_clip_val, gradient_clip_algorithm):
        self.clipped.append((gradient_clip_val, gradient_clip_algorithm))
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if gradient_clip_algorithm == "norm":
            nn.utils.clip_grad_norm_(params, gradient_clip_val)
        else:
            nn.utils.clip_grad_value_(params, gradient_clip_val)


class SteppingOptimizer:
    """Like LightningOptimizer.step under manual optimization: the hook, then the torch step."""

    def __init__(self, guard: UpdateGuard, module: Module, optimizer: torch.optim.Optimizer) -> None:
        self.guard, self.module, self.optimizer = guard, module, optimizer

    def step(self) -> None:
        scaler = self.module.trainer.precision_plugin.scaler
        self.guard.before_step(self.module, self.optimizer)
        if scaler is not None and scaler.skip:
            scaler.scale /= 2
            return
        self.optimizer.step()


def make(grads: list[float], scaler: Scaler | None = None, **kwargs):
    net = nn.Linear(len(grads), 1, bias=False)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
    net.weight.grad = torch.tensor([grads])
    guard = UpdateGuard(**kwargs)
    module = Module(scaler)
    return guard, module, SteppingOptimizer(guard, module, optimizer), net, optimizer


def test_a_finite_update_is_applied_and_its_norm_recorded():
    guard, module, stepping, net, _ = make([3.0, 4.0])
    before = net.weight.detach().clone()
    assert guard.step(module, stepping, "discriminator", record_norm=True)
    assert not torch.equal(before, net.weight)
    assert guard.take_norms() == {"grad_norm_d": torch.tensor(5.0)}  # sqrt(3² + 4²)
    assert guard.take_norms() == {}
    assert guard.take_applied() == {"generator": False, "discriminator": True}
    assert guard.take_applied() == {"generator": False, "discriminator": False}


def test_norms_are_recorded_only_on_logged_updates_that_have_gradients():
    guard, module, stepping, net, _ = make([3.0, 4.0])
    assert guard.step(module, stepping, "discriminator", record_norm=False)
    assert guard.take_norms() == {}
    net.weight.grad = None  # no gradient at all (nothing trained it): nothing to measure
    assert guard.step(module, stepping, "discriminator", record_norm=True)
    assert guard.take_norms() == {}


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_update_is_skipped_counted_and_leaves_weights_and_state(bad):
    guard, module, stepping, net, optimizer = make([1.0, bad], max_consecutive_skips=3)
    before = net.weight.detach().clone()
    assert not guard.step(module, stepping, "generator", record_norm=False)
    assert torch.equal(before, net.weight) and net.weight.grad is None
    assert optimizer.state == {} and guard.skipped_steps == 1 and guard.in_a_row["generator"] == 1
    assert guard.take_applied()["generator"] is False
    net.weight.grad = torch.ones(1, 2)
    assert guard.step(module, stepping, "generator", record_norm=False)
    assert guard.in_a_row["generator"] == 0 and guard.skipped_steps == 1


def test_too_many_skips_in_a_row_stop_with_a_message_that_says_what_to_do():
    guard, module, stepping, net, _ = make([float("nan"), 1.0], max_consecutive_skips=2)
    assert not guard.step(module, stepping, "discriminator", record_norm=False)
    net.weight.grad = torch.full((1, 2), float("nan"))
    with pytest.raises(FloatingPointError, match=r"2 discriminator updates in a row .* \(now 2\)"):
        guard.step(module, stepping, "discriminator", record_norm=False)


@pytest.mark.parametrize(("algorithm", "expected"), [("norm", [0.6, 0.8]), ("value", [1.0, 1.0])])
def test_clipping_uses_the_networks_value_and_the_algorithm(algorithm, expected):
    clip = {"generator": None, "discriminator": 1.0}
    guard, module, stepping, net, optimizer = make([3.0, 4.0], clip=clip, algorithm=algorithm)
    optimizer.step = lambda: None  # keep the clipped gradient to look at
    guard.step(module, stepping, "discriminator", record_norm=True)
    assert module.clipped == [(1.0, algorithm)]
    assert torch.allclose(net.weight.grad, torch.tensor([expected]))
    assert guard.take_norms()["grad_norm_d"] == 5.0  # the norm before clipping
    net.weight.grad = torch.tensor([[3.0, 4.0]])
    guard.step(module, stepping, "generator", record_norm=False)
    assert module.clipped == [(1.0, algorithm)]  # G has no clip value


def test_under_a_grad_scaler_a_lower_scale_after_the_step_means_skipped():
    scaler = Scaler()
    guard, module, stepping, net, _ = make([float("inf"), 1.0], scaler=scaler)
    scaler.skip = True
    assert not guard.step(module, stepping, "discriminator", record_norm=False)
    assert net.weight.grad is not None  # the scaler, not the guard, handles non-finite gradients
    scaler.skip = False
    net.weight.grad = torch.ones(1, 2)
    assert guard.step(module, stepping, "discriminator", record_norm=False)
    assert guard.skipped_steps == 1


def test_a_step_the_guard_did_not_start_is_left_alone():
    guard, module, _, net, optimizer = make([float("nan"), 1.0])
    guard.before_step(module, optimizer)
    assert net.weight.grad is not None


def test_state_round_trip():
    guard, module, stepping, _, _ = make([float("nan"), 1.0])
    guard.step(module, stepping, "discriminator", record_norm=False)
    restored = UpdateGuard()
    restored.load_state_dict(guard.state_dict())
    assert restored.state_dict() == guard.state_dict()
    assert restored.skipped_steps == 1 and restored.in_a_row["discriminator"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clip": {"generator": 0.0}}, "g_gradient_clip_val must be > 0 or None"),
        ({"clip": {"discriminator": -1.0}}, "d_gradient_clip_val must be > 0 or None"),
        ({"algorithm": "max"}, "'norm' or 'value', got 'max'"),
        ({"max_consecutive_skips": 0}, "max_consecutive_skips must be >= 1, got 0"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UpdateGuard(**kwargs)


@pytest.mark.parametrize(
    ("values", "finite"),
    [
        ([1.0, -2.0], True),
        ([float("nan"), 0.0], False),
        ([float("inf"), 1.0], False),
        ([float("-inf"), 1.0], False),
        ([float("inf"), float("-inf")], False),  # cancels to NaN, not to a finite sum
        ([3e38, 3e38], False),  # the sum leaves float32's range: read as non-finite
    ],
)
def test_all_finite_reads_every_element_of_every_tensor(values, finite):
    grads = [torch.zeros(3, 4), torch.tensor(values)]
    assert all_finite(grads) is finite
    assert all_finite([torch.tensor(values), torch.zeros(3)]) is finite


def test_all_finite_sums_half_precision_in_float32():
    # 60000 + 60000 overflows float16 (max 65504) but is a finite float32 sum.
    grads = [torch.full((2,), 60000.0, dtype=torch.float16), torch.ones(2, dtype=torch.bfloat16)]
    assert all_finite(grads)
    grads[1][0] = float("nan")
    assert not all_finite(grads)


def test_a_logged_update_records_the_norm_and_still_skips_non_finite_gradients():
    guard, module, stepping, net, _ = make([float("inf"), 1.0])
    assert not guard.step(module, stepping, "discriminator", record_norm=True)
    assert torch.isinf(guard.take_norms()["grad_norm_d"]) and guard.skipped_steps == 1


def test_max_consecutive_skips_defaults_to_25_and_accepts_1():
    assert UpdateGuard().max_consecutive_skips == 25
    assert UpdateGuard(max_consecutive_skips=1).max_consecutive_skips == 1
    with pytest.raises(ValueError) as raised:
        UpdateGuard(max_consecutive_skips=0)
    assert str(raised.value) == "max_consecutive_skips must be >= 1, got 0"
