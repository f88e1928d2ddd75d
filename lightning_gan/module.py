"""The GAN LightningModule: Algorithm 1 of Goodfellow et al. (2014) with manual optimization."""

import copy
import warnings
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Literal

import torch
from lightning import LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor, nn
from torch.optim import Adam, Optimizer

from lightning_gan.ada import AdaptiveAugment
from lightning_gan.ema import GeneratorEMA
from lightning_gan.evaluation_hooks import EvaluationHooks
from lightning_gan.fit_hooks import FitHooks
from lightning_gan.losses import AdversarialLoss, NonSaturatingLoss
from lightning_gan.network_calls import NetworkCalls
from lightning_gan.regularizers import Regularizer
from lightning_gan.training import IterationClock, LogWindow, Network, RunState, UpdateGuard, checks
from lightning_gan.training.compiled import CompiledNetworks, CompileOption
from lightning_gan.training.evaluation import Evaluation
from lightning_gan.training.fine_tune import freeze_first_layers
from lightning_gan.training.joint_forward import JointForward, use_joint_forward
from lightning_gan.training.log_window import send_to_loggers, training_metrics
from lightning_gan.training.penalties import Penalties
from lightning_gan.training.run_state import world_size
from lightning_gan.training.schedules import LRSchedulerCallable, step_schedulers

OptimizerCallable = Callable[[Iterable], Optimizer]


def default_optimizer(parameters: Iterable) -> Optimizer:
    """DCGAN's optimizer, for a ``None`` ``g_optimizer``/``d_optimizer``: Adam, lr 2e-4, β (0.5, 0.999)."""
    return Adam(parameters, lr=2e-4, betas=(0.5, 0.999))


class GAN(NetworkCalls, FitHooks, EvaluationHooks, LightningModule):
    """A generator G and a discriminator D trained in turn (Algorithm 1 of Goodfellow et al. 2014).

    One *iteration* is ``k = d_steps_per_g_step`` D updates, each on its own real minibatch, then
    one G update; each phase runs inside :meth:`toggled_optimizer` (the other network frozen).
    :attr:`iteration` counts G updates and is the x-axis of everything logged. One object per
    concern does the rest (``lightning_gan.training``: clock, update guard, log window, run state,
    penalties, evaluation); three mixins hold the rest of its methods: :class:`.NetworkCalls` (every
    G and D forward), :class:`.FitHooks` (Lightning's fit hooks, optimizers, checkpoint state) and
    :class:`.EvaluationHooks` (validation, test, predict, sampling). ``docs/design.md`` maps the
    code to the paper and gives the units.
    Hooks to override: :meth:`real_from_batch`, :meth:`sample_latent`, :meth:`labels_from_batch`,
    :meth:`sample_labels`, :meth:`discriminator_loss`, :meth:`generator_loss`; they call the
    networks through :meth:`generate` and :meth:`discriminate`.

    Args:
        generator: Maps ``(N, latent_dim)`` noise to a sample batch; must expose ``latent_dim``.
        discriminator: Maps a sample batch to logits ``(N,)`` or ``(N, 1)``.
        loss: The adversarial objectives (``None``: :class:`~lightning_gan.losses.NonSaturatingLoss`).
        regularizers: Penalties and constraints, each acting on the network it names in its phase.
        ema: Keep an exponential moving average G_ema of G; sampling and validation then use it.
        augment: A differentiable augmentation applied to every sample D sees in training
            (:class:`~lightning_gan.augment.DiffAugment`, or :class:`~lightning_gan.ada.AdaptiveAugment`).
        d_steps_per_g_step: Algorithm 1's k, D updates per G update (>= 1).
        g_optimizer: Builds G's optimizer from its parameters (``None``: :func:`default_optimizer`).
        d_optimizer: The same for D.
        g_scheduler: Builds a learning-rate schedule for G's optimizer, stepped once per iteration.
        d_scheduler: The same for D's optimizer.
        max_iterations: Stop after this many G updates (``None``: the Trainer's limits).
        accumulate_grad_batches: ``N``, batches per D update and micro-batches per G update (>= 1).
        g_gradient_clip_val: Clip G's gradients at this value before each G step (``None``: never).
        d_gradient_clip_val: The same for D.
        gradient_clip_algorithm: ``"norm"`` (rescale to global L2 norm ≤ value) or ``"value"`` (clamp).
        scheduler_interval: Step the schedules once per ``"iteration"`` or once per ``"epoch"``.
        max_consecutive_skips: Stop after this many non-finite updates of one network in a row.
        joint_d_forward: Score reals and fakes in one D forward of ``2N`` samples: ``"auto"`` where
            that is the same computation (``lightning_gan.training.joint_forward``), or always/never.
        compile: Run G's and D's training forwards through ``torch.compile``: ``True``, or a dict
            of its arguments (``lightning_gan.training.compiled``; checkpoint keys do not change).
        init_from: A GAN checkpoint whose G, D (and G_ema) start a new fit: fine-tuning, with fresh
            optimizers and counters (``--ckpt_path`` resumes instead; it wins over this).
        freeze_d_layers: Freeze-D: D's first layers with parameters that do not train (0: none).

    Raises:
        ValueError: For a G without integer ``latent_dim``, a count < 1, a clip value <= 0, an
            unknown clip algorithm or schedule interval, or two regularizers with one name.

    Example:
        >>> from lightning_gan.nets import MLPDiscriminator, MLPGenerator
        >>> gan = GAN(MLPGenerator(latent_dim=2), MLPDiscriminator())
        >>> gan.sample(5).shape
        torch.Size([5, 2])
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss | None = None,
        regularizers: list[Regularizer] | None = None,
        ema: GeneratorEMA | None = None,
        augment: nn.Module | None = None,
        d_steps_per_g_step: int = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        g_scheduler: LRSchedulerCallable | None = None,
        d_scheduler: LRSchedulerCallable | None = None,
        max_iterations: int | None = None,
        accumulate_grad_batches: int = 1,
        g_gradient_clip_val: float | None = None,
        d_gradient_clip_val: float | None = None,
        gradient_clip_algorithm: Literal["norm", "value"] = "norm",
        scheduler_interval: Literal["iteration", "epoch"] = "iteration",
        max_consecutive_skips: int = 25,
        joint_d_forward: JointForward = "auto",
        compile: CompileOption = False,
        init_from: str | None = None,
        freeze_d_layers: int = 0,
    ) -> None:  # pragma: no mutate block (save_hyperparameters reads this frame)
        super().__init__()
        checks.check_latent_dim(generator)
        checks.check_choice("scheduler_interval", scheduler_interval, ("iteration", "epoch"))
        self.clock = IterationClock(d_steps_per_g_step, accumulate_grad_batches, max_iterations)
        clip = {"generator": g_gradient_clip_val, "discriminator": d_gradient_clip_val}
        self.guard = UpdateGuard(clip, gradient_clip_algorithm, max_consecutive_skips)
        self.window = LogWindow()
        self.run_state = RunState()
        # G and D stay in the hyperparameters: load_from_checkpoint(path) rebuilds them.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Attribute '(generator|discriminator|augment)' is an")
            self.save_hyperparameters(logger=False)
        self.automatic_optimization = False
        self.generator, self.discriminator = generator, discriminator
        self.loss = NonSaturatingLoss() if loss is None else loss
        self.regularizers = list(regularizers or [])
        self.penalties = Penalties(self.regularizers)
        self.ema = ema
        # G_ema: a frozen copy of G that follows it (in state_dict, so checkpoints carry it).
        self.generator_ema = copy.deepcopy(generator).requires_grad_(False) if ema is not None else None
        self.augment = augment
        self.joint_d_forward = joint_d_forward
        self.joint_now = use_joint_forward(joint_d_forward, discriminator, augment)
        self.compiled = CompiledNetworks(compile)
        self.init_from = init_from
        self.frozen_d_layers = freeze_first_layers(discriminator, freeze_d_layers)
        self.g_optimizer = g_optimizer or default_optimizer
        self.d_optimizer = d_optimizer or default_optimizer
        self.g_scheduler, self.d_scheduler = g_scheduler, d_scheduler
        self.scheduler_interval = scheduler_interval
        #: Per-network DDP wrappers set by ``gan_ddp``: the network being trained runs through its own.
        self.ddp_wrappers: dict[Network, nn.Module] = {}
        self._training_network: Network | None = None
        #: The last iteration the loggers hold from before this fit resumed (-1: none); not logged again.
        self.logged_before_resume = -1
        self.evaluation = Evaluation()

    @property
    def iteration(self) -> int:
        """G updates done: the x-axis of every logged value."""
        return self.clock.iteration

    @property
    def latent_dim(self) -> int:
        """Size of the generator's noise vector."""
        return self.generator.latent_dim

    # ------------------------------------------------------------------ extension hooks

    def real_from_batch(self, batch: Any) -> Tensor:  # noqa: ANN401
        """The real samples ``(N, *sample_shape)``: ``batch[0]`` of a tuple/list, else the batch itself."""
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def sample_latent(self, n: int) -> Tensor:
        """``(n, latent_dim)`` noise ``z ~ N(0, I)`` on the module's device."""
        return torch.randn(n, self.latent_dim, device=self.device)

    def labels_from_batch(self, batch: Any) -> Tensor | None:  # noqa: ANN401
        """``(N,)`` labels that condition G and D in a training step; ``None`` (unconditional) here."""
        return None

    def sample_labels(self, n: int) -> Tensor | None:
        """``(n,)`` labels for samples drawn outside training; ``None`` (unconditional) here."""
        return None

    def discriminator_loss(self, real: Tensor, fake: Tensor, batch: Any) -> dict[str, Tensor]:  # noqa: ANN401
        """D's objective on ``(N, *sample_shape)`` reals and detached fakes; logged as ``train/<key>``.

        Returns ``d_loss`` (backpropagated) and ``d_real``, ``d_fake``: mean ``sigmoid(logit)``; with an
        :class:`~lightning_gan.ada.AdaptiveAugment`, the reals' logits go to its ``observe`` (an
        override that computes its own logits passes them on the same way).
        """
        real_logits, fake_logits = self.discriminate_pair(real, fake, self.labels_from_batch(batch))
        adaptive = isinstance(self.augment, AdaptiveAugment)
        return {
            "d_loss": self.loss.discriminator_loss(real_logits, fake_logits),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        } | (self.augment.observe(real_logits) if adaptive else {})

    def generator_loss(self, fake: Tensor, batch: Any) -> dict[str, Tensor]:  # noqa: ANN401
        """The G objective of one G step on ``(N, *sample_shape)`` fakes; ``g_loss`` is backpropagated."""
        labels = self.labels_from_batch(batch)
        if self.loss.generator_needs_real:  # relativistic losses compare with D's view of the reals
            real_logits, fake_logits = self.discriminate_pair(self.real_from_batch(batch), fake, labels)
            return {"g_loss": self.loss.generator_loss(fake_logits, real_logits)}
        return {"g_loss": self.loss.generator_loss(self.discriminate(fake, labels))}

    # ------------------------------------------------------------------ Algorithm 1
    # for number of training iterations do                            training_step, one batch a call
    #     for k steps do
    #         sample m noise samples z and m examples x from the data  d_micro_batch
    #         update D by ascending its stochastic gradient            d_update
    #     sample m noise samples z; update G by descending its gradient g_update
    # end for                                                          end_iteration

    def training_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """One batch of Algorithm 1: a D micro-batch, the D update it completes, G's update after the k-th."""
        opt_g, opt_d = self.optimizers()
        logging_now = self.clock.closes_window(self.trainer.log_every_n_steps)
        self.d_micro_batch(batch, opt_d)
        if not self.clock.end_micro_batch():
            return
        batches = self.run_state.batches or [batch]
        self.run_state.batches = []
        self.d_update(opt_d, logging_now)
        if not self.clock.end_d_update():
            return
        self.g_update(batches, opt_g, logging_now)
        self.end_iteration(self.real_from_batch(batch).shape[0] * len(batches) * world_size(), logging_now)

    def d_micro_batch(self, batch: Any, opt_d: LightningOptimizer) -> None:  # noqa: ANN401
        """D's loss on reals and fresh fakes, G frozen, into D's gradients (``N`` batches make an update).

        BCE: ``d_loss = -[log D(x) + log(1 - D(G(z)))]``, plus the D penalties due at this update.
        """
        if self.clock.accumulate > 1:
            self.run_state.batches.append(batch)
        real, labels = self.real_from_batch(batch), self.labels_from_batch(batch)
        with (
            self.toggled_optimizer(opt_d),
            self.training_phase("discriminator", sync=self.clock.last_micro_batch),
        ):
            fake = self.generate(self.sample_latent(real.shape[0]), labels).detach()
            out = self.discriminator_loss(real, fake, batch)
            penalties = self.penalties.due(
                "discriminator", self.clock.d_update, partial(self.penalty_scorer, labels), real, fake
            )
            if self.clock.first_micro_batch:  # just before the first backward, as in the benchmarks' floor
                opt_d.zero_grad()
            self.manual_backward(self.penalties.total(out["d_loss"], penalties, self.clock.accumulate))
        self.window.add(out | penalties)

    def d_update(self, opt_d: LightningOptimizer, logging_now: bool) -> None:
        """Apply D's accumulated gradient (unless the :class:`~.training.UpdateGuard` skips it); steer ADA."""
        if self.guard.step(self, opt_d, "discriminator", logging_now):
            self.penalties.after_step("discriminator", self.discriminator)
        if isinstance(self.augment, AdaptiveAugment):
            self.augment.adjust(partial(self.trainer.strategy.reduce, reduce_op="sum"))

    def g_update(self, batches: list[Any], opt_g: LightningOptimizer, logging_now: bool) -> None:
        """Descend G's loss on fresh noise (D frozen), one micro-batch per batch of the last D update."""
        with self.toggled_optimizer(opt_g):
            for index, batch in enumerate(batches):
                real, labels = self.real_from_batch(batch), self.labels_from_batch(batch)
                with self.training_phase("generator", sync=index == len(batches) - 1):
                    fake = self.generate(self.sample_latent(real.shape[0]), labels)
                    out = self.generator_loss(fake, batch)
                    penalties = self.penalties.due(
                        "generator", self.clock.iteration, partial(self.penalty_scorer, labels), real, fake
                    )
                    if index == 0:  # as in the D phase: just before the backward
                        opt_g.zero_grad()
                    self.manual_backward(
                        self.penalties.total(out["g_loss"], penalties, self.clock.accumulate)
                    )
                self.window.add(out | penalties)
        if self.guard.step(self, opt_g, "generator", logging_now):
            self.penalties.after_step("generator", self.generator)

    def end_iteration(self, images: int, logging_now: bool) -> None:
        """Move G_ema, count the iteration (``images``: its samples, all ranks), step schedules, log, stop."""
        if self.ema is not None:  # θ_ema ← β θ_ema + (1 - β) θ
            self.ema.update(self.generator_ema, self.generator, self.ema.beta(images, self.clock.images_seen))
        self.clock.end_iteration(images)
        applied = self.guard.take_applied()
        if self.scheduler_interval == "iteration" and (self.g_scheduler or self.d_scheduler):
            step_schedulers(self, applied)
        if logging_now:
            metrics = training_metrics(self.window, self.guard, self.trainer.optimizers)
            self.log_to_loggers(
                metrics, prog_bar=("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake")
            )
        if self.clock.finished:
            self.trainer.should_stop = True

    def log_to_loggers(self, metrics: Mapping[str, Tensor], prog_bar: Iterable[str] = ()) -> None:
        """Send scalars to every logger at step :attr:`iteration` (see :func:`.send_to_loggers`)."""
        send_to_loggers(
            self.trainer, metrics, self.iteration, prog_bar, self.iteration > self.logged_before_resume
        )
