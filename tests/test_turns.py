"""The turn-taking that interleaves the sides of ``benchmarks/overhead.py`` (``benchmarks/turns.py``)."""

import importlib.util
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType


def load_turns() -> ModuleType:
    """Import ``benchmarks/turns.py`` (the benchmarks are scripts, not a package)."""
    path = Path(__file__).parents[1] / "benchmarks" / "turns.py"
    spec = importlib.util.spec_from_file_location("turns", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


turns = load_turns()


def looping_side(
    baton: "turns.Baton", label: str, iterations: int, trace: list[str], pause: float = 0.001
) -> None:
    """A side that ticks, records that it ran, and sleeps ``pause`` seconds per iteration."""
    for _ in range(iterations):
        baton.tick(label)
        trace.append(label)
        time.sleep(pause)


def run_within(
    baton: "turns.Baton", sides: dict[str, Callable[[], None]], seconds: float = 30.0
) -> list[BaseException]:
    """``run_in_turns`` in a daemon thread; fails the test if it deadlocks; returns what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            turns.run_in_turns(baton, sides)
        except Exception as error:
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), "the sides deadlocked waiting for the baton"
    return raised


def test_sides_take_turns_of_one_block_in_a_rotating_order() -> None:
    labels, block, blocks = ("a", "b", "c"), 4, 5
    baton = turns.Baton(labels, block)
    trace: list[str] = []
    sides = {
        label: (lambda label=label: looping_side(baton, label, blocks * block + 1, trace)) for label in labels
    }
    assert run_within(baton, sides) == []

    runs = [[trace[0], 1]]  # consecutive iterations of one side: [label, length]
    for label in trace[1:]:
        if label == runs[-1][0]:
            runs[-1][1] += 1
        else:
            runs.append([label, 1])
    timed, last = runs[: 3 * blocks], runs[3 * blocks :]
    assert [length for _, length in timed] == [block] * (3 * blocks)
    rotations = [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert [label for label, _ in timed] == [x for r in range(blocks) for x in rotations[r % 3]]
    assert sorted(label for label, _ in last) == ["a", "b", "c"] and all(n == 1 for _, n in last)
    for label in labels:  # each block: `block` iterations of ≥ 1 ms sleep
        assert len(baton.seconds[label]) == blocks
        assert all(block * 0.001 <= s for s in baton.seconds[label])


def test_a_block_times_only_its_own_side() -> None:
    baton = turns.Baton(("fast", "slow"), 4)
    pauses = {"fast": 0.001, "slow": 0.025}  # a slow block takes ≥ 100 ms
    sides = {
        label: (lambda label=label: looping_side(baton, label, 5 * 4 + 1, [], pauses[label]))
        for label in pauses
    }
    assert run_within(baton, sides) == []
    assert min(baton.seconds["slow"]) >= 0.1
    # Counting the wait through the slow side's turns would add ≥ 200 ms to 2 of the 5 fast blocks.
    assert sum(baton.seconds["fast"]) / 5 < 0.05


def test_a_failing_side_leaves_the_rotation_and_its_error_is_raised() -> None:
    baton = turns.Baton(("ok", "bad"), 2)
    trace: list[str] = []

    def bad() -> None:
        baton.tick("bad")
        trace.append("bad")
        raise RuntimeError("side failed")

    sides = {"ok": lambda: looping_side(baton, "ok", 7, trace), "bad": bad}
    assert [str(e) for e in run_within(baton, sides)] == ["side failed"]
    assert trace.count("ok") == 7 and trace.count("bad") == 1
    assert len(baton.seconds["ok"]) == 3 and baton.seconds["bad"] == []


def test_a_side_failing_before_its_first_tick_does_not_block_the_start() -> None:
    baton = turns.Baton(("ok", "bad"), 2)
    trace: list[str] = []

    def bad() -> None:
        raise ValueError("setup failed")

    raised = run_within(baton, {"bad": bad, "ok": lambda: looping_side(baton, "ok", 5, trace)})
    assert [str(e) for e in raised] == ["setup failed"]
    assert trace == ["ok"] * 5 and len(baton.seconds["ok"]) == 2
