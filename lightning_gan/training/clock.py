"""Where a GAN is in Algorithm 1: iterations, D updates within one, batches within a D update."""

from typing import Any


class IterationClock:
    """The one counter of a GAN's progress, in the units of Algorithm 1.

    One *iteration* is ``k`` discriminator updates followed by one generator update; one D update
    takes ``N`` batches (``N = accumulate_grad_batches``, one ``training_step`` each). So an
    iteration is ``k·N`` batches. The clock counts

    - :attr:`iteration`: generator updates done (the x-axis of everything logged);
    - :attr:`d_steps`: D updates done in the iteration in progress (``0 ≤ d_steps < k``);
    - :attr:`micro_batch`: batches already added to the D update in progress (``0 ≤ micro_batch < N``);
    - :attr:`images_seen`: samples G has been trained on, all ranks together (sets the EMA ramp-up).

    Args:
        k: D updates per G update (Algorithm 1's k), ``>= 1``.
        accumulate: ``N``, batches per D update, ``>= 1``.
        max_iterations: Iterations after which training is over (``None``: no limit of its own).

    Raises:
        ValueError: If ``k``, ``accumulate`` or ``max_iterations`` is below 1.

    Example:
        >>> clock = IterationClock(k=2)
        >>> [clock.end_micro_batch() and clock.end_d_update() for _ in range(4)]
        [False, True, False, True]
    """

    def __init__(self, k: int = 1, accumulate: int = 1, max_iterations: int | None = None) -> None:
        if k < 1:
            raise ValueError(f"d_steps_per_g_step (Algorithm 1's k) must be >= 1, got {k}")
        if accumulate < 1:
            raise ValueError(f"accumulate_grad_batches must be >= 1, got {accumulate}")
        if max_iterations is not None and max_iterations < 1:
            raise ValueError(f"max_iterations must be >= 1 or None, got {max_iterations}")
        self.k, self.accumulate, self.max_iterations = k, accumulate, max_iterations
        self.iteration = self.d_steps = self.micro_batch = self.images_seen = 0

    @property
    def d_update(self) -> int:
        """Index of the D update in progress, counted over the whole run: ``iteration·k + d_steps``."""
        return self.iteration * self.k + self.d_steps

    @property
    def first_micro_batch(self) -> bool:
        """Whether the batch in progress starts a D update (its gradients start from zero)."""
        return self.micro_batch == 0

    @property
    def last_micro_batch(self) -> bool:
        """Whether the batch in progress completes a D update (DDP synchronises its gradients)."""
        return self.micro_batch == self.accumulate - 1

    @property
    def finished(self) -> bool:
        """Whether ``max_iterations`` iterations are done."""
        return self.max_iterations is not None and self.iteration >= self.max_iterations

    def closes_window(self, every: int) -> bool:
        """Whether the iteration in progress is the last of a logging window of ``every`` iterations."""
        return every > 0 and (self.iteration + 1) % every == 0

    def end_micro_batch(self) -> bool:
        """Count one batch of the D update in progress; return whether that completes the update."""
        if self.last_micro_batch:
            self.micro_batch = 0
            return True
        self.micro_batch += 1
        return False

    def end_d_update(self) -> bool:
        """Count one D update; return whether it was the iteration's k-th (G's turn)."""
        self.d_steps += 1
        return self.d_steps == self.k

    def end_iteration(self, images: int) -> None:
        """Count one G update on ``images`` samples (all ranks); the next iteration begins."""
        self.d_steps = 0
        self.images_seen += images
        self.iteration += 1

    def state_dict(self) -> dict[str, int]:
        """The counters (the settings come from the model's arguments)."""
        return {
            "iteration": self.iteration,
            "d_steps": self.d_steps,
            "micro_batch": self.micro_batch,
            "images_seen": self.images_seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counters :meth:`state_dict` returned."""
        self.iteration, self.d_steps = state["iteration"], state["d_steps"]
        self.micro_batch, self.images_seen = state["micro_batch"], state["images_seen"]
