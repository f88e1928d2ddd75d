"""The GAN LightningModule: Algorithm 1 of Goodfellow et al. (2014) with manual optimization."""

import copy
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any, Literal

import torch
import torch.distributed as dist
from lightning import LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import DeepSpeedStrategy, FSDPStrategy, ModelParallelStrategy
from torch import Tensor, nn
from torch.optim import Adam, Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from torchmetrics import MeanMetric

from lightning_gan.checkpoint_io import AtomicCheckpointIO
from lightning_gan.data.resumable import ResumableLoader
from lightning_gan.distributed import GANDDPStrategy, average_buffers, is_plain_ddp
from lightning_gan.ema import GeneratorEMA
from lightning_gan.hot_path import (
    all_finite,
    clear_gradients,
    is_plain_assignment,
    plain_backward_suffices,
    plain_step,
    plain_step_suffices,
)
from lightning_gan.losses import AdversarialLoss, NonSaturatingLoss
from lightning_gan.regularizers import Network, Regularizer, ScaledScorer
from lightning_gan.rng import rng_states, set_rng_states
from lightning_gan.wandb_resume import last_logged_step

OptimizerCallable = Callable[[Iterable], Optimizer]
LRSchedulerCallable = Callable[[Optimizer], LRScheduler]

#: DCGAN's optimizer settings, the default for both networks: Adam, lr 2e-4, β = (0.5, 0.999).
DEFAULT_OPTIMIZER: OptimizerCallable = partial(Adam, lr=2e-4, betas=(0.5, 0.999))


class GAN(LightningModule):
    """A generator G and a discriminator D trained in turn (Algorithm 1 of Goodfellow et al. 2014).

    One *iteration* is ``k = d_steps_per_g_step`` discriminator updates, each on its own real
    minibatch (one ``training_step`` per batch), followed by one generator update on the k-th.
    Each phase runs inside :meth:`toggled_optimizer`, so the other network has
    ``requires_grad=False`` and its flags are restored afterwards.

    Units. :attr:`iteration` counts generator updates and is the x-axis of everything logged
    (scalars and images, every logger). ``max_iterations`` ends training after that many. Lightning's
    ``trainer.global_step`` counts optimizer steps and so moves by ``k + 1`` per iteration; its
    ``max_steps`` is in those units; ``val_check_interval`` and batch counts count batches, ``k·N``
    per iteration with ``N = accumulate_grad_batches``. ``trainer.log_every_n_steps`` is read as
    "log every n iterations": losses and D probabilities are averaged on-device over that window,
    and gradient norms are taken on its last iteration.

    Gradient accumulation. With ``accumulate_grad_batches = N`` a D update takes ``N`` batches
    (one per ``training_step``), each loss divided by ``N``, so the step follows the gradient of the
    mean over ``N·B`` samples; the G update then runs ``N`` micro-batches of fresh noise, one per
    batch of the last D update (their labels, and their reals for relativistic losses). Gradients
    are synchronised across ranks only on the last micro-batch. An iteration is then ``k·N`` batches.

    Distributed training. Under a plain ``"ddp"`` strategy :meth:`setup` switches to
    :class:`~lightning_gan.distributed.GANDDPStrategy`, which wraps G and D separately; the network
    being trained is called through its wrapper (see :mod:`lightning_gan.distributed`). FSDP,
    DeepSpeed and model-parallel strategies are rejected: Lightning runs them only with automatic
    optimization.

    Mixed precision. Under a ``GradScaler`` (``16-mixed``) gradient penalties differentiate the
    scaled logits and unscale the input gradients; gradients are unscaled before they are clipped
    or their norm is logged; an update the scaler skips for inf/NaN gradients does not advance that
    network's schedule.

    Non-finite values. An update whose gradients hold NaN or inf is skipped (its gradients are
    dropped, so the optimizer leaves weights and state alone; under a ``GradScaler`` the scaler
    skips it), counted in :attr:`skipped_steps` and logged as ``train/skipped_steps``; training goes
    on, and stops with a ``FloatingPointError`` after ``max_consecutive_skips`` in a row of one network.

    Extension hooks (override in a subclass; the base class keeps toggling, backward, stepping,
    regularization, EMA and logging): :meth:`real_from_batch`, :meth:`sample_latent`,
    :meth:`labels_from_batch` and :meth:`sample_labels` (class conditioning, see
    :class:`~lightning_gan.ConditionalGAN`), :meth:`discriminator_loss`, :meth:`generator_loss`.
    All network calls go through :meth:`generate` and :meth:`discriminate`.

    Args:
        generator: Maps ``(N, latent_dim)`` noise to a sample batch; must expose ``latent_dim``.
        discriminator: Maps a sample batch to logits ``(N,)`` or ``(N, 1)``.
        loss: The adversarial objectives; :class:`~lightning_gan.losses.NonSaturatingLoss` if ``None``.
        regularizers: Penalties and constraints (:mod:`lightning_gan.regularizers`), each acting on
            the network it names, in the phase of that network.
        ema: Keep an exponential moving average of G (:class:`~lightning_gan.ema.GeneratorEMA`);
            :meth:`sample`, validation, metrics and sample grids then use the average.
        augment: A differentiable augmentation (e.g. :class:`~lightning_gan.augment.DiffAugment`)
            applied to every sample D sees in training, real and fake alike.
        d_steps_per_g_step: Algorithm 1's k, discriminator updates per generator update (>= 1).
        g_optimizer: Builds G's optimizer from its parameters (default Adam 2e-4, β (0.5, 0.999)).
        d_optimizer: Builds D's optimizer from its parameters (same default).
        g_scheduler: Builds a learning-rate schedule for G's optimizer, stepped once per iteration
            (e.g. ``partial(LinearLR, start_factor=1, end_factor=0, total_iters=max_iterations)``).
        d_scheduler: The same for D's optimizer, also stepped once per iteration.
        max_iterations: Stop after this many generator updates (``None``: the Trainer's limits).
        accumulate_grad_batches: ``N``, batches per D update and micro-batches per G update (>= 1).
        g_gradient_clip_val: Clip G's gradients at this value before each G step (``None``: no clipping).
        d_gradient_clip_val: The same for D.
        gradient_clip_algorithm: ``"norm"`` (rescale so the global L2 norm is at most the value) or
            ``"value"`` (clamp each element to ``[-value, value]``).
        scheduler_interval: Step the schedules once per ``"iteration"`` or once per ``"epoch"``.
        max_consecutive_skips: Stop with an error after this many updates of one network in a row
            were skipped for non-finite gradients (see "Non-finite values" above).

    Raises:
        ValueError: If the generator has no integer ``latent_dim``, ``d_steps_per_g_step < 1``,
            ``max_iterations < 1``, ``accumulate_grad_batches < 1``, a clip value ``<= 0``, an
            unknown clip algorithm or schedule interval, or two regularizers share a name.

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
        g_optimizer: OptimizerCallable = DEFAULT_OPTIMIZER,
        d_optimizer: OptimizerCallable = DEFAULT_OPTIMIZER,
        g_scheduler: LRSchedulerCallable | None = None,
        d_scheduler: LRSchedulerCallable | None = None,
        max_iterations: int | None = None,
        accumulate_grad_batches: int = 1,
        g_gradient_clip_val: float | None = None,
        d_gradient_clip_val: float | None = None,
        gradient_clip_algorithm: Literal["norm", "value"] = "norm",
        scheduler_interval: Literal["iteration", "epoch"] = "iteration",
        max_consecutive_skips: int = 25,
    ) -> None:
        super().__init__()
        latent_dim = getattr(generator, "latent_dim", None)
        if not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(
                f"the generator ({type(generator).__name__}) must expose an integer attribute "
                "latent_dim >= 1 "
                f"(the size of z in (N, latent_dim)), got {latent_dim!r}"
            )
        if d_steps_per_g_step < 1:
            raise ValueError(f"d_steps_per_g_step (Algorithm 1's k) must be >= 1, got {d_steps_per_g_step}")
        if max_iterations is not None and max_iterations < 1:
            raise ValueError(f"max_iterations must be >= 1 or None, got {max_iterations}")
        if accumulate_grad_batches < 1:
            raise ValueError(f"accumulate_grad_batches must be >= 1, got {accumulate_grad_batches}")
        for name, value in (
            ("g_gradient_clip_val", g_gradient_clip_val),
            ("d_gradient_clip_val", d_gradient_clip_val),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None (no clipping), got {value}")
        if gradient_clip_algorithm not in ("norm", "value"):
            raise ValueError(
                f"gradient_clip_algorithm must be 'norm' or 'value', got {gradient_clip_algorithm!r}"
            )
        if max_consecutive_skips < 1:
            raise ValueError(f"max_consecutive_skips must be >= 1, got {max_consecutive_skips}")
        if scheduler_interval not in ("iteration", "epoch"):
            raise ValueError(f"scheduler_interval must be 'iteration' or 'epoch', got {scheduler_interval!r}")
        with warnings.catch_warnings():
            # G and D are kept in the hyperparameters on purpose: load_from_checkpoint(path) rebuilds them.
            warnings.filterwarnings(
                "ignore",
                message=r"Attribute '(generator|discriminator|augment)' is an instance of `nn.Module`",
            )
            self.save_hyperparameters(logger=False)
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.loss = NonSaturatingLoss() if loss is None else loss
        self.regularizers = list(regularizers or [])
        names = [regularizer.name for regularizer in self.regularizers]
        if len(set(names)) != len(names):
            raise ValueError(
                f"regularizers must have distinct names (they are logged as train/<name>), got {names}"
            )
        self.ema = ema
        # G_ema: a frozen copy of G that follows it (part of state_dict, so checkpoints carry it).
        self.generator_ema = copy.deepcopy(generator).requires_grad_(False) if ema is not None else None
        self.augment = augment
        self.k = d_steps_per_g_step
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.g_scheduler, self.d_scheduler = g_scheduler, d_scheduler
        self.max_iterations = max_iterations
        self.accumulate_grad_batches = accumulate_grad_batches
        self.gradient_clip_val: dict[Network, float | None] = {
            "generator": g_gradient_clip_val,
            "discriminator": d_gradient_clip_val,
        }
        self.gradient_clip_algorithm = gradient_clip_algorithm
        self.scheduler_interval = scheduler_interval
        self.max_consecutive_skips = max_consecutive_skips
        # Updates skipped for non-finite gradients: in all (logged, checkpointed) and in a row per network.
        self.skipped_steps = 0
        self._consecutive_skips: dict[Network, int] = {"generator": 0, "discriminator": 0}
        # The iteration counter: generator updates done, D updates done in the current iteration and
        # batches accumulated into the current D update; samples G has been trained on (all ranks),
        # which sets the EMA ramp-up.
        self.iteration = 0
        self.d_steps_in_iteration = 0
        self.micro_batch = 0
        self.images_seen = 0
        # Batches of the D update in progress (kept for the G micro-batches when N > 1).
        self._micro_batches: list[Any] = []
        # Per-network DDP wrappers set by GANDDPStrategy: the network being trained runs through its own.
        self.ddp_wrappers: dict[Network, nn.Module] = {}
        self._training_network: Network | None = None
        self._plain_backward = self._plain_step = False  # set per fit in on_train_start
        self._stepping: Network | None = None
        self._record_grad_norm = False
        self._gradients_finite = True  # set by on_before_optimizer_step for the update in progress
        self._d_applied = False  # whether any D update of the iteration in progress was applied
        self._sums: dict[str, Tensor] = {}
        self._counts: dict[str, int] = {}
        self._grad_norms: dict[str, Tensor] = {}
        # Per-rank state (random streams, partial D update) to put back when a resumed fit starts;
        # training's random streams while evaluation draws from its own.
        self._rank_states_to_restore: list[dict[str, Any]] | None = None
        self._outer_rng: dict[str, Any] | None = None
        self.evaluation_seed: int | None = None
        #: The last iteration the loggers hold from before this fit resumed (``-1``: none); values up
        #: to it are not logged again (an exact resume recomputes the very same ones).
        self.logged_before_resume = -1
        self.val_d_real, self.val_d_fake = MeanMetric(), MeanMetric()
        self.val_metrics = nn.ModuleDict()

    def __setattr__(self, name: str, value: Any) -> None:  # noqa: ANN401
        """Assign; ordinary attributes skip ``nn.Module``'s checks (:func:`.hot_path.is_plain_assignment`)."""
        if is_plain_assignment(self, name, value):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # ------------------------------------------------------------------ networks (one place each)

    @property
    def latent_dim(self) -> int:
        """Size of the generator's noise vector."""
        return self.generator.latent_dim

    def generate(self, z: Tensor, labels: Tensor | None = None, *, average: bool = False) -> Tensor:
        """Every generator forward in training and sampling goes through here.

        Args:
            z: ``(N, latent_dim)`` noise.
            labels: ``(N,)`` class labels for a conditional G (``None``: unconditional call ``G(z)``).
            average: Use G_ema instead of G (only when the module has one).

        Returns:
            ``(N, *sample_shape)`` samples.
        """
        if average and self.generator_ema is not None:
            net = self.generator_ema
        else:
            net = self._network("generator")
        return net(z) if labels is None else net(z, labels)

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Every discriminator forward goes through here (after :attr:`augment` while training).

        Args:
            x: ``(N, *sample_shape)`` samples.
            labels: ``(N,)`` class labels for a conditional D (``None``: ``D(x)``).

        Returns:
            ``(M,)`` logits: ``M = N``, or ``N / pack`` for a packed D.
        """
        if self.augment is not None and self.training:
            x = self.augment(x)
        net = self._network("discriminator")
        logits = net(x) if labels is None else net(x, labels)
        return logits.reshape(-1)

    def _network(self, network: Network) -> nn.Module:
        """G or D, through its DDP wrapper while it is the network being trained."""
        module = self.generator if network == "generator" else self.discriminator
        if network == self._training_network:
            return self.ddp_wrappers.get(network, module)
        return module

    # ------------------------------------------------------------------ extension hooks

    def real_from_batch(self, batch: Any) -> Tensor:  # noqa: ANN401
        """Extract the real samples from a dataloader batch.

        Args:
            batch: A tensor, or a tuple/list whose first element is the samples (``(x, label)``).

        Returns:
            ``(N, *sample_shape)`` real samples.
        """
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def sample_latent(self, n: int) -> Tensor:
        """Draw generator inputs ``z ~ N(0, I)``.

        Args:
            n: Batch size.

        Returns:
            ``(n, latent_dim)`` noise on the module's device.
        """
        return torch.randn(n, self.latent_dim, device=self.device)

    def labels_from_batch(self, batch: Any) -> Tensor | None:  # noqa: ANN401
        """Class labels that condition G and D in a training step; ``None`` (unconditional) here.

        A conditional subclass returns the batch's ``(N,)`` labels: D scores each real with its
        label, and the step's fakes are generated for the same labels.
        """
        return None

    def sample_labels(self, n: int) -> Tensor | None:
        """Labels for samples drawn outside training (:meth:`sample`, validation); ``None`` here.

        Args:
            n: Number of samples.

        Returns:
            ``(n,)`` labels, or ``None`` for an unconditional model.
        """
        return None

    def discriminator_loss(self, real: Tensor, fake: Tensor, batch: Any) -> dict[str, Tensor]:  # noqa: ANN401
        """The D objective for one D step; every entry is logged as ``train/<key>``.

        Args:
            real: ``(N, *sample_shape)`` real samples.
            fake: ``(N, *sample_shape)`` generated samples (detached) for the same labels.
            batch: The full dataloader batch (labels etc.).

        Returns:
            ``d_loss`` (scalar that is backpropagated), ``d_real`` and ``d_fake``: mean
            ``sigmoid(logit)`` on the real and the fake samples (D's probability for the BCE losses,
            a squashed score for the others).
        """
        labels = self.labels_from_batch(batch)
        real_logits, fake_logits = self.discriminate(real, labels), self.discriminate(fake, labels)
        return {
            "d_loss": self.loss.discriminator_loss(real_logits, fake_logits),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def generator_loss(self, fake: Tensor, batch: Any) -> dict[str, Tensor]:  # noqa: ANN401
        """The G objective for one G step; every entry is logged as ``train/<key>``.

        Args:
            fake: ``(N, *sample_shape)`` generated samples (with graph to G).
            batch: The full dataloader batch.

        Returns:
            ``g_loss``, the scalar that is backpropagated.
        """
        labels = self.labels_from_batch(batch)
        real_logits = None
        if self.loss.generator_needs_real:  # relativistic losses compare with D's view of the reals
            real_logits = self.discriminate(self.real_from_batch(batch), labels)
        return {"g_loss": self.loss.generator_loss(self.discriminate(fake, labels), real_logits)}

    # ------------------------------------------------------------------ Algorithm 1

    def training_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """One D micro-batch; every N-th a D update; on every k-th D update also one G update."""
        opt_g, opt_d = self.optimizers()
        n_acc = self.accumulate_grad_batches
        last_micro_batch = self.micro_batch == n_acc - 1
        logging_now = self._is_log_iteration()
        if n_acc > 1:
            self._micro_batches.append(batch)

        # D phase: ascend log D(x) + log(1 - D(G(z))) (as a loss: descend its negation), G frozen;
        # plus the D regularizers due at this D update. Loss / N: the update follows the N-batch mean.
        real, labels = self.real_from_batch(batch), self.labels_from_batch(batch)
        d_update = self.iteration * self.k + self.d_steps_in_iteration
        with self.toggled_optimizer(opt_d), self._phase("discriminator", sync=last_micro_batch):
            fake = self.generate(self.sample_latent(real.shape[0]), labels).detach()
            d_out = self.discriminator_loss(real, fake, batch)
            penalties = self._penalties("discriminator", d_update, real, fake, labels)
            if self.micro_batch == 0:
                clear_gradients(opt_d)
            self._backward(self._update_loss(d_out["d_loss"], penalties, n_acc))
        self._accumulate(d_out | penalties)
        if not last_micro_batch:
            self.micro_batch += 1
            return
        self.micro_batch = 0
        self._d_applied |= self._optimizer_step(opt_d, "discriminator", logging_now)
        self.d_steps_in_iteration += 1
        micro_batches, self._micro_batches = self._micro_batches or [batch], []
        if self.d_steps_in_iteration < self.k:
            return

        # G phase: descend the generator loss on fresh noise, D frozen; plus due G regularizers.
        with self.toggled_optimizer(opt_g):
            clear_gradients(opt_g)
            for index, micro_batch in enumerate(micro_batches):
                real, labels = self.real_from_batch(micro_batch), self.labels_from_batch(micro_batch)
                with self._phase("generator", sync=index == len(micro_batches) - 1):
                    fake = self.generate(self.sample_latent(real.shape[0]), labels)
                    g_out = self.generator_loss(fake, micro_batch)
                    penalties = self._penalties("generator", self.iteration, real, fake, labels)
                    self._backward(self._update_loss(g_out["g_loss"], penalties, n_acc))
                self._accumulate(g_out | penalties)
        g_applied = self._optimizer_step(opt_g, "generator", logging_now)
        self.d_steps_in_iteration = 0
        self._update_ema(real.shape[0] * n_acc * self.trainer.world_size)
        self.iteration += 1
        if self.scheduler_interval == "iteration":  # learning-rate schedules run in iterations
            self._step_schedulers({"generator": g_applied, "discriminator": self._d_applied})
        self._d_applied = False

        if logging_now:
            self._log_train_window()
        if self.max_iterations is not None and self.iteration >= self.max_iterations:
            self.trainer.should_stop = True

    def _backward(self, loss: Tensor) -> None:
        """``manual_backward(loss)``, or ``loss.backward()`` where that is the same computation.

        Which one is decided per fit in :meth:`on_train_start` (see :mod:`~lightning_gan.hot_path`).
        """
        if self._plain_backward:
            loss.backward()
        else:
            self.manual_backward(loss)

    @contextmanager
    def _phase(self, network: Network, sync: bool) -> Iterator[None]:
        """Mark ``network`` as the one being trained (its DDP wrapper is used) for a forward-backward.

        Args:
            network: The network this forward-backward trains.
            sync: Whether DDP all-reduces its gradients in this backward (``False`` on every
                micro-batch but the last of an accumulated update).
        """
        wrapper = self.ddp_wrappers.get(network)
        if sync:
            block = nullcontext()
        elif wrapper is not None:
            block = wrapper.no_sync()
        else:  # Lightning's whole-module DDP (or no DDP: a no-op)
            block = getattr(self.trainer.strategy, "block_backward_sync", nullcontext)()
        self._training_network = network
        try:
            with block:
                yield
        finally:
            self._training_network = None

    def _penalties(
        self, network: Network, update: int, real: Tensor, fake: Tensor, labels: Tensor | None
    ) -> dict[str, Tensor]:
        """Unscaled penalties of the regularizers on ``network`` that are due at its ``update``-th update."""
        penalties = {}
        for regularizer in self.regularizers:
            if regularizer.network == network and regularizer.is_due(update):
                scorer = ScaledScorer(partial(self.discriminate, labels=labels), self._loss_scale())
                value = regularizer.penalty(scorer, real, fake)
                if value is not None:
                    penalties[regularizer.name] = value
        return penalties

    def _update_loss(self, loss: Tensor, penalties: Mapping[str, Tensor], n_acc: int) -> Tensor:
        """``(loss + Σ every × penalty) / N``: the scalar one micro-batch backpropagates.

        A lazy regularizer applied every n updates counts n times (StyleGAN2); dividing by the
        ``N = accumulate_grad_batches`` micro-batches makes the update follow the N-batch mean. The
        add and the divide are left out when there is no penalty or ``N = 1`` (no-ops that would
        still cost a kernel each way).

        Args:
            loss: Scalar adversarial loss of the micro-batch.
            penalties: Unscaled scalar penalties of the regularizers due at this update, by name.
            n_acc: ``N``, micro-batches per update.

        Returns:
            The scalar to backpropagate.
        """
        if penalties:
            loss = loss + sum(
                regularizer.every * penalties[regularizer.name]
                for regularizer in self.regularizers
                if regularizer.name in penalties
            )
        return loss / n_acc if n_acc > 1 else loss

    def _update_ema(self, images: int) -> None:
        """Move G_ema towards G after a G update of ``images`` samples (all ranks)."""
        if self.ema is not None:
            self.ema.update(self.generator_ema, self.generator, self.ema.beta(images, self.images_seen))
        self.images_seen += images

    def _grad_scaler(self) -> torch.amp.GradScaler | None:
        """The precision plugin's enabled ``GradScaler`` (``16-mixed``), else ``None``."""
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    def _loss_scale(self) -> float:
        """The factor ``s`` by which backward scales the loss (1 without a ``GradScaler``)."""
        scaler = self._grad_scaler()
        return scaler.get_scale() if scaler is not None else 1.0

    def _optimizer_step(
        self, optimizer: LightningOptimizer, network: Network, record_grad_norm: bool
    ) -> bool:
        """Step ``network``'s optimizer (clipping and gradient norm in :meth:`on_before_optimizer_step`).

        Returns:
            Whether the update was applied: a ``GradScaler`` skips it for inf/NaN gradients and then
            lowers its scale (``s ← backoff·s``), so a lower scale after the step means "skipped".
        """
        scaler = self._grad_scaler()
        scale_before = scaler.get_scale() if scaler is not None else 0.0
        self._stepping, self._record_grad_norm, self._gradients_finite = network, record_grad_norm, True
        try:
            if self._plain_step:
                plain_step(optimizer, self.on_before_optimizer_step)
            else:
                optimizer.step()
        finally:
            self._stepping, self._record_grad_norm = None, False
        applied = self._gradients_finite and (scaler is None or scaler.get_scale() >= scale_before)
        if applied:
            self._consecutive_skips[network] = 0
            module = self.generator if network == "generator" else self.discriminator
            for regularizer in self.regularizers:  # changes to the stepped weights, e.g. weight clipping
                if regularizer.network == network:
                    regularizer.after_step(module)
        else:
            self._count_skip(network)
        return applied

    def _count_skip(self, network: Network) -> None:
        """Count an update skipped for non-finite gradients; stop after too many in a row for one network.

        Raises:
            FloatingPointError: After ``max_consecutive_skips`` skipped updates of ``network`` in a
                row. Nothing is written on the way out, so the last checkpoint stays as it was.
        """
        self.skipped_steps += 1
        self._consecutive_skips[network] += 1
        if self._consecutive_skips[network] >= self.max_consecutive_skips:
            raise FloatingPointError(
                f"{self._consecutive_skips[network]} {network} updates in a row had non-finite (NaN/inf) "
                f"gradients, the last at iteration {self.iteration}; training stops here and the last "
                "checkpoint written is left as it was. Lower the learning rate, add clipping "
                "(g_gradient_clip_val/d_gradient_clip_val) or a gradient penalty, check the data for "
                f"NaN, or raise max_consecutive_skips (now {self.max_consecutive_skips})."
            )

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        """Take the gradient norm, drop non-finite gradients, and clip, on gradients already unscaled.

        Called inside ``optimizer.step()`` (by Lightning, or by :func:`.hot_path.plain_step`), after
        the ``GradScaler`` has unscaled the gradients. On logging iterations one norm serves both the
        log and the finiteness check, on the others a fused inf/NaN scan
        (:func:`~lightning_gan.hot_path.all_finite`) does. Without a ``GradScaler`` (which skips such
        steps itself), NaN/inf gradients are set to ``None``, and optimizers leave parameters without
        a gradient (and their state) untouched.
        Subclasses that override it must call ``super().on_before_optimizer_step``.
        """
        network = self._stepping
        if network is None:
            return
        check_finite = self._grad_scaler() is None
        if self._record_grad_norm:
            norm = self._gradient_norm(optimizer)
            self._grad_norms["grad_norm_g" if network == "generator" else "grad_norm_d"] = norm
            finite = not check_finite or bool(torch.isfinite(norm))
        else:
            finite = not check_finite or all_finite(self._gradients(optimizer))
        if not finite:  # one host sync per update
            optimizer.zero_grad(set_to_none=True)
            self._gradients_finite = False
            return
        clip_val = self.gradient_clip_val[network]
        if clip_val is not None:
            self.clip_gradients(
                optimizer, gradient_clip_val=clip_val, gradient_clip_algorithm=self.gradient_clip_algorithm
            )

    @staticmethod
    def _gradients(optimizer: Optimizer) -> list[Tensor]:
        """The gradients the optimizer would apply (parameters without one are left out)."""
        return [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]

    def _gradient_norm(self, optimizer: Optimizer) -> Tensor:
        """Global L2 norm of the optimizer's gradients, ``sqrt(Σ_p ‖∇p‖²)``."""
        grads = self._gradients(optimizer)
        return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=self.device)

    def _step_schedulers(self, applied: Mapping[Network, bool]) -> None:
        """Step each network's schedule if it was updated: G's update, or any of D's k, applied."""
        g_optimizer = self.trainer.optimizers[0]
        for scheduler in self._schedulers():
            network: Network = "generator" if scheduler.optimizer is g_optimizer else "discriminator"
            if applied[network]:
                scheduler.step()

    def on_train_epoch_end(self) -> None:
        """Step the schedules here when ``scheduler_interval="epoch"``."""
        if self.scheduler_interval == "epoch":
            self._step_schedulers({"generator": True, "discriminator": True})

    # ------------------------------------------------------------------ cheap logging

    def _is_log_iteration(self) -> bool:
        """Whether the iteration in progress closes a logging window of ``log_every_n_steps`` iterations."""
        every = self.trainer.log_every_n_steps
        return every > 0 and (self.iteration + 1) % every == 0

    def _accumulate(self, values: Mapping[str, Tensor]) -> None:
        """Add detached step values to the on-device window sums (no host sync)."""
        for key, value in values.items():
            value = value.detach()
            self._sums[key] = self._sums[key] + value if key in self._sums else value
            self._counts[key] = self._counts.get(key, 0) + 1

    def _log_train_window(self) -> None:
        """Log window means, gradient norms and skipped updates as ``train/*`` at :attr:`iteration`; reset."""
        metrics = {f"train/{key}": total / self._counts[key] for key, total in self._sums.items()}
        metrics.update({f"train/{key}": value for key, value in self._grad_norms.items()})
        metrics["train/skipped_steps"] = torch.tensor(float(self.skipped_steps))  # in all, so far
        self._sums, self._counts, self._grad_norms = {}, {}, {}
        self.log_to_loggers(metrics, prog_bar=("train/d_loss", "train/g_loss"))

    def log_to_loggers(self, metrics: Mapping[str, Tensor], prog_bar: Iterable[str] = ()) -> None:
        """Send scalars to every logger at step :attr:`iteration`, and to callbacks and the progress bar.

        This is the package's one x-axis. Lightning's own ``self.log`` would stamp values with its
        batch counter and flush only on its own schedule, so loggers are called directly here. The
        values are also written into ``trainer.callback_metrics`` (what checkpoint and early-stopping
        monitors read) and, for ``prog_bar`` names, ``trainer.progress_bar_metrics``: the two dicts
        that ``self.log(logger=False)`` fills. ``self.log`` itself costs about 0.9 ms a key on CPU
        (its result collection walks its whole state on every call), 6 ms for a window of 7 keys.
        In W&B the axis is named ``trainer/global_step`` (the name Lightning's WandbLogger gives
        every step) and holds iterations. Training values are each rank's own, as with Lightning's
        default ``self.log``; validation values come already synced by torchmetrics.

        Args:
            metrics: Name → scalar tensor (already reduced across ranks where needed).
            prog_bar: Names also shown in the progress bar.
        """
        values = {key: float(value) for key, value in metrics.items()}
        if self.iteration > self.logged_before_resume:  # not already in the loggers before a resume
            for logger in self.loggers:
                logger.log_metrics(values, step=self.iteration)
        trainer = self.trainer
        trainer.callback_metrics.update({key: torch.tensor(value) for key, value in values.items()})
        trainer.progress_bar_metrics.update({key: values[key] for key in prog_bar if key in values})

    # ------------------------------------------------------------------ validation

    def setup(self, stage: str) -> None:
        """Check the strategy, collect the datamodule's sample metrics and dry-run z → G → D for fit.

        A plain ``DDPStrategy`` is switched to :class:`~lightning_gan.distributed.GANDDPStrategy`
        here, before Lightning wraps the model.

        Raises:
            ValueError: For FSDP, DeepSpeed and model-parallel strategies.
        """
        strategy = self.trainer.strategy
        if isinstance(strategy, (FSDPStrategy, DeepSpeedStrategy, ModelParallelStrategy)):
            raise ValueError(
                f"strategy {type(strategy).__name__} is not supported: Lightning runs FSDP, DeepSpeed and "
                "model-parallel strategies only with automatic optimization, and a GAN optimizes G and D "
                "by hand; use strategy='ddp' (one DDP wrapper per network) or "
                "'ddp_find_unused_parameters_true'"
            )
        if type(strategy.checkpoint_io) is TorchCheckpointIO:  # Lightning's default writer
            strategy.checkpoint_io = AtomicCheckpointIO()
        if is_plain_ddp(strategy):
            # Same object and state; only configure_ddp/teardown change (per-network wrappers).
            strategy.__class__ = GANDDPStrategy
        datamodule = self.trainer.datamodule
        make_metrics = getattr(datamodule, "val_metrics", None)
        if callable(make_metrics) and not len(self.val_metrics):
            self.val_metrics.update(make_metrics())
        if stage == "fit":
            self.check_shapes(getattr(datamodule, "sample_shape", None))

    def validation_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """Score held-out reals and as many fakes with D; feed the fakes to the sample metrics."""
        real = self.real_from_batch(batch)
        fake_labels = self.sample_labels(real.shape[0])
        fake = self.sample(real.shape[0], labels=fake_labels)
        self.val_d_real.update(torch.sigmoid(self.discriminate(real, self.labels_from_batch(batch))))
        self.val_d_fake.update(torch.sigmoid(self.discriminate(fake, fake_labels)))
        for metric in self.val_metrics.values():
            metric.update(fake)

    def test_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """The validation measurements, on the test dataloader, logged as ``test/*``."""
        self.validation_step(batch, batch_idx)

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:  # noqa: ANN401
        """Generate as many samples as the batch holds.

        Returns:
            ``(N, *sample_shape)`` samples.
        """
        return self.sample(self.real_from_batch(batch).shape[0])

    def _evaluation_epoch_end(self, prefix: str) -> None:
        """Compute (rank-synced by torchmetrics), reset, and log ``<prefix>/*`` at step :attr:`iteration`."""
        metrics: dict[str, Tensor] = {
            f"{prefix}/d_real": self.val_d_real.compute(),
            f"{prefix}/d_fake": self.val_d_fake.compute(),
        }
        for metric in self.val_metrics.values():
            metrics.update({f"{prefix}/{key}": value for key, value in metric.compute().items()})
        for metric in (self.val_d_real, self.val_d_fake, *self.val_metrics.values()):
            metric.reset()
        if not self.trainer.sanity_checking:
            self.log_to_loggers(metrics)
            summary = " ".join(f"{key}={float(value):.4g}" for key, value in metrics.items())
            self.print(f"iteration {self.iteration}: {summary}")  # rank 0, above the progress bar

    def _average_buffers(self) -> None:
        """Give every rank the rank-mean BatchNorm statistics (a no-op on one process)."""
        if dist.is_available() and dist.is_initialized() and self.trainer.world_size > 1:
            average_buffers(self)

    def on_validation_epoch_start(self) -> None:
        """Average buffers over ranks; switch to the evaluation random stream.

        Every rank then evaluates (and checkpoints) the same networks. Evaluation draws its latents
        from a stream seeded with ``seed + rank`` (the same latents at every validation), and
        training's streams are put back in :meth:`on_validation_epoch_end`: how often and whether
        one validates (sanity check included) never changes the training run.
        """
        self._average_buffers()
        self._enter_evaluation_stream()

    def on_test_epoch_start(self) -> None:
        """Draw test latents from the evaluation stream (see :meth:`on_validation_epoch_start`)."""
        self._enter_evaluation_stream()

    def _enter_evaluation_stream(self) -> None:
        if self.evaluation_seed is None:  # the run's seed, kept in checkpoints for resumed runs
            self.evaluation_seed = int(os.environ.get("PL_GLOBAL_SEED", 0))
        self._outer_rng = rng_states()
        torch.manual_seed(self.evaluation_seed + self.trainer.global_rank)

    def _leave_evaluation_stream(self) -> None:
        if self._outer_rng is not None:
            set_rng_states(self._outer_rng)
            self._outer_rng = None

    def on_train_start(self) -> None:
        """Give every rank its own random stream, or on a resumed fit put back the saved streams.

        ``seed_everything`` seeds every rank alike, which would make each rank generate the same
        fakes (a global batch with ``W`` copies of one fake batch). After the networks exist (DDP
        keeps their weights equal), rank ``r`` reseeds with ``initial_seed + r``. When resuming,
        every rank instead gets back the torch/CUDA/NumPy/Python streams it had when the checkpoint
        was written, so the run continues with the random numbers it would have drawn. Also decides
        whether backward and optimizer steps may skip Lightning's dispatch (:mod:`.hot_path`).
        """
        self._plain_backward = plain_backward_suffices(self)
        self._plain_step = plain_step_suffices(self)
        saved, self._rank_states_to_restore = self._rank_states_to_restore, None
        self.logged_before_resume = -1
        if self.trainer.ckpt_path is None:  # weights loaded for a new fit, not a resumed one
            saved = None
        elif self.trainer.is_global_zero:
            wandb = [last_logged_step(lg) for lg in self.loggers if isinstance(lg, WandbLogger)]
            self.logged_before_resume = max(wandb, default=-1)
        rank, world = self.trainer.global_rank, self.trainer.world_size
        if saved is not None and len(saved) == world:
            self._restore_rank_state(saved[rank])
            return
        if saved is not None:
            warnings.warn(
                f"the checkpoint holds the random streams of {len(saved)} processes but this run has "
                f"{world}; the streams are reseeded, so training continues but not bit for bit",
                stacklevel=2,
            )
        if world > 1:
            torch.manual_seed(torch.initial_seed() + rank)

    def _restore_rank_state(self, state: Mapping[str, Any]) -> None:
        """Put back this rank's random streams, and its D gradients and batches if saved mid-update."""
        set_rng_states(state["rng"])
        if "d_grads" in state:
            for parameter, grad in zip(self.discriminator.parameters(), state["d_grads"], strict=True):
                parameter.grad = None if grad is None else grad.to(parameter.device)
            self._micro_batches = [
                self.transfer_batch_to_device(b, self.device, 0) for b in state["micro_batches"]
            ]

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """Tell a resumable training loader that this batch was used (its checkpointed position).

        Subclasses that override it must call ``super().on_train_batch_start``, or a resumed fit
        restarts its epoch from the first batch.
        """
        loader = self.trainer.train_dataloader
        if isinstance(loader, ResumableLoader):
            loader.consumed_batch()

    def on_train_end(self) -> None:
        """Average buffers over ranks, so the trained networks are the same on every rank."""
        self._average_buffers()

    def on_validation_epoch_end(self) -> None:  # noqa: D102
        self._evaluation_epoch_end("val")
        self._leave_evaluation_stream()

    def on_test_epoch_end(self) -> None:  # noqa: D102
        self._evaluation_epoch_end("test")
        self._leave_evaluation_stream()

    # ------------------------------------------------------------------ sampling and checks

    @torch.no_grad()
    def sample(self, n: int, z: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        """Draw ``n`` samples from G_ema if there is one, else G, in eval mode (no buffer updates).

        Args:
            n: Number of samples.
            z: ``(n, latent_dim)`` latents to use instead of fresh :meth:`sample_latent` noise.
            labels: ``(n,)`` class labels for a conditional model (default :meth:`sample_labels`).

        Returns:
            ``(n, *sample_shape)`` samples.
        """
        if z is None:
            z = self.sample_latent(n)
        if labels is None:
            labels = self.sample_labels(n)
        net = self.generator_ema if self.generator_ema is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            return self.generate(z, labels, average=True)
        finally:
            net.train(was_training)

    @torch.no_grad()
    def check_shapes(self, sample_shape: tuple[int, ...] | None) -> None:
        """One dry pass z → G → D on two samples; raise if the shapes do not fit together.

        Args:
            sample_shape: Shape of one real sample (from the datamodule), or ``None`` to skip that
                comparison.

        Raises:
            ValueError: Naming the latent, generator-output and data shapes (and D's output) when
                G's output differs from ``sample_shape``, D rejects it, or D's output is not
                ``(N,)`` or ``(N, 1)``.
        """
        modes = (self.generator.training, self.discriminator.training)
        self.generator.eval()
        self.discriminator.eval()
        n = 2 * getattr(self.discriminator, "pack", 1)  # a packed D scores groups of `pack` samples
        try:
            z, labels = self.sample_latent(n), self.sample_labels(n)
            fake = self.generator(z) if labels is None else self.generator(z, labels)
            shapes = (
                f"z {tuple(z.shape)} → G(z) {tuple(fake.shape)}; one data sample has shape {sample_shape}"
            )
            if sample_shape is not None and tuple(fake.shape[1:]) != tuple(sample_shape):
                raise ValueError(
                    f"generator output does not match the data: {shapes}; make G emit (N, *{sample_shape})"
                )
            try:
                logits = self.discriminator(fake) if labels is None else self.discriminator(fake, labels)
            except RuntimeError as err:
                raise ValueError(
                    f"the discriminator cannot take the generator's output: {shapes}; D raised: {err}"
                ) from err
            if tuple(logits.shape) not in ((2,), (2, 1)):
                raise ValueError(
                    "the discriminator must return logits of shape (N,) or (N, 1) "
                    "(N / pack for a PackedDiscriminator): "
                    f"{shapes} → D {tuple(logits.shape)}"
                )
        finally:
            self.generator.train(modes[0])
            self.discriminator.train(modes[1])

    # ------------------------------------------------------------------ optimizers and state

    def configure_optimizers(self) -> tuple[list[Optimizer], list[LRScheduler]]:
        """G's optimizer first, then D's; then the schedules that were asked for (G's, then D's).

        Raises:
            ValueError: For ``ReduceLROnPlateau``, which needs a monitored value per step.
        """
        optimizers = [
            self.g_optimizer(self.generator.parameters()),
            self.d_optimizer(self.discriminator.parameters()),
        ]
        schedulers = [
            make(optimizer)
            for make, optimizer in zip((self.g_scheduler, self.d_scheduler), optimizers, strict=True)
            if make is not None
        ]
        for scheduler in schedulers:
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    "GAN steps learning-rate schedules once per iteration without a metric; "
                    "ReduceLROnPlateau is not supported; use a step-based one (LinearLR, CosineAnnealingLR)"
                )
        return optimizers, schedulers

    def _schedulers(self) -> list[LRScheduler]:
        """The configured learning-rate schedules as a list (Lightning returns None, one, or a list)."""
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return []
        return list(schedulers) if isinstance(schedulers, list) else [schedulers]

    def _check_architecture(self, saved: Mapping[str, Tensor]) -> None:
        """Raise one readable error when ``saved`` weights cannot be loaded into this model."""
        mine = self.state_dict()
        differences = [f"{key} missing from the checkpoint" for key in mine if key not in saved]
        differences += [f"{key} not in this model" for key in saved if key not in mine]
        differences += [
            f"{key}: checkpoint {tuple(saved[key].shape)}, model {tuple(value.shape)}"
            for key, value in mine.items()
            if key in saved and saved[key].shape != value.shape
        ]
        if differences:
            shown = "; ".join(differences[:5]) + (
                f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
            )
            raise ValueError(
                f"the checkpoint was written by another architecture than this {type(self).__name__} "
                f"({len(differences)} differences: {shown}); build the model with the config it was "
                "trained with"
            )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the iteration counters, the logging window in progress and every rank's random streams.

        Runs on every rank (Lightning assembles the checkpoint everywhere and rank 0 writes it), so
        the per-rank state is gathered: ``checkpoint["rank_states"][r]`` is rank ``r``'s random
        streams (and, mid-way through an accumulated D update, its D gradients and kept batches).
        """
        checkpoint["gan_counters"] = {
            "iteration": self.iteration,
            "d_steps_in_iteration": self.d_steps_in_iteration,
            "micro_batch": self.micro_batch,
            "images_seen": self.images_seen,
            "skipped_steps": self.skipped_steps,
            "window_sums": dict(self._sums),
            "window_counts": dict(self._counts),
            "consecutive_skips": dict(self._consecutive_skips),
            "d_applied": self._d_applied,
            "evaluation_seed": self.evaluation_seed,
        }
        own: dict[str, Any] = {"rng": rng_states() if self._outer_rng is None else self._outer_rng}
        if self.micro_batch:  # mid-way through an accumulated D update: this rank's gradients and batches
            own["d_grads"] = [p.grad for p in self.discriminator.parameters()]
            own["micro_batches"] = list(self._micro_batches)
        if dist.is_available() and dist.is_initialized() and self.trainer.world_size > 1:
            gathered: list[Any] = [None] * self.trainer.world_size
            dist.all_gather_object(gathered, own)
            checkpoint["rank_states"] = gathered
        else:
            checkpoint["rank_states"] = [own]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Check that the checkpoint fits this model, then restore the iteration counters.

        Raises:
            ValueError: If the checkpoint's weights have other names or shapes than this model's
                (a checkpoint of another architecture), listing the first differences.
        """
        self._check_architecture(checkpoint.get("state_dict", {}))
        counters = checkpoint.get("gan_counters", {})
        self.iteration = counters.get("iteration", 0)
        self.d_steps_in_iteration = counters.get("d_steps_in_iteration", 0)
        self.micro_batch = counters.get("micro_batch", 0)
        self.skipped_steps = counters.get("skipped_steps", 0)
        self.images_seen = counters.get("images_seen", 0)
        self._sums = dict(counters.get("window_sums", {}))
        self._counts = dict(counters.get("window_counts", {}))
        self._consecutive_skips.update(counters.get("consecutive_skips", {}))
        self._d_applied = counters.get("d_applied", False)
        self.evaluation_seed = counters.get("evaluation_seed")
        self._rank_states_to_restore = checkpoint.get("rank_states")
