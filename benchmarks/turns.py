"""Taking turns: several loops in one process, one at a time, in timed blocks (for the benchmarks)."""

import threading
import time
from collections.abc import Callable, Mapping


class Baton:
    """Lets one side run at a time, for a block of iterations, and times each block.

    Every side runs in its own thread (:func:`run_in_turns`) and calls :meth:`tick` at the start of
    each iteration; :func:`run_in_turns` calls :meth:`finish` when the side returns or fails. A
    side's turn lasts ``block`` iterations, from the tick that starts it to the ``block``-th tick
    after; at that tick the baton passes on and the side waits for its next turn. Round ``r`` gives
    each unfinished side one turn, in the order of :attr:`labels` rotated by ``r``. Only the holder
    runs; the others block on a condition variable.

    Args:
        labels: The sides, in the order of round 0.
        block: Iterations per turn.
    """

    def __init__(self, labels: tuple[str, ...], block: int) -> None:
        self.labels, self.block = labels, block
        self.condition = threading.Condition()
        self.holder: str | None = None
        self.arrived: set[str] = set()
        self.active = list(labels)
        self.queue: list[str] = []
        self.round = -1
        self.begun = False
        self.ticks = dict.fromkeys(labels, 0)
        self.started = dict.fromkeys(labels, 0.0)
        self.seconds: dict[str, list[float]] = {label: [] for label in labels}  # block durations, in order

    def tick(self, label: str) -> None:
        """Mark the start of one of ``label``'s iterations; at a turn's end, hand over and wait."""
        n = self.ticks[label]
        self.ticks[label] = n + 1
        if n == 0:  # first iteration: wait for the first turn
            with self.condition:
                self.arrived.add(label)
                self.condition.notify_all()
                self._wait_for_turn(label)
        elif n % self.block == 0:
            self.seconds[label].append(time.perf_counter() - self.started[label])
            with self.condition:
                self._pass_on()
                self._wait_for_turn(label)

    def finish(self, label: str) -> None:
        """Take ``label`` out of the rotation (after its last iteration, or on an error); idempotent."""
        with self.condition:
            if label not in self.active:
                return
            self.active.remove(label)
            self.arrived.add(label)  # a side that failed before its first tick must not be waited for
            if label in self.queue:
                self.queue.remove(label)
            if self.begun and self.holder == label:
                self._pass_on()

    def wait_until_arrived(self, label: str) -> None:
        """Block until ``label`` has finished its setup and waits at its first tick."""
        with self.condition:
            self.condition.wait_for(lambda: label in self.arrived)

    def begin(self) -> None:
        """Give the first turn (call once every side has arrived)."""
        with self.condition:
            self.begun = True
            self._pass_on()

    def _pass_on(self) -> None:
        """Hand the baton to the next side of this round, starting a new round when it is done."""
        if not self.active:
            self.holder = None
            return
        if not self.queue:
            self.round += 1
            shift = self.round % len(self.labels)
            order = self.labels[shift:] + self.labels[:shift]
            self.queue = [label for label in order if label in self.active]
        self.holder = self.queue.pop(0)
        self.condition.notify_all()

    def _wait_for_turn(self, label: str) -> None:
        self.condition.wait_for(lambda: self.holder == label)
        self.started[label] = time.perf_counter()


def run_in_turns(baton: Baton, sides: Mapping[str, Callable[[], None]]) -> None:
    """Run each side in its own thread, taking turns on ``baton``; re-raise the first error.

    The sides start one at a time, each once the previous one waits at its first tick, so that no
    side's setup runs during another's timed block. A side that fails leaves the rotation and the
    others go on to their end.

    Args:
        baton: The baton the sides tick; its labels are the keys of ``sides``.
        sides: Label → the side's whole loop (it ticks the baton at every iteration).
    """
    errors: list[BaseException] = []

    def run(label: str) -> None:
        try:
            sides[label]()
        except BaseException as error:
            errors.append(error)
        finally:
            baton.finish(label)

    threads = {label: threading.Thread(target=run, args=(label,), daemon=True) for label in sides}
    for label, thread in threads.items():
        thread.start()
        baton.wait_until_arrived(label)
    baton.begin()
    for thread in threads.values():
        thread.join()
    if errors:
        raise errors[0]
