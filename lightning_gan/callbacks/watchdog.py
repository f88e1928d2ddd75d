"""A training-health watchdog: warns when a GAN's training goes wrong and, if asked, rolls it back."""

from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_warn

from lightning_gan.rng import seeded_fork
from lightning_gan.training.checks import check_ranges
from lightning_gan.training.evaluation import eval_mode
from lightning_gan.training.health import HealthMonitor, Problem, diversity
from lightning_gan.training.snapshot import Snapshot


class HealthWatchdog(Callback):
    """Judge every logging window and validation of a :class:`~lightning_gan.GAN`; act on problems.

    At the end of each logging window it reads the window's ``train/*`` values (D(x), D(G(z)), gradient
    norms, skipped updates) and G's sample diversity on a fixed latent batch against the window's
    last real batch; after each validation, ``metric``. :class:`.HealthMonitor` holds the thresholds.
    A problem is printed as a warning, sent as a W&B alert (``run.alert``; an offline run keeps it
    for ``wandb sync``) and counted in ``health/problems``. Each window also logs
    ``health/diversity`` and ``health/rollbacks``.

    With ``rollback=True`` a healthy window at least ``snapshot_every`` iterations after the last
    snapshot takes a new in-memory :class:`.Snapshot` (networks, G_ema, optimizers, schedules),
    which becomes the restore point once the next window is healthy too (trouble that began just
    before a snapshot shows one window later); the restore point before it is kept as well. A
    problem restores the restore point, or, when the trouble comes back before a new one was
    confirmed (it grew slowly and the newest point already held it), the one before; at most
    ``max_rollbacks`` times. Each rollback lowers the learning rates by ``lr_factor`` more than the
    restored state had them: ``lr = lr_snapshot · lr_factor^(rollbacks since the snapshot)``. The
    iteration count does not go back. Decisions are rank 0's, broadcast, so every rank rolls back
    together. The diversity probe draws its latents from its own seeded stream and runs G in eval
    mode without gradients: a watchdog that finds nothing changes no number of the fit.

    Args:
        rollback: Restore the last healthy snapshot on a problem (else only warn).
        max_rollbacks: Most rollbacks per fit; later problems only warn.
        lr_factor: Learning-rate multiplier applied at each rollback, in ``(0, 1]``.
        snapshot_every: Fewest iterations between snapshots.
        diversity_samples: Latents in the diversity probe (``0``: no probe).
        seed: Seed of the probe's latents.
        **thresholds: :class:`.HealthMonitor` arguments (``saturation``, ``grad_norm_ratio``,
            ``max_skipped_fraction``, ``min_diversity``, ``metric``, ``mode``, ``tolerance``, ...).
    """

    def __init__(
        self,
        rollback: bool = False,
        max_rollbacks: int = 3,
        lr_factor: float = 0.5,
        snapshot_every: int = 500,
        diversity_samples: int = 256,
        seed: int = 4321,
        saturation: float = 0.99,
        grad_norm_ratio: float = 10.0,
        max_skipped_fraction: float = 0.25,
        min_diversity: float = 0.1,
        metric: str | None = None,
        mode: str = "min",
        tolerance: float = 0.5,
    ) -> None:
        probe_ok = diversity_samples == 0 or diversity_samples >= 2
        check_ranges(
            "HealthWatchdog",
            {
                "max_rollbacks": (max_rollbacks, max_rollbacks >= 0, ">= 0"),
                "lr_factor": (lr_factor, 0 < lr_factor <= 1, "in (0, 1]"),
                "snapshot_every": (snapshot_every, snapshot_every >= 1, ">= 1"),
                "diversity_samples": (diversity_samples, probe_ok, "0 or >= 2"),
            },
        )
        self.monitor = HealthMonitor(
            saturation=saturation,
            grad_norm_ratio=grad_norm_ratio,
            max_skipped_fraction=max_skipped_fraction,
            min_diversity=min_diversity,
            metric=metric,
            mode=mode,
            tolerance=tolerance,
        )
        self.rollback, self.max_rollbacks, self.lr_factor = rollback, max_rollbacks, lr_factor
        self.snapshot_every, self.diversity_samples, self.seed = snapshot_every, diversity_samples, seed
        self.snapshot, self.previous, self.candidate = Snapshot(), Snapshot(), None
        self.taken_at = -snapshot_every
        self.restored_to: int | None = None  # the iteration of the state the last rollback restored
        self.rollbacks = 0
        self.problems: list[tuple[int, Problem]] = []
        self.judged = -1

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,  # noqa: ANN401
    ) -> None:
        """At a logging window's end, judge it (D's scores, gradient norms, skips, diversity)."""
        iteration, every = pl_module.iteration, trainer.log_every_n_steps
        if every < 1 or iteration % every or iteration == self.judged:
            return
        self.judged = iteration
        values = {
            key: float(value) for key, value in trainer.callback_metrics.items() if key.startswith("train/")
        }
        spread = self.spread(pl_module, batch)
        updates = every * (pl_module.clock.k + 1)  # k D updates and one G update per iteration
        problems = trainer.strategy.broadcast(self.monitor.check_window(values, updates, spread), src=0)
        if problems:
            self.act(trainer, pl_module, problems)
        else:
            if self.candidate is not None:  # one more healthy window: it becomes the restore point
                self.previous, self.snapshot, self.candidate = self.snapshot, self.candidate, None
            if self.rollback and iteration - self.taken_at >= self.snapshot_every:
                self.candidate, self.taken_at = Snapshot(), iteration
                self.candidate.take(trainer, pl_module, iteration, self.rollbacks)
        health = {"health/problems": len(problems), "health/rollbacks": self.rollbacks}
        if spread is not None:
            health["health/diversity"] = spread
        pl_module.log_to_loggers({key: torch.tensor(float(value)) for key, value in health.items()})

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Judge the validation's ``metric`` against its best so far."""
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        values = {key: float(value) for key, value in trainer.callback_metrics.items()}
        problems = trainer.strategy.broadcast(self.monitor.check_validation(values), src=0)
        if problems:
            self.act(trainer, pl_module, problems)

    @torch.no_grad()
    def spread(self, pl_module: LightningModule, batch: Any) -> float | None:  # noqa: ANN401
        """:func:`.diversity` of G (not G_ema) on the probe's latents against the batch's reals."""
        real = pl_module.real_from_batch(batch)
        if self.diversity_samples == 0 or real.shape[0] < 2:
            return None
        with seeded_fork(self.seed, pl_module.device):
            z = pl_module.sample_latent(self.diversity_samples)
            labels = pl_module.sample_labels(self.diversity_samples)
        with eval_mode(pl_module.generator):
            fake = pl_module.generate(z, labels)
        return diversity(fake, real)

    def act(self, trainer: Trainer, pl_module: LightningModule, problems: list[Problem]) -> None:
        """Warn and alert about ``problems`` (rank 0's, on every rank); roll back if asked and allowed."""
        iteration = pl_module.iteration
        self.problems.extend((iteration, problem) for problem in problems)
        self.candidate = None  # a snapshot not yet confirmed may hold the trouble's beginning
        can_roll_back = (
            self.rollback and self.snapshot.iteration is not None and self.rollbacks < self.max_rollbacks
        )
        if can_roll_back:
            if self.restored_to == self.snapshot.iteration and self.previous.iteration is not None:
                self.snapshot, self.previous = self.previous, Snapshot()  # the newest held the trouble
            self.rollbacks += 1
            factor = self.lr_factor ** (self.rollbacks - self.snapshot.rollbacks)  # one per rollback since
            self.snapshot.restore(trainer, pl_module, factor)
            self.restored_to = self.snapshot.iteration
            action = (
                f"rolled back to iteration {self.snapshot.iteration} with learning rates × {factor:g} "
                f"(rollback {self.rollbacks} of {self.max_rollbacks})"
            )
        elif self.rollback:
            action = "no rollback left" if self.rollbacks >= self.max_rollbacks else "no healthy snapshot yet"
        else:
            action = "warning only (rollback=False)"
        text = f"iteration {iteration}: {'; '.join(p.message for p in problems)}; {action}"
        rank_zero_warn(f"HealthWatchdog: {text}")
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if isinstance(logger, WandbLogger):
                    title = "GAN health: " + ", ".join(sorted({p.signal for p in problems}))
                    logger.experiment.alert(title=title[:63], text=text, level="WARN", wait_duration=1)

    def state_dict(self) -> dict[str, Any]:
        """Rollbacks so far, the problems seen, the monitor's history (the snapshot itself is not saved)."""
        return {
            "rollbacks": self.rollbacks,
            "problems": [
                (iteration, problem.signal, problem.message) for iteration, problem in self.problems
            ],
            "monitor": self.monitor.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.rollbacks = state_dict["rollbacks"]
        self.problems = [
            (iteration, Problem(signal, message)) for iteration, signal, message in state_dict["problems"]
        ]
        self.monitor.load_state_dict(state_dict["monitor"])
