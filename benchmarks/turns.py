"""Taking turns: loops in separate processes, one at a time, in timed blocks (for the benchmarks).

Each side runs in its own process, in its main thread, as a user's training would: no side shares
an interpreter, a GIL, a garbage collector, an allocator or a W&B service with another. Times are
``time.perf_counter`` readings, which on Linux come from the system-wide monotonic clock, so blocks
of different processes can be compared.
"""

import multiprocessing
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


class Turn:
    """A side's end of the baton: call :meth:`tick` at the start of every iteration.

    A turn lasts ``block`` iterations, from the tick that starts it to the ``block``-th tick after;
    at that tick the side reports the block's start and end times and waits (blocked on a pipe) for
    its next turn. The first tick only reports that the side's setup is done.

    Args:
        connection: This side's end of its pipe to :func:`run_in_turns`.
        block: Iterations per turn.
    """

    def __init__(self, connection: Connection, block: int) -> None:
        self.connection, self.block = connection, block
        self.ticks = 0
        self.started = 0.0

    def tick(self) -> None:
        """Mark the start of an iteration; at a turn's end, hand over and wait for the next turn."""
        n = self.ticks
        self.ticks = n + 1
        if n == 0:
            self._hand_over(("arrived",))
        elif n % self.block == 0:
            self._hand_over(("block", self.started, time.perf_counter()))

    def _hand_over(self, message: tuple) -> None:
        self.connection.send(message)
        self.connection.recv()  # the next turn
        self.started = time.perf_counter()


def _side_process(
    side: Callable[..., None], label: str, connection: Connection, block: int, args: tuple[Any, ...]
) -> None:
    """Run ``side(label, turn, *args)`` and report how it ended: ``("done",)`` or ``("error", text)``."""
    try:
        side(label, Turn(connection, block), *args)
    except BaseException:
        connection.send(("error", traceback.format_exc()))
    else:
        connection.send(("done",))
    connection.close()


class SideFailed(RuntimeError):
    """A side raised or died; the message names it and holds its traceback or exit code."""


def run_in_turns(
    labels: tuple[str, ...], side: Callable[..., None], block: int, args: tuple[Any, ...] = ()
) -> dict[str, list[tuple[float, float]]]:
    """Run ``side(label, turn, *args)`` for every label, each in its own process, taking turns.

    The processes start one at a time, each once the previous one waits at its first tick, so that
    no side's setup runs while another is timed. Round ``r`` then gives each side still running one
    turn, in the order of ``labels`` rotated by ``r``; only the side holding the turn runs. A side
    leaves the rotation when it returns, raises or dies; the others go on to their end. A side's
    last turn runs what follows its last tick (its teardown too) while no other side runs.

    Args:
        labels: The sides, in the order of round 0.
        side: A module-level function (the processes are spawned, so it is pickled by name) that
            calls ``turn.tick()`` at the start of each iteration.
        block: Iterations per turn.
        args: Further arguments to ``side``; picklable.

    Returns:
        label → ``(start, end)`` of each of its completed blocks, in order.

    Raises:
        SideFailed: For the first side that raised or died, once all sides have ended.
    """
    context = multiprocessing.get_context("spawn")
    pipes: dict[str, Connection] = {}
    processes: dict[str, multiprocessing.process.BaseProcess] = {}
    blocks: dict[str, list[tuple[float, float]]] = {label: [] for label in labels}
    failures: list[str] = []

    def turn(label: str) -> bool:
        """Let ``label`` run until it hands over (True) or ends (False)."""
        try:
            message = pipes[label].recv()
        except EOFError:
            processes[label].join()
            failures.append(f"side {label!r} died (exit code {processes[label].exitcode})")
            return False
        if message[0] == "block":
            blocks[label].append(message[1:])
        elif message[0] == "error":
            failures.append(f"side {label!r} failed:\n{message[1]}")
        return message[0] in ("arrived", "block")

    try:
        active = []
        for label in labels:
            pipes[label], child = context.Pipe()
            processes[label] = context.Process(
                target=_side_process,
                args=(side, label, child, block, args),
                name=f"side-{label}",
                daemon=True,
            )
            processes[label].start()
            child.close()  # the parent keeps only its own end, so that a dead side reads as EOF
            if turn(label):
                active.append(label)
        round_ = 0
        while active:
            shift = round_ % len(labels)
            for label in [label for label in labels[shift:] + labels[:shift] if label in active]:
                pipes[label].send("go")
                if not turn(label):
                    active.remove(label)
            round_ += 1
    finally:  # after an interruption, closing the pipes ends the sides waiting for a turn
        for pipe in pipes.values():
            pipe.close()
        for process in processes.values():
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    if failures:
        raise SideFailed(failures[0])
    return blocks
