"""The turn-taking that interleaves the sides of ``benchmarks/overhead.py`` (``benchmarks/turns.py``).

The sides run in spawned processes, so they are module-level functions here. Each one writes the
time of every iteration to its own file; merged, the files show which side ran when.
"""

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmarks are scripts
import turns  # noqa: E402

Plan = dict[str, tuple[int, float, str | None]]  # label → (iterations, seconds per iteration, failure)


def side(label: str, turn: "turns.Turn", plan: Plan, log_dir: str) -> None:
    """Tick, log the time and sleep, ``plan[label]`` times, failing as the plan says.

    Failure ``"setup"`` raises before the first tick, ``"raise"`` right after it, and ``"die"`` ends
    the process with exit code 3 after two ticks, without a word to its pipe.
    """
    iterations, pause, failure = plan[label]
    if failure == "setup":
        raise ValueError("setup failed")
    with open(os.path.join(log_dir, label), "w") as log:
        for n in range(iterations):
            turn.tick()
            log.write(f"{time.perf_counter()}\n")
            log.flush()
            if failure == "raise":
                raise RuntimeError("side failed")
            if failure == "die" and n == 1:
                os._exit(3)
            time.sleep(pause)


def run_within(
    labels: tuple[str, ...], block: int, plan: Plan, log_dir: Path, seconds: float = 60.0
) -> object:
    """``run_in_turns`` in a daemon thread; fails the test if it deadlocks; returns its result or error."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(turns.run_in_turns(labels, side, block, (plan, str(log_dir))))
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), "the sides deadlocked waiting for their turns"
    return outcome[0]


def trace(log_dir: Path) -> list[str]:
    """Every logged iteration's side, in time order."""
    times = [(float(t), path.name) for path in log_dir.iterdir() for t in path.read_text().split()]
    return [label for _, label in sorted(times)]


def test_sides_take_turns_of_one_block_in_a_rotating_order(tmp_path: Path) -> None:
    labels, block, blocks = ("a", "b", "c"), 4, 5
    result = run_within(labels, block, dict.fromkeys(labels, (blocks * block + 1, 0.001, None)), tmp_path)
    runs = [[trace(tmp_path)[0], 0]]  # consecutive iterations of one side: [label, length]
    for label in trace(tmp_path):
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
        assert len(result[label]) == blocks
        assert all(block * 0.001 <= end - start for start, end in result[label])


def test_a_block_times_only_its_own_side(tmp_path: Path) -> None:
    plan = {"fast": (5 * 4 + 1, 0.001, None), "slow": (5 * 4 + 1, 0.025, None)}  # a slow block: ≥ 100 ms
    result = run_within(("fast", "slow"), 4, plan, tmp_path)
    assert min(end - start for start, end in result["slow"]) >= 0.1
    # Counting the wait through the slow side's turns would add ≥ 100 ms to every fast block but the first.
    assert sum(end - start for start, end in result["fast"]) / 5 < 0.05


@pytest.mark.parametrize(
    ("labels", "failure", "message", "bad_iterations"),
    [
        (("bad", "ok"), "setup", "ValueError: setup failed", 0),  # the next side still starts
        (("ok", "bad"), "raise", "RuntimeError: side failed", 1),
        (("ok", "bad"), "die", "side 'bad' died (exit code 3)", 2),  # read as EOF on its pipe
    ],
)
def test_a_failing_side_leaves_the_rotation_and_is_reported(
    tmp_path: Path, labels: tuple[str, ...], failure: str, message: str, bad_iterations: int
) -> None:
    plan = {"ok": (7, 0.001, None), "bad": (7, 0.001, failure)}
    error = run_within(labels, 2, plan, tmp_path)
    assert isinstance(error, turns.SideFailed) and message in str(error)
    assert str(error).startswith("side 'bad'")
    logged = trace(tmp_path)
    assert logged.count("ok") == 7 and logged.count("bad") == bad_iterations
