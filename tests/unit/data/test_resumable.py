import pytest
import torch
from torch.utils.data import DistributedSampler, TensorDataset

from lightning_gan.data.resumable import ResumableLoader, ResumableSampler, training_loader
from lightning_gan.data.tensors import keep_batch

DATA = TensorDataset(torch.arange(40))


def batches(loader: ResumableLoader) -> list[list[int]]:
    return [batch[0].tolist() for batch in loader]


def test_order_depends_on_seed_and_epoch_only_not_on_the_global_stream():
    first = batches(ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=3), drop_last=True))
    torch.manual_seed(123)
    torch.rand(5)
    again = batches(ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=3), drop_last=True))
    assert first == again
    state = torch.get_rng_state()
    other_seed = batches(ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=4), drop_last=True))
    assert torch.equal(state, torch.get_rng_state())  # iterating drew nothing from the global stream
    assert other_seed != first
    later = ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=3), drop_last=True)
    later.sampler.set_epoch(1)
    assert batches(later) != first
    assert sorted(sum(first, [])) == list(range(40))  # a permutation


def test_loader_resumes_at_the_first_batch_training_did_not_consume():
    loader = ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=0), drop_last=True)
    loader.sampler.set_epoch(2)
    full = batches(loader)
    iterator = iter(loader)
    next(iterator), next(iterator), next(iterator)  # 3 fetched (one of them only prefetched) ...
    loader.consumed_batch(), loader.consumed_batch()  # ... 2 consumed by training
    state = loader.state_dict()
    assert state == {"seed": 0, "epoch": 2, "batches_consumed": 2}

    fresh = ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=99), drop_last=True)
    fresh.load_state_dict(state)
    assert batches(fresh) == full[2:]  # the rest of that epoch, in that seed's order
    assert fresh.batches_consumed == 2 and fresh.state_dict()["seed"] == 0
    assert batches(fresh) == full  # the next pass is a whole epoch again
    assert fresh.batches_consumed == 0 and batches(fresh) == full  # and again
    assert len(fresh) == 5


def test_shards_are_distributed_samplers_own_so_lightning_keeps_them():
    for rank in (0, 1):
        mine = list(ResumableSampler(DATA, num_replicas=2, rank=rank, seed=5))
        reference = list(DistributedSampler(DATA, num_replicas=2, rank=rank, seed=5))
        assert mine == reference
    assert isinstance(ResumableSampler(DATA), DistributedSampler)


def test_training_loader_defaults_to_one_process_and_the_run_seed(monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "11")
    loader = training_loader(DATA, 16, trainer=None, collate_fn=keep_batch)
    assert (loader.sampler.num_replicas, loader.sampler.rank, loader.sampler.seed) == (1, 0, 11)
    assert loader.drop_last and len(loader) == 2


@pytest.mark.parametrize("consumed", [0, 4])
def test_resuming_at_an_epoch_boundary_or_the_last_batch_ends_the_epoch_cleanly(consumed):
    loader = ResumableLoader(DATA, 8, ResumableSampler(DATA), drop_last=True)
    loader.load_state_dict({"seed": 0, "epoch": 0, "batches_consumed": consumed})
    assert len(batches(loader)) == 5 - consumed


class FakeTrainer:
    """What training_loader reads from a trainer: its world size and rank."""

    world_size, global_rank = 2, 1


def test_training_loader_takes_the_trainers_shard_and_shuffles_unless_told_not_to(monkeypatch):
    monkeypatch.delenv("PL_GLOBAL_SEED", raising=False)
    loader = training_loader(DATA, 4, trainer=FakeTrainer())
    reference = list(DistributedSampler(DATA, num_replicas=2, rank=1, shuffle=True, seed=0))
    assert [i for batch in batches(loader) for i in batch] == reference  # the run seed defaults to 0
    assert (loader.sampler.num_replicas, loader.sampler.rank, loader.sampler.shuffle) == (2, 1, True)
    in_order = training_loader(DATA, 4, trainer=FakeTrainer(), shuffle=False)
    assert [i for batch in batches(in_order) for i in batch] == list(range(1, 40, 2))
    assert loader.num_workers == 0 and not loader.persistent_workers and loader.batches_consumed == 0


def test_a_sampler_starts_at_the_epochs_first_index_and_resets_after_a_partial_epoch():
    sampler = ResumableSampler(DATA, shuffle=False, seed=0)
    assert sampler.start == 0 and list(sampler)[:2] == [0, 1]
    sampler.start = 5
    assert list(sampler)[0] == 5 and list(sampler)[0] == 0  # the skip applies to one epoch only


def test_the_skip_applies_to_the_saved_epoch_only():
    # Written after epoch 0's last batch: Lightning goes on with epoch 1, which must start at batch 0.
    loader = ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=0), drop_last=True)
    loader.load_state_dict({"seed": 0, "epoch": 0, "batches_consumed": 5})
    iterator = iter(loader)  # Lightning asks for the iterator before it sets the next epoch
    loader.sampler.set_epoch(1)
    assert loader.batches_consumed == 0  # epoch 1 set, nothing drawn from it yet
    reference = ResumableLoader(DATA, 8, ResumableSampler(DATA, seed=0), drop_last=True)
    reference.sampler.set_epoch(1)
    assert [batch[0].tolist() for batch in iterator] == batches(reference)
    loader.consumed_batch()
    assert loader.state_dict() == {"seed": 0, "epoch": 1, "batches_consumed": 1}


def test_workers_persist_between_epochs():
    loader = ResumableLoader(DATA, 8, ResumableSampler(DATA), drop_last=True, num_workers=1)
    assert loader.num_workers == 1 and loader.persistent_workers
