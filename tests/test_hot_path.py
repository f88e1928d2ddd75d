"""The per-update shortcuts: taken only where they change nothing, and then bitwise equal."""

import pytest
import torch
from lightning import Callback, LightningModule

from lightning_gan import GAN
from lightning_gan.hot_path import all_finite

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


class BackwardCounter(Callback):
    """Counts Lightning's backward hooks; overriding them makes the fit use ``manual_backward``."""

    def __init__(self) -> None:
        self.before = self.after = 0

    def on_before_backward(self, trainer, pl_module, loss) -> None:  # noqa: D102
        self.before += 1

    def on_after_backward(self, trainer, pl_module) -> None:  # noqa: D102
        self.after += 1


@pytest.fixture
def manual_backward_calls(monkeypatch):
    calls = []
    original = LightningModule.manual_backward

    def counting(self, loss, *args, **kwargs):
        calls.append(float(loss.detach()))
        return original(self, loss, *args, **kwargs)

    monkeypatch.setattr(LightningModule, "manual_backward", counting)
    return calls


def fit(callbacks=(), cls=GAN, **trainer_kwargs):
    torch.manual_seed(0)
    gan = tiny_gan(cls, d_steps_per_g_step=2, max_iterations=6)
    quiet_trainer(limit_val_batches=0, log_every_n_steps=4, callbacks=list(callbacks), **trainer_kwargs).fit(
        gan, tiny_mixture()
    )
    return gan


def test_plain_backward_is_bitwise_equal_to_lightnings_dispatch(manual_backward_calls):
    plain = fit()
    assert manual_backward_calls == []  # nothing overrides a backward hook: loss.backward() directly
    counter = BackwardCounter()
    dispatched = fit([counter])
    # 6 iterations of k = 2 D updates and 1 G update: 18 backward passes through Lightning, hooks called.
    assert len(manual_backward_calls) == counter.before == counter.after == 18
    for name in ("generator", "discriminator"):
        a, b = snapshot(getattr(plain, name)), snapshot(getattr(dispatched, name))
        assert all(torch.equal(a[k], b[k]) for k in a)


class HookedGAN(GAN):
    """A subclass with its own backward hook must see it called."""

    def on_after_backward(self) -> None:  # noqa: D102
        self.after_backward = getattr(self, "after_backward", 0) + 1


def test_module_backward_hook_keeps_lightnings_dispatch(manual_backward_calls):
    gan = fit(cls=HookedGAN)
    assert gan.after_backward == len(manual_backward_calls) == 18


@pytest.mark.parametrize("trainer_kwargs", [{"precision": "bf16-mixed"}, {"profiler": "simple"}])
def test_other_precision_or_a_profiler_keeps_lightnings_dispatch(manual_backward_calls, trainer_kwargs):
    fit(**trainer_kwargs)
    assert len(manual_backward_calls) == 18
