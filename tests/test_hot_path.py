"""The per-update shortcuts: taken only where they change nothing, and then bitwise equal."""

from functools import partial

import pytest
import torch
from lightning import Callback, LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from lightning_gan import GAN
from lightning_gan.hot_path import all_finite, bare_step, clear_gradients, is_plain_assignment

from .helpers import quiet_trainer, snapshot, tiny_gan, tiny_mixture


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bad", [None, float("inf"), float("-inf"), float("nan")])
def test_all_finite_finds_any_non_finite_value_and_changes_nothing(dtype, bad):
    tensors = [
        torch.randn(3, 4, dtype=dtype),
        torch.randn(5, dtype=torch.float32),
        torch.randn(2, dtype=dtype),
    ]
    if bad is not None:
        tensors[2][1] = bad
    before = [t.clone() for t in tensors]
    assert all_finite(tensors) is (bad is None)
    assert all(
        torch.equal(a, b) or (a.isnan() == b.isnan()).all() for a, b in zip(tensors, before, strict=True)
    )


def test_all_finite_on_sparse_and_empty_input():
    sparse = torch.sparse_coo_tensor([[0, 2]], [1.0, float("nan")], (4,))
    assert not all_finite([torch.ones(2), sparse])
    assert all_finite([torch.sparse_coo_tensor([[1]], [2.0], (4,))])
    assert all_finite([])


def test_all_finite_resets_its_reused_flag_between_checks():
    good, bad = [torch.ones(3)], [torch.tensor([1.0, float("nan")])]
    checks = [all_finite(tensors) for tensors in (good, bad, good, bad, bad, good)]
    assert checks == [True, False, True, False, False, True]


def test_plain_assignments_skip_module_checks_and_the_rest_still_register():
    gan = tiny_gan()
    assert is_plain_assignment(gan, "iteration", 3)  # an ordinary attribute, an int
    assert not is_plain_assignment(gan, "iteration", torch.ones(()))  # a tensor: nn.Module decides
    assert not is_plain_assignment(gan, "generator", None)  # a child module: not in __dict__
    assert not is_plain_assignment(gan, "new_name", 1)  # not yet an attribute
    gan.iteration, gan._sums = 3, {"a": torch.ones(())}
    assert gan.iteration == 3 and gan._sums["a"] == 1
    keys = set(gan.state_dict())
    gan.note = 1
    gan.note = nn.Linear(2, 2)  # an ordinary attribute becomes a child module
    assert "note" not in gan.__dict__ and gan.note is gan._modules["note"]
    assert set(gan.state_dict()) == keys | {"note.weight", "note.bias"}
    gan.register_buffer("scale", torch.ones(2))
    gan.scale = None  # a buffer slot set to None stays a buffer slot
    assert "scale" in gan._buffers and gan.scale is None
    gan.weight = nn.Parameter(torch.zeros(2))
    gan.weight = nn.Parameter(torch.ones(2))
    assert torch.equal(gan._parameters["weight"], torch.ones(2))


class HookCounter(Callback):
    """Counts Lightning's backward and step hooks; overriding them makes the fit use Lightning's dispatch."""

    def __init__(self) -> None:
        self.before = self.after = self.steps = 0

    def on_before_backward(self, trainer, pl_module, loss) -> None:  # noqa: D102
        self.before += 1

    def on_after_backward(self, trainer, pl_module) -> None:  # noqa: D102
        self.after += 1

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:  # noqa: D102
        self.steps += 1


def count_calls(monkeypatch, cls, name):
    calls = []
    original = getattr(cls, name)

    def counting(self, *args, **kwargs):
        calls.append(name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counting)
    return calls


@pytest.fixture
def manual_backward_calls(monkeypatch):
    return count_calls(monkeypatch, LightningModule, "manual_backward")


@pytest.fixture
def step_calls(monkeypatch):
    return count_calls(monkeypatch, LightningOptimizer, "step")


def fit(callbacks=(), cls=GAN, **trainer_kwargs):
    torch.manual_seed(0)
    gan = tiny_gan(cls, d_steps_per_g_step=2, max_iterations=6)
    trainer = quiet_trainer(
        limit_val_batches=0, log_every_n_steps=4, callbacks=list(callbacks), **trainer_kwargs
    )
    trainer.fit(gan, tiny_mixture())
    return gan


def test_plain_backward_and_step_are_bitwise_equal_to_lightnings_dispatch(
    manual_backward_calls, step_calls, spans
):
    plain = fit()
    # Nothing overrides a backward or step hook: loss.backward() and plain_step directly, and the
    # optimizers' steps and zero_grads open no profiler span (bare_step, clear_gradients).
    assert manual_backward_calls == step_calls == []
    assert not [name for name in spans if name.startswith("Optimizer.")]
    counter = HookCounter()
    dispatched = fit([counter])
    # Through Lightning's dispatch the steps go through PyTorch's wrapper, span included.
    assert sum(name.startswith("Optimizer.step#") for name in spans) == 18
    # 6 iterations of k = 2 D updates and 1 G update: 18 backward passes and 18 steps through
    # Lightning, every hook called; the step counter agrees either way.
    assert len(manual_backward_calls) == counter.before == counter.after == 18
    assert len(step_calls) == counter.steps == 18
    assert plain.trainer.global_step == dispatched.trainer.global_step == 18
    assert plain.skipped_steps == dispatched.skipped_steps == 0
    for name in ("generator", "discriminator"):
        a, b = snapshot(getattr(plain, name)), snapshot(getattr(dispatched, name))
        assert all(torch.equal(a[k], b[k]) for k in a)
    for opt_a, opt_b in zip(plain.trainer.optimizers, dispatched.trainer.optimizers, strict=True):
        for state_a, state_b in zip(opt_a.state.values(), opt_b.state.values(), strict=True):
            assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


class HookedGAN(GAN):
    """A subclass with its own backward hook must see it called."""

    def on_after_backward(self) -> None:  # noqa: D102
        self.after_backward = getattr(self, "after_backward", 0) + 1


def test_module_backward_hook_keeps_lightnings_dispatch(manual_backward_calls, step_calls):
    gan = fit(cls=HookedGAN)
    assert gan.after_backward == len(manual_backward_calls) == 18
    assert step_calls == []  # the module's own step hook is called by plain_step


class StepHookGAN(GAN):
    """A subclass's ``on_before_optimizer_step`` runs on the plain step too, before the update."""

    def on_before_optimizer_step(self, optimizer) -> None:  # noqa: D102
        super().on_before_optimizer_step(optimizer)
        self.grads_seen = getattr(self, "grads_seen", 0) + all(
            p.grad is not None for group in optimizer.param_groups for p in group["params"]
        )


def test_module_step_hook_runs_on_the_plain_step(step_calls):
    gan = fit(cls=StepHookGAN)
    assert step_calls == [] and gan.grads_seen == 18 and gan.trainer.global_step == 18


@pytest.mark.parametrize("trainer_kwargs", [{"precision": "bf16-mixed"}, {"profiler": "simple"}])
def test_other_precision_or_a_profiler_keeps_lightnings_dispatch(
    manual_backward_calls, step_calls, trainer_kwargs
):
    fit(**trainer_kwargs)
    assert len(manual_backward_calls) == len(step_calls) == 18


def adam_pair() -> tuple[nn.Module, torch.optim.Adam, nn.Module, torch.optim.Adam]:
    """Two identical small networks with Adam, gradients set, one Adam step already taken."""
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    b = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = torch.optim.Adam(a.parameters(), lr=0.1), torch.optim.Adam(b.parameters(), lr=0.1)
    x = torch.randn(8, 3)
    for net, opt in ((a, opt_a), (b, opt_b)):
        net(x).square().mean().backward()
        opt.step()
        net(x).square().mean().backward()
    return a, opt_a, b, opt_b


def profiled_names(action) -> set[str]:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        action()
    return {event.name for event in profile.events()}


@pytest.fixture
def spans(monkeypatch) -> list[str]:
    """The names of the ``record_function`` spans opened while a test runs."""
    opened = []
    original = torch.autograd.profiler.record_function.__enter__

    def enter(self):
        opened.append(self.name)
        return original(self)

    monkeypatch.setattr(torch.autograd.profiler.record_function, "__enter__", enter)
    return opened


def test_bare_step_is_the_same_update_and_defers_to_hooks_and_the_profiler(spans):
    a, opt_a, b, opt_b = adam_pair()
    spans.clear()
    bare_step(opt_a)
    assert spans == []  # no profiler, no hook: the update alone
    opt_b.step()
    assert spans == ["Optimizer.step#Adam.step"]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    for state_a, state_b in zip(opt_a.state.values(), opt_b.state.values(), strict=True):
        assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    # A registered step hook, global or on this optimizer, runs: bare_step goes through the wrapper.
    calls = []
    handles = [
        register_optimizer_step_pre_hook(lambda *_: calls.append("global pre")),
        opt_a.register_step_post_hook(lambda *_: calls.append("own post")),
    ]
    bare_step(opt_a)
    for handle in handles:
        handle.remove()
    assert calls == ["global pre", "own post"]
    # Under a profiler the step keeps its span.
    assert "Optimizer.step#Adam.step" in profiled_names(lambda: bare_step(opt_a))


def test_clear_gradients_sets_them_to_none_and_keeps_a_profiler_span_or_an_own_zero_grad(spans):
    a, opt_a, _, _ = adam_pair()
    opt_a.add_param_group({"params": [nn.Parameter(torch.ones(2))]})
    opt_a.param_groups[1]["params"][0].grad = torch.ones(2)
    spans.clear()
    clear_gradients(opt_a)
    assert spans == []
    assert all(p.grad is None for group in opt_a.param_groups for p in group["params"])
    a[0].weight.grad = torch.ones_like(a[0].weight)
    assert "Optimizer.zero_grad#Adam.zero_grad" in profiled_names(lambda: clear_gradients(opt_a))
    assert a[0].weight.grad is None

    class OwnZeroGrad(torch.optim.SGD):
        def zero_grad(self, set_to_none: bool = True) -> None:
            self.cleared = set_to_none
            super().zero_grad(set_to_none)

    own = OwnZeroGrad(a.parameters(), lr=0.1)
    clear_gradients(own)
    assert own.cleared is True


def test_bare_step_goes_through_a_step_set_on_the_instance():
    # A learning-rate scheduler replaces the instance's step with a wrapper that notes the call;
    # skipping it would make the scheduler warn that it stepped before the optimizer.
    a, opt_a, b, opt_b = adam_pair()
    scheduler = torch.optim.lr_scheduler.LinearLR(opt_a, start_factor=1.0, end_factor=0.5, total_iters=4)
    assert not getattr(opt_a, "_opt_called", False)
    bare_step(opt_a)
    opt_b.step()
    assert opt_a._opt_called
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    scheduler.step()
    assert opt_a.param_groups[0]["lr"] == pytest.approx(0.1 * (1 - 0.5 / 4))


def test_a_fit_with_schedules_keeps_the_plain_step_and_gets_no_scheduler_order_warning(recwarn):
    linear = partial(torch.optim.lr_scheduler.LinearLR, start_factor=1.0, end_factor=0.5, total_iters=10)
    gan = tiny_gan(g_scheduler=linear, d_scheduler=linear)
    quiet_trainer(max_steps=12).fit(gan, tiny_mixture())
    assert gan._plain_step
    assert not [w for w in recwarn if "lr_scheduler.step()" in str(w.message)]
    # 6 iterations of one G and one D update each: both schedules stepped 6 times.
    assert [s.last_epoch for s in gan.lr_schedulers()] == [6, 6]


def test_clear_gradients_keeps_a_zero_grad_set_on_the_instance():
    a, opt_a, _, _ = adam_pair()
    calls = []
    opt_a.zero_grad = lambda set_to_none=True: calls.append(set_to_none)
    clear_gradients(opt_a)
    assert calls == [True]
    assert a[0].weight.grad is not None  # the instance's zero_grad, which clears nothing, was used
