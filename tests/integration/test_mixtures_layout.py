"""Which table of ``benchmarks/mixtures.py`` a recipe's results go to (``layout_of``)."""

import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmarks are scripts
from mixtures import layout_of  # noqa: E402


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data:\n  class_path: x\n  init_args: {layout: ring, batch_size: 512}\n", "ring"),
        ("data:\n  class_path: x\n  init_args: {layout: grid}\n", "grid"),
        ("data:\n  class_path: x\n  init_args: {batch_size: 64}\n", "grid"),  # the data module's default
        ("model: {}\n", "grid"),
    ],
)
def test_layout_comes_from_the_recipe_not_its_file_name(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / ("ring_named.yaml" if expected == "grid" else "my_recipe.yaml")
    config.write_text(text)
    assert layout_of(config) == expected


def test_shipped_mixture_recipes() -> None:
    assert layout_of(REPO / "configs" / "pacgan_ring.yaml") == "ring"
    assert layout_of(REPO / "configs" / "gan_ring.yaml") == "ring"
    assert layout_of(REPO / "configs" / "pacgan_grid.yaml") == "grid"
