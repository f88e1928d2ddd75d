import random
import warnings

import numpy as np
import pytest
import torch
from lightning import seed_everything
from torch import nn

from lightning_gan.rng import rng_states
from lightning_gan.training import RunState
from tests.helpers import quiet_trainer, tiny_gan, tiny_mixture


def draws() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random()


def test_evaluation_draws_from_its_own_stream_and_gives_trainings_back():
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    expected = draws()
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    state = RunState()
    state.evaluation_seed = 40
    state.enter_evaluation(rank=2)
    inside = torch.rand(2)
    state.leave_evaluation()
    assert draws() == expected
    torch.manual_seed(42)  # evaluation_seed + rank
    assert torch.equal(inside, torch.rand(2))


def test_a_saved_rank_state_puts_back_the_streams_gradients_and_batches():
    net = nn.Linear(2, 1)
    net.weight.grad = torch.full((1, 2), 7.0)
    state = RunState()
    state.batches = [torch.ones(3, 2)]
    torch.manual_seed(3)
    (saved,) = state.rank_states(net, mid_update=True)
    expected = torch.rand(4)
    torch.manual_seed(99)
    net.weight.grad, net.bias.grad = None, None
    restored = RunState()
    restored.saved = [saved]
    restored.start_fit(rank=0, world=1, resumed=True, discriminator=net, to_device=lambda b: b * 2)
    assert torch.equal(torch.rand(4), expected)
    assert torch.equal(net.weight.grad, torch.full((1, 2), 7.0)) and net.bias.grad is None
    assert torch.equal(restored.batches[0], torch.full((3, 2), 2.0)) and restored.saved is None


def test_not_mid_update_nothing_but_the_streams_is_saved():
    (saved,) = RunState().rank_states(nn.Linear(2, 1), mid_update=False)
    assert set(saved) == {"rng"}


def test_saved_streams_load_with_weights_only(tmp_path):
    torch.save({"rank_states": [{"rng": rng_states()}]}, tmp_path / "x.pt")
    loaded = torch.load(tmp_path / "x.pt", weights_only=True)
    assert torch.equal(loaded["rank_states"][0]["rng"]["torch"], torch.get_rng_state())


def test_another_number_of_processes_warns_and_reseeds_per_rank():
    state = RunState()
    state.saved = [{"rng": rng_states()}] * 2
    torch.manual_seed(5)
    with pytest.warns(UserWarning, match="random streams of 2 processes but this run has 3"):
        state.start_fit(rank=1, world=3, resumed=True, discriminator=nn.Linear(1, 1), to_device=lambda b: b)
    assert torch.initial_seed() == 6  # initial seed + rank


def test_a_new_fit_ignores_saved_streams():
    state, net = RunState(), nn.Linear(1, 1)
    state.saved = [{"rng": rng_states()}]
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    state.start_fit(rank=0, world=1, resumed=False, discriminator=net, to_device=lambda b: b)
    assert torch.equal(torch.rand(1), expected) and state.saved is None


def test_a_new_fit_after_loading_weights_does_not_warn_about_saved_streams():
    """``load_from_checkpoint`` then ``fit`` without ``ckpt_path``: a fresh start, nothing to warn about."""
    state = RunState()
    state.saved = [{"rng": rng_states()}] * 2  # saved by two processes, fitted by one
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state.start_fit(rank=0, world=1, resumed=False, discriminator=nn.Linear(1, 1), to_device=lambda b: b)
    assert state.saved is None


@pytest.mark.parametrize(("seed", "expected"), [(None, 0 + 1), ("7", 7 + 1)])
def test_the_evaluation_seed_is_the_fits_seed_or_zero(monkeypatch, seed, expected):
    monkeypatch.delenv("PL_GLOBAL_SEED", raising=False)
    if seed is not None:
        monkeypatch.setenv("PL_GLOBAL_SEED", seed)  # what seed_everything sets
    state = RunState()
    state.enter_evaluation(rank=1)
    inside = torch.rand(3)
    state.leave_evaluation()
    torch.manual_seed(expected)  # evaluation seed + rank
    assert torch.equal(inside, torch.rand(3)) and state.evaluation_seed == expected - 1


def test_a_checkpoint_during_evaluation_keeps_trainings_streams():
    d = nn.Linear(1, 1)
    torch.manual_seed(3)
    training = rng_states()
    state = RunState()
    state.enter_evaluation(rank=0)
    torch.rand(5)  # evaluation draws
    assert torch.equal(state.rank_states(d, mid_update=False)[0]["rng"]["torch"], training["torch"])
    state.leave_evaluation()
    torch.rand(2)  # training draws again
    now = rng_states()
    assert torch.equal(state.rank_states(d, mid_update=False)[0]["rng"]["torch"], now["torch"])


def test_one_process_keeps_its_stream_where_seeding_and_building_left_it():
    # Only several ranks are reseeded (seed + rank, so that they draw different noise).
    def fit(draws_before: int) -> list[torch.Tensor]:
        seed_everything(0)
        gan = tiny_gan(max_iterations=2)
        torch.rand(draws_before)
        quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
        return [p.detach().clone() for p in gan.generator.parameters()]

    assert not all(torch.equal(a, b) for a, b in zip(fit(0), fit(7), strict=True))
