"""lightning_gan's training loop against a plain PyTorch loop doing the same work.

All sides use the same networks (fresh copies of one initialisation), the non-saturating loss,
Adam, the same DataLoader and batches, ``requires_grad`` toggling, and logging as the shipped
configs do it: losses and mean D probabilities summed on the device and sent to an offline W&B run
every 50 iterations. Three sides: ``plain`` is the hand-written loop; ``floor`` is the same loop
body as a bare LightningModule (raw optimizers, ``loss.backward()``), which measures what
Lightning's per-batch loop costs any module; ``lightning_gan`` is ``GAN``. The two Lightning sides
run under a ``Trainer`` configured like the shipped configs (W&B logger, progress bar redrawn every
50 batches), without validation. Runs rotate through the sides in one process; each is timed from
iteration ``--warmup`` to the end; the table gives median iterations/s, their ratios, and the
median of the lightning_gan/plain ratios paired within each rotation (robust to a machine whose
speed drifts during the benchmark).

    python benchmarks/overhead.py                 # MLP (2-D grid, batch 512) and DCGAN (digits, batch 64)
    python benchmarks/overhead.py --repeats 7 --iterations 2000

The last line reads ``ratio R``: lightning_gan it/s ÷ plain it/s for the MLP case.
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
import wandb
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.data import DataLoader

from lightning_gan import GAN
from lightning_gan.data import DigitsDataModule, GaussianMixtureDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

LOG_EVERY = 50


def case(name: str) -> tuple[nn.Module, nn.Module, DataLoader, float]:
    """Networks, training loader and learning rate of one benchmark case."""
    torch.manual_seed(0)
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
    return *nets, data.train_dataloader(), lr


def algorithm1_step(
    generator: nn.Module, discriminator: nn.Module, real: Tensor, opt_g: Optimizer, opt_d: Optimizer
) -> dict[str, Tensor]:
    """One D update and one G update by hand (non-saturating loss); returns the detached values to log."""
    n = real.shape[0]
    generator.requires_grad_(False)
    discriminator.requires_grad_(True)
    fake = generator(torch.randn(n, generator.latent_dim)).detach()
    real_logits, fake_logits = discriminator(real).reshape(-1), discriminator(fake).reshape(-1)
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


def add_to_window(sums: dict[str, Tensor], values: dict[str, Tensor]) -> None:
    """Add one iteration's values to the on-device window sums."""
    for key, value in values.items():
        sums[key] = sums[key] + value if key in sums else value


def plain(
    generator: nn.Module, discriminator: nn.Module, loader: DataLoader, lr: float, args: argparse.Namespace
) -> float:
    """Algorithm 1 by hand; returns timed iterations per second."""
    run = wandb.init(project="overhead", dir=args.scratch, mode="offline", reinit="finish_previous")
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    sums: dict[str, Tensor] = {}
    iteration, start = 0, 0.0
    while iteration < args.warmup + args.iterations:
        for real, _ in loader:
            if iteration == args.warmup:
                start = time.perf_counter()
            add_to_window(sums, algorithm1_step(generator, discriminator, real, opt_g, opt_d))
            iteration += 1
            if iteration % LOG_EVERY == 0:
                run.log({f"train/{k}": float(v) / LOG_EVERY for k, v in sums.items()}, step=iteration)
                sums = {}
            if iteration == args.warmup + args.iterations:
                break
    seconds = time.perf_counter() - start
    run.finish()
    return args.iterations / seconds


class FloorModule(LightningModule):
    """The plain loop's body as a bare LightningModule: Lightning's per-batch loop and nothing else.

    Raw torch optimizers, ``loss.backward()``, ``requires_grad`` set directly, window sums sent to
    the logger every 50 iterations: what any LightningModule doing this work pays at least.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr: float, iterations: int) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.discriminator, self.iterations = generator, discriminator, iterations
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.iteration, self.d_steps_in_iteration = 0, 0  # what Timer reads
        self.sums: dict[str, Tensor] = {}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:  # noqa: D102
        add_to_window(
            self.sums, algorithm1_step(self.generator, self.discriminator, batch[0], self.opt_g, self.opt_d)
        )
        self.iteration += 1
        if self.iteration % LOG_EVERY == 0:
            window = {f"train/{k}": float(v) / LOG_EVERY for k, v in self.sums.items()}
            self.logger.log_metrics(window, step=self.iteration)
            self.sums = {}
        if self.iteration >= self.iterations:
            self.trainer.should_stop = True

    def configure_optimizers(self) -> None:  # noqa: D102
        return None


class Timer(Callback):
    """Times iterations ``warmup`` to the end of a fit."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.seconds = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer: Trainer, module: LightningModule, *_: object) -> None:  # noqa: D102
        if module.iteration == self.warmup and module.d_steps_in_iteration == 0:
            self.start = time.perf_counter()

    def on_train_end(self, trainer: Trainer, module: LightningModule) -> None:  # noqa: D102
        self.seconds = time.perf_counter() - self.start


def fit_timed(module: LightningModule, loader: DataLoader, args: argparse.Namespace) -> float:
    """Fit ``module`` under a ``Trainer`` set up like the shipped configs; returns timed it/s."""
    timer = Timer(args.warmup)
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=WandbLogger(project="overhead", save_dir=args.scratch, offline=True),
        log_every_n_steps=LOG_EVERY,
        limit_val_batches=0,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=args.progress_bar,
        callbacks=[timer, TQDMProgressBar(refresh_rate=50)] if args.progress_bar else [timer],
    )
    trainer.fit(module, train_dataloaders=loader)
    wandb.finish()
    return args.iterations / timer.seconds


def floor(
    generator: nn.Module, discriminator: nn.Module, loader: DataLoader, lr: float, args: argparse.Namespace
) -> float:
    """The plain loop's body inside a bare LightningModule (:class:`FloorModule`)."""
    return fit_timed(FloorModule(generator, discriminator, lr, args.warmup + args.iterations), loader, args)


def packaged(
    generator: nn.Module, discriminator: nn.Module, loader: DataLoader, lr: float, args: argparse.Namespace
) -> float:
    """The same work through ``GAN``."""
    adam = lambda params: torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))  # noqa: E731
    gan = GAN(
        generator,
        discriminator,
        g_optimizer=adam,
        d_optimizer=adam,
        max_iterations=args.warmup + args.iterations,
    )
    return fit_timed(gan, loader, args)


#: The three sides, run in a rotating order so that none always runs first.
LOOPS: dict[str, Callable[..., float]] = {"plain": plain, "floor": floor, "lightning_gan": packaged}


def measure(name: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Interleave the three loops; return each one's it/s, one entry per rotation."""
    generator, discriminator, loader, lr = case(name)
    labels = list(LOOPS)
    runs: dict[str, list[float]] = {label: [] for label in labels}
    for repeat in range(args.repeats):
        for label in labels[repeat % 3 :] + labels[: repeat % 3]:
            nets = copy.deepcopy(generator), copy.deepcopy(discriminator)
            runs[label].append(LOOPS[label](*nets, loader, lr, args))
            print(f"  {name} repeat {repeat + 1}: {label} {runs[label][-1]:.1f} it/s", file=sys.stderr)
    return runs


def paired(runs: dict[str, list[float]], over: str, under: str) -> float:
    """Median over rotations of ``over`` it/s ÷ ``under`` it/s within the same rotation.

    The two runs of a rotation are minutes apart at most, so a machine that drifts in speed over
    the whole benchmark moves both; the ratio of overall medians does not cancel that drift.
    """
    return statistics.median(a / b for a, b in zip(runs[over], runs[under], strict=True))


def main() -> None:
    """Measure each case and print the table and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", choices=["mlp", "dcgan"], default=["mlp", "dcgan"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=1500, help="timed iterations per run")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--no-progress-bar", dest="progress_bar", action="store_false")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ["WANDB_MODE"] = "offline"  # runs are written locally, never uploaded
    ratios = {}
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = scratch
        runs = {name: measure(name, args) for name in args.cases}
    print(f"\nmedian of {args.repeats} interleaved runs, {args.iterations} timed iterations each")
    print(
        f"{'case':<6} {'plain it/s':>11} {'floor it/s':>11} {'lightning_gan it/s':>19} "
        f"{'floor/plain':>12} {'gan/floor':>10} {'gan/plain':>10} {'paired gan/plain':>17}"
    )
    for name, sides in runs.items():
        rates = {label: statistics.median(values) for label, values in sides.items()}
        ratios[name] = rates["lightning_gan"] / rates["plain"]
        print(
            f"{name:<6} {rates['plain']:>11.1f} {rates['floor']:>11.1f} {rates['lightning_gan']:>19.1f} "
            f"{rates['floor'] / rates['plain']:>12.3f} {rates['lightning_gan'] / rates['floor']:>10.3f} "
            f"{ratios[name]:>10.3f} {paired(sides, 'lightning_gan', 'plain'):>17.3f}"
        )
    print("paired: median over rotations of the ratio between runs of the same rotation")
    print()
    print(f"ratio {ratios[args.cases[0]]:.3f}")


if __name__ == "__main__":
    main()
