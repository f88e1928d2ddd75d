"""Readable errors for a checkpoint of another architecture."""

import pytest
import torch
from torch import nn

from lightning_gan.training.checks import check_architecture


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
