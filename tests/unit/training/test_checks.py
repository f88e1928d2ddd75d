"""Readable errors for a checkpoint of another architecture and for strategies a GAN cannot run under."""

from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from lightning.pytorch.strategies import (
    DDPStrategy,
    DeepSpeedStrategy,
    FSDPStrategy,
    ModelParallelStrategy,
    SingleDeviceStrategy,
)
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from lightning_gan.training.checks import check_architecture, check_strategy, check_wrapping


def message(model: nn.Module, saved: dict) -> str:
    with pytest.raises(ValueError) as raised:
        check_architecture(model, saved)
    return str(raised.value)


def test_missing_extra_and_reshaped_weights_are_listed_in_that_order():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    saved = {"0.weight": torch.zeros(4, 2), "0.bias": torch.zeros(3), "2.weight": torch.zeros(1)}
    assert message(model, saved) == (
        "the checkpoint was written by another architecture than this Sequential (4 differences: "
        "1.weight missing from the checkpoint; 1.bias missing from the checkpoint; 2.weight not in this "
        "model; 0.weight: checkpoint (4, 2), model (3, 2)); build the model with the config it was "
        "trained with"
    )


@pytest.mark.parametrize(("layers", "extra", "more"), [(2, 0, ""), (2, 1, ""), (3, 0, "; and 1 more")])
def test_the_first_five_differences_are_shown_and_the_rest_counted(layers, extra, more):
    model = nn.Sequential(*(nn.Linear(1, 1) for _ in range(layers)))
    saved = {f"extra{i}": torch.zeros(1) for i in range(extra)}
    missing = [f"{i}.{p} missing from the checkpoint" for i in range(layers) for p in ("weight", "bias")]
    listed = (missing + [f"extra{i} not in this model" for i in range(extra)])[:5]
    count = 2 * layers + extra  # 4, 5, 6
    assert f"({count} differences: {'; '.join(listed)}{more}); build" in message(model, saved)


def test_matching_weights_pass():
    model = nn.Linear(2, 1)
    check_architecture(model, {key: value.clone() for key, value in model.state_dict().items()})


def test_a_checkpoint_without_weights_is_another_architecture():
    from lightning_gan.training.checkpoint_state import load_gan_state
    from tests.helpers import tiny_gan

    with pytest.raises(
        ValueError, match=r"another architecture than this GAN \(\d+ differences: generator\."
    ):
        load_gan_state(tiny_gan(), {"gan_state": {}})


@pytest.mark.parametrize("strategy", [FSDPStrategy, DeepSpeedStrategy, ModelParallelStrategy])
def test_sharded_and_model_parallel_strategies_are_refused_with_the_way_out(strategy):
    # Built without __init__: FSDP needs a GPU, DeepSpeed its package; only the type is read.
    trainer = SimpleNamespace(strategy=strategy.__new__(strategy))
    with pytest.raises(ValueError) as raised:
        check_strategy(trainer)
    assert str(raised.value) == (
        f"strategy {strategy.__name__} is not supported: Lightning runs FSDP, DeepSpeed and "
        "model-parallel strategies only with automatic optimization, and a GAN optimizes G and D by "
        "hand; use strategy='gan_ddp' (one DDP wrapper per network)"
    )


@pytest.mark.parametrize("strategy", [DDPStrategy, SingleDeviceStrategy])
def test_ddp_and_single_device_strategies_pass_the_strategy_check(strategy):
    check_strategy(SimpleNamespace(strategy=strategy.__new__(strategy)))


@pytest.fixture
def one_process_group(tmp_path):
    """A gloo process group of one rank in this process, so a real DDP wrapper can be built."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_whole_module_ddp_without_unused_parameter_search_is_refused(one_process_group):
    wrapped = DistributedDataParallel(nn.Linear(2, 1), find_unused_parameters=False)
    with pytest.raises(ValueError) as raised:
        check_wrapping(SimpleNamespace(strategy=SimpleNamespace(model=wrapped)))
    assert str(raised.value) == (
        "strategy 'ddp' wraps the whole GAN in one DistributedDataParallel, which fails as soon as a "
        "phase leaves the other network without gradients; use strategy='gan_ddp' (also "
        "'gan_ddp_spawn', 'gan_ddp_fork': one wrapper per network) or "
        "'ddp_find_unused_parameters_true'. The lightning-gan CLI maps 'ddp' to 'gan_ddp' itself."
    )


def test_ddp_that_searches_unused_parameters_and_an_unwrapped_model_pass(one_process_group):
    searching = DistributedDataParallel(nn.Linear(2, 1), find_unused_parameters=True)
    check_wrapping(SimpleNamespace(strategy=SimpleNamespace(model=searching)))
    check_wrapping(SimpleNamespace(strategy=SimpleNamespace(model=nn.Linear(2, 1))))
