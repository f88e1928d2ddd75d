"""The sides of ``benchmarks/overhead.py`` do the same work: same numbers, bit for bit.

The benchmark's ratios mean something only if the sides compute the same thing, so that they differ
in code alone (speed also depends on the values: subnormal floats are slow). Each side here runs
the MLP case for a few iterations in this process, ticking a turn that never waits.
"""

import argparse
import sys

import torch

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmarks are scripts
import overhead_sides  # noqa: E402


class NoWait:
    """A turn that only counts ticks."""

    def __init__(self) -> None:
        self.ticks = 0

    def tick(self) -> None:
        self.ticks += 1


def run(label: str, iterations: int, scratch: str) -> tuple[str, int]:
    """Digest of the MLP case's networks after ``iterations`` iterations of side ``label``; its ticks."""
    generator, discriminator, make_loader, lr = overhead_sides.case("mlp")
    args = argparse.Namespace(scratch=scratch, progress_bar=False)
    turn = NoWait()
    overhead_sides.LOOPS[label](
        overhead_sides.Work(generator, discriminator, make_loader(), lr, iterations, turn, args)
    )
    return overhead_sides.digest(generator, discriminator), turn.ticks


def test_every_side_ends_with_the_same_networks(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    # 200 iterations cross the first epoch's end (195 batches of 512): each epoch's order must match too.
    results = {label: run(label, 200, str(tmp_path)) for label in overhead_sides.LOOPS}
    assert {ticks for _, ticks in results.values()} == {200}
    assert len({digest for digest, _ in results.values()}) == 1, results
    fresh, _ = run("plain", 1, str(tmp_path))
    assert fresh != results["plain"][0]  # the digest sees training


def test_the_digest_changes_with_any_bit_of_any_tensor():
    net = torch.nn.Linear(2, 2)
    before = overhead_sides.digest(net)
    with torch.no_grad():
        net.bias[1] = torch.nextafter(net.bias[1], torch.tensor(1.0))
    assert overhead_sides.digest(net) != before
