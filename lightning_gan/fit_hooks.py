"""The GAN's fit hooks, optimizers and checkpoint state: a mixin of :class:`~lightning_gan.GAN`."""

from functools import partial
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_gan.data.resumable import ResumableLoader
from lightning_gan.distributed import average_buffers
from lightning_gan.training import checks
from lightning_gan.training.checkpoint_state import load_gan_state, save_gan_state
from lightning_gan.training.fine_tune import load_networks
from lightning_gan.training.joint_forward import use_joint_forward
from lightning_gan.training.run_state import world_size
from lightning_gan.training.schedules import make_schedulers, step_schedulers
from lightning_gan.wandb_resume import logged_before_resume


class FitHooks:
    """What a :class:`~lightning_gan.GAN` does around its training steps, as Lightning calls it.

    Checks before and at the start of a fit, random streams and the resumable loader's position,
    the step guard's hook, epoch-wise schedules, the end of a fit, the two optimizers and the
    checkpointed state of every collaborator. The methods use the GAN's networks and collaborators;
    ``GAN.training_step`` and its phases stay in ``module.py``.
    """

    def setup(self, stage: str) -> None:
        """Check the strategy, collect the datamodule's sample metrics, dry-run z → G → D for fit."""
        checks.check_strategy(self.trainer)
        self.joint_now = use_joint_forward(self.joint_d_forward, self.discriminator, self.augment)
        self.evaluation.add_measures(getattr(self.trainer.datamodule, "val_metrics", None))
        if stage == "fit":
            checks.check_shapes(self, getattr(self.trainer.datamodule, "sample_shape", None))
            if self.init_from is not None and self.trainer.ckpt_path is None:
                load_networks(self.generator, self.discriminator, self.generator_ema, self.init_from)

    def on_fit_start(self) -> None:
        """Reject Lightning's whole-module DDP, now that the strategy has wrapped the model."""
        checks.check_wrapping(self.trainer)

    def on_train_start(self) -> None:
        """Restore every rank's random streams on a resumed fit, or give each rank its own stream."""
        trainer = self.trainer
        self.logged_before_resume = logged_before_resume(trainer)
        to_device = partial(self.transfer_batch_to_device, device=self.device, dataloader_idx=0)
        resumed = trainer.ckpt_path is not None
        self.run_state.start_fit(
            trainer.global_rank, trainer.world_size, resumed, self.discriminator, to_device
        )

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:  # noqa: ANN401
        """Stop a fit resumed at ``max_iterations`` (return -1); tell a resumable loader the batch was used.

        Overrides must call ``super().on_train_batch_start`` and return what it returns.
        """
        if self.clock.finished:
            self.trainer.should_stop = True
            return -1
        loader = self.trainer.train_dataloader
        if isinstance(loader, ResumableLoader):
            loader.consumed_batch()
        return None

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        """Gradient norm, non-finite drop and clipping (:meth:`.UpdateGuard.before_step`).

        Subclasses that override it must call ``super().on_before_optimizer_step``.
        """
        self.guard.before_step(self, optimizer)

    def on_train_epoch_end(self) -> None:
        """Step the schedules here when ``scheduler_interval="epoch"``."""
        if self.scheduler_interval == "epoch":
            step_schedulers(self, {"generator": True, "discriminator": True})

    def on_train_end(self) -> None:
        """Average BatchNorm statistics over ranks, so every rank ends with the same networks."""
        self.compiled.forget()
        if world_size() > 1:
            average_buffers(self)

    # ------------------------------------------------------------------ optimizers and checkpoints

    def configure_optimizers(self) -> tuple[list[Optimizer], list[LRScheduler]]:
        """G's optimizer, then D's; then the schedules asked for (G's, then D's)."""
        g_optimizer = self.g_optimizer(self.generator.parameters())
        trained = [p for p in self.discriminator.parameters() if p.requires_grad]  # Freeze-D leaves some out
        optimizers = [g_optimizer, self.d_optimizer(trained)]
        return optimizers, make_schedulers((self.g_scheduler, self.d_scheduler), optimizers)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store each collaborator's state and every rank's random streams (runs on every rank)."""
        save_gan_state(self, checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Raise a ``ValueError`` if the weights do not fit this model, else restore each collaborator."""
        load_gan_state(self, checkpoint)
