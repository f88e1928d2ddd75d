"""The sides of ``overhead.py``: a plain PyTorch loop, two floor LightningModules and ``GAN``.

Each side gets the same networks (built from the same seed), loader and learning rate, draws the
same latents (reseeded when training starts) and the same batches (each epoch's order set as
Lightning sets it), and ticks its turn (``turns.py``) at the start of every iteration. So every side
computes the same numbers (bit for bit on the MLP; CPU convolutions are not always deterministic);
:func:`digest` of the final networks shows whether they did.
"""

import argparse
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import wandb
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.data import DataLoader
from turns import Turn

from lightning_gan import GAN
from lightning_gan.data import DigitsDataModule, GaussianMixtureDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

LOG_EVERY = 50
SEED = 0


def case(name: str) -> tuple[nn.Module, nn.Module, Callable[[], DataLoader], float]:
    """Networks, a training-loader factory and the learning rate of one benchmark case."""
    torch.manual_seed(SEED)
    if name == "mlp":  # configs/gan_grid.yaml
        data = GaussianMixtureDataModule(layout="grid", batch_size=512)
        nets = (
            MLPGenerator(latent_dim=2, hidden_features=128, n_hidden=3),
            MLPDiscriminator(hidden_features=128, n_hidden=3),
        )
        lr = 1e-3
    else:  # configs/dcgan_digits.yaml
        data = DigitsDataModule(image_size=16, batch_size=64)
        nets = (
            DCGANGenerator(latent_dim=32, image_size=16, channels=1, base_channels=32),
            DCGANDiscriminator(image_size=16, channels=1, base_channels=32),
        )
        lr = 2e-4
    data.setup("fit")
    return *nets, data.train_dataloader, lr


def score(discriminator: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """D's ``(N,)`` logits on reals and fakes, as ``GAN(joint_d_forward="auto")`` computes them here.

    One forward of the ``2N`` batch split in halves, unless D has BatchNorm (the DCGAN case), whose
    batch statistics would mix reals and fakes: then one forward each.
    """
    if any(isinstance(module, nn.BatchNorm2d) for module in discriminator.modules()):
        return discriminator(real).reshape(-1), discriminator(fake).reshape(-1)
    logits = discriminator(torch.cat([real, fake])).reshape(-1)
    return logits[: real.shape[0]], logits[real.shape[0] :]


def algorithm1_step(
    generator: nn.Module, discriminator: nn.Module, real: Tensor, opt_g: Optimizer, opt_d: Optimizer
) -> dict[str, Tensor]:
    """One D update and one G update by hand (non-saturating loss); returns the detached values to log."""
    n = real.shape[0]
    generator.requires_grad_(False)
    discriminator.requires_grad_(True)
    fake = generator(torch.randn(n, generator.latent_dim)).detach()
    real_logits, fake_logits = score(discriminator, real, fake)
    d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    generator.requires_grad_(True)
    discriminator.requires_grad_(False)
    g_loss = F.softplus(-discriminator(generator(torch.randn(n, generator.latent_dim))).reshape(-1)).mean()
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def digest(*modules: nn.Module) -> str:
    """A SHA-256 of the modules' parameters and buffers, bit for bit."""
    sha = hashlib.sha256()
    for module in modules:
        for tensor in module.state_dict().values():
            sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()


def add_to_window(sums: dict[str, Tensor], values: dict[str, Tensor]) -> None:
    """Add one iteration's values to the on-device window sums."""
    for key, value in values.items():
        sums[key] = sums[key] + value if key in sums else value


@dataclass
class Work:
    """What each side gets: the case's networks and a loader, its turn, and the run's settings."""

    generator: nn.Module
    discriminator: nn.Module
    loader: DataLoader
    lr: float
    iterations: int  # (warm-up + timed blocks) · block + 1
    turn: Turn
    args: argparse.Namespace


def plain(work: Work) -> None:
    """Algorithm 1 by hand for ``work.iterations`` iterations, ticking the turn at each."""
    generator, discriminator, turn = work.generator, work.discriminator, work.turn
    run = wandb.init(project="overhead", dir=work.args.scratch, mode="offline")
    opt_g = torch.optim.Adam(generator.parameters(), lr=work.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=work.lr, betas=(0.5, 0.999))
    sums: dict[str, Tensor] = {}
    iteration = epoch = 0
    torch.manual_seed(SEED)  # as SameLatents does for the Lightning sides
    while iteration < work.iterations:
        work.loader.sampler.set_epoch(epoch)  # as Lightning does: each epoch its own order
        epoch += 1
        for real, _ in work.loader:
            turn.tick()
            add_to_window(sums, algorithm1_step(generator, discriminator, real, opt_g, opt_d))
            iteration += 1
            if iteration % LOG_EVERY == 0:
                run.log({f"train/{k}": float(v) / LOG_EVERY for k, v in sums.items()}, step=iteration)
                sums = {}
            if iteration == work.iterations:
                break
    run.finish()


class FloorModule(LightningModule):
    """The plain loop's work as a bare LightningModule on Lightning's public path.

    ``toggled_optimizer`` freezes the other network, ``manual_backward`` and the ``LightningOptimizer``'s
    ``zero_grad``/``step`` do the update, window sums go to the logger every 50 iterations. With
    ``guarded`` it also does what ``GAN`` does by default around each step, written here by hand:
    in ``on_before_optimizer_step`` it drops gradients holding NaN/inf (one float32 sum per
    gradient, one host sync per update; a dropped update is counted) and on logging iterations
    takes each network's gradient norm, logging both. That is the floor for ``GAN``'s work; the
    unguarded module is the floor for the plain loop's.
    """

    def __init__(
        self, generator: nn.Module, discriminator: nn.Module, lr: float, iterations: int, guarded: bool
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.discriminator = generator, discriminator
        self.lr, self.iterations, self.guarded = lr, iterations, guarded
        self.iteration = self.skipped = 0
        self.sums: dict[str, Tensor] = {}
        self.norms: dict[str, Tensor] = {}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:  # noqa: D102
        opt_g, opt_d = self.optimizers()
        real, generator, discriminator = batch[0], self.generator, self.discriminator
        n = real.shape[0]
        with self.toggled_optimizer(opt_d):
            fake = generator(torch.randn(n, generator.latent_dim)).detach()
            real_logits, fake_logits = score(discriminator, real, fake)
            d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
            opt_d.zero_grad()
            self.manual_backward(d_loss)
        opt_d.step()
        with self.toggled_optimizer(opt_g):
            fake_logits_g = discriminator(generator(torch.randn(n, generator.latent_dim))).reshape(-1)
            g_loss = F.softplus(-fake_logits_g).mean()
            opt_g.zero_grad()
            self.manual_backward(g_loss)
        opt_g.step()
        values = {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }
        add_to_window(self.sums, values)
        self.iteration += 1
        if self.iteration % LOG_EVERY == 0:
            window = {f"train/{k}": float(v) / LOG_EVERY for k, v in self.sums.items()}
            if self.guarded:
                window |= {f"train/{k}": float(v) for k, v in self.norms.items()}
                window["train/skipped_steps"] = float(self.skipped)
            self.logger.log_metrics(window, step=self.iteration)
            self.sums, self.norms = {}, {}
        if self.iteration >= self.iterations:
            self.trainer.should_stop = True

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:  # noqa: D102
        if not self.guarded:
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if (self.iteration + 1) % LOG_EVERY == 0:
            key = "grad_norm_g" if optimizer is self.trainer.optimizers[0] else "grad_norm_d"
            self.norms[key] = torch.nn.utils.get_total_norm(grads).detach()
        if not math.isfinite(torch.stack([g.sum(dtype=torch.float32) for g in grads]).sum().item()):
            optimizer.zero_grad(set_to_none=True)
            self.skipped += 1

    def configure_optimizers(self) -> list[Optimizer]:  # noqa: D102
        return [
            torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=(0.5, 0.999)),
        ]


class SameLatents(Callback):
    """Reseeds torch when training starts, as ``plain`` does before its loop.

    The sides then draw the same latents and, with the same initial weights and batches, compute
    the same numbers: their trajectories are one. Speed depends on the trajectory as well as on
    the code: values that become subnormal floats (Adam's second moments of tiny gradients) make
    every operation on them slower, and trajectories with different latents differ by several
    per cent in how many there are.
    """

    def on_train_start(self, *_: object) -> None:  # noqa: D102
        torch.manual_seed(SEED)


class TurnTicks(Callback):
    """Ticks the turn at the start of every batch (one batch is one iteration here: k = 1)."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn

    def on_train_batch_start(self, *_: object) -> None:  # noqa: D102
        self.turn.tick()


def fit(module: LightningModule, work: Work) -> None:
    """Fit ``module`` under a ``Trainer`` set up like the shipped configs, ticking the turn."""
    args = work.args
    logger = WandbLogger(project="overhead", save_dir=args.scratch, offline=True)
    bar = [TQDMProgressBar(refresh_rate=LOG_EVERY)] if args.progress_bar else []
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=logger,
        log_every_n_steps=LOG_EVERY,
        limit_val_batches=0,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=args.progress_bar,
        callbacks=[SameLatents(), TurnTicks(work.turn), *bar],
    )
    trainer.fit(module, train_dataloaders=work.loader)
    logger.experiment.finish()


def bare(work: Work) -> None:
    """The plain loop's body inside a bare LightningModule (:class:`FloorModule`, unguarded)."""
    fit(FloorModule(work.generator, work.discriminator, work.lr, work.iterations, guarded=False), work)


def floor(work: Work) -> None:
    """``GAN``'s work by hand in a bare LightningModule (:class:`FloorModule`, guarded)."""
    fit(FloorModule(work.generator, work.discriminator, work.lr, work.iterations, guarded=True), work)


def packaged(work: Work) -> None:
    """The same work through ``GAN``."""
    adam = lambda params: torch.optim.Adam(params, lr=work.lr, betas=(0.5, 0.999))  # noqa: E731
    gan = GAN(
        work.generator, work.discriminator, g_optimizer=adam, d_optimizer=adam, max_iterations=work.iterations
    )
    fit(gan, work)


LOOPS: dict[str, Callable[[Work], None]] = {
    "plain": plain,
    "bare": bare,
    "floor": floor,
    "lightning_gan": packaged,
}
