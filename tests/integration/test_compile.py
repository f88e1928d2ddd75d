"""``GAN(compile=...)``: the eager results within float tolerance, the same checkpoint keys, penalties
that need double backward run eager, and a resumed compiled fit ends where an uninterrupted one does."""

from pathlib import Path

import pytest
import torch
from lightning import Callback, seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_gan.ema import GeneratorEMA
from lightning_gan.regularizers import R1Penalty
from lightning_gan.training.compiled import CompiledNetworks
from tests.helpers import quiet_trainer, tiny_gan, tiny_mixture


class CompiledForms(Callback):
    """The number of compiled callables the GAN holds after each batch (they are dropped at the end)."""

    def __init__(self) -> None:
        self.counts: list[int] = []

    def on_train_batch_end(self, trainer, gan, *_) -> None:
        self.counts.append(len(gan.compiled.compiled))


#: Dynamo and AOT autograd without code generation: what compile changes about the autograd graph
#: (toggled requires_grad, double backward, DDP hooks), at a fraction of inductor's compile time.
AOT = {"backend": "aot_eager"}


def train(iterations: int, compile, ckpt_path: Path | None = None, save_in: Path | None = None, **kwargs):
    """A tiny GAN with lazy R1 (double backward) and EMA, fitted from seed 0.

    ``save_in``: write ``half.ckpt`` there after iteration 4 (Lightning's ModelCheckpoint after
    optimizer step 8, during the fit), as a run stopped there would have it.
    """
    seed_everything(0)
    gan = tiny_gan(
        compile=compile,
        max_iterations=iterations,
        regularizers=[R1Penalty(gamma=1.0, every=2)],
        ema=GeneratorEMA(decay=0.9),
        **kwargs,
    )
    gan.forms = CompiledForms()
    callbacks: list[Callback] = [gan.forms]
    if save_in is not None:
        callbacks.append(ModelCheckpoint(save_in, "half", every_n_train_steps=8, save_top_k=-1))
    trainer = quiet_trainer(
        limit_val_batches=0, callbacks=callbacks, enable_checkpointing=save_in is not None
    )
    trainer.fit(gan, datamodule=tiny_mixture(), ckpt_path=ckpt_path, weights_only=False)
    return gan


def assert_close_states(a: torch.nn.Module, b: torch.nn.Module, **tolerance: float) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], **tolerance, msg=key)


def test_options_are_checked():
    with pytest.raises(ValueError, match="compile must be True, False or a dict of torch.compile arguments"):
        CompiledNetworks("yes")  # type: ignore[arg-type]
    assert CompiledNetworks(False)(net := torch.nn.Linear(1, 1)) is net
    assert CompiledNetworks({}).options == {} and CompiledNetworks(True).options == {}  # defaults
    assert CompiledNetworks({"mode": "max-autotune"}).options == {"mode": "max-autotune"}


def test_compiled_fit_equals_eager_with_the_same_checkpoint_keys():
    eager = train(6, False)
    compiled = train(6, AOT)
    assert compiled.forms.counts == [2] * 6 and eager.forms.counts == [0] * 6  # G and D ran compiled
    assert compiled.compiled.compiled == {}  # dropped after the fit
    assert_close_states(eager, compiled, rtol=1e-5, atol=1e-6)  # G, D and G_ema, same keys


@pytest.mark.slow
def test_inductor_fit_equals_eager_within_float_tolerance():
    """The default backend (inductor's generated CPU kernels), with a joint D forward and k = 2."""
    eager = train(4, False, d_steps_per_g_step=2)
    compiled = train(4, True, d_steps_per_g_step=2)
    assert_close_states(eager, compiled, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("compile", [False, AOT], ids=["eager", "compiled"])
def test_compiled_fit_resumes_exactly(tmp_path, compile):
    straight = train(8, compile)
    train(8, compile, save_in=tmp_path)
    resumed = train(8, compile, ckpt_path=tmp_path / "half.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
