"""lightning_gan's training loop against a plain PyTorch loop doing the same work.

All sides use the same networks (each process builds them from the same seed), the non-saturating loss,
Adam, the same DataLoader and batches, ``requires_grad`` toggling, and logging as the shipped
configs do it: losses and mean D probabilities summed on the device and sent to an offline W&B run
every 50 iterations. Three sides: ``plain`` is the hand-written loop; ``floor`` is the same work as a
bare LightningModule on Lightning's public path (``toggled_optimizer``, ``manual_backward``,
``optimizer.zero_grad()`` and ``optimizer.step()`` on the optimizers from ``configure_optimizers``),
what any LightningModule doing this work pays; ``lightning_gan`` is ``GAN``. The two Lightning sides
run under a ``Trainer`` configured like the shipped configs (W&B logger, progress bar redrawn every
50 batches), without validation.

Interleaving. This machine's speed drifts by ±15 % over seconds to minutes, more than the few per
cent being measured, so the sides do not run one after another: each runs in its own process and
takes turns (``turns.py``) running a block of ``--block`` iterations (50, one logging window: 0.5 to
2 s) while the others wait. A round gives each side one block, in an order that rotates every
round. Every side's blocks thus sample the same stretch of time, and the blocks of one round lie
within a few seconds.

Process sets. Whole runs of the same code have differed by more than their rounds' scatter
explains (README), as if each process had a speed of its own; one set of processes is one draw of
that. So each case runs ``--processes`` sets of fresh processes, one after another, each for
``--blocks`` rounds. The table gives each side's median it/s over all its blocks and the
medians over rounds of the within-round ratios ("paired") lightning_gan/floor and lightning_gan/plain,
with lightning_gan/floor per process set. It is also written into docs/benchmarks.md.

    python benchmarks/overhead.py                 # MLP (2-D grid, batch 512) and DCGAN (digits, batch 64)
    python benchmarks/overhead.py --cases mlp --processes 5

The last line reads ``ratio R``: the paired lightning_gan/floor ratio of the first case.
"""

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import wandb
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import WandbLogger
from report import Table, write_section
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.data import DataLoader
from turns import Turn, run_in_turns

from lightning_gan import GAN
from lightning_gan.data import DigitsDataModule, GaussianMixtureDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

LOG_EVERY = 50
SIDES = ("plain", "floor", "lightning_gan")


def case(name: str) -> tuple[nn.Module, nn.Module, Callable[[], DataLoader], float]:
    """Networks, a training-loader factory and the learning rate of one benchmark case."""
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
    return *nets, data.train_dataloader, lr


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
    iteration = 0
    while iteration < work.iterations:
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
    """The plain loop's work as a bare LightningModule on Lightning's public path, and nothing else.

    ``toggled_optimizer`` freezes the other network, ``manual_backward`` and the ``LightningOptimizer``'s
    ``zero_grad``/``step`` do the update, window sums go to the logger every 50 iterations: what any
    LightningModule doing this work through Lightning's public API pays at least.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr: float, iterations: int) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.discriminator, self.iterations, self.lr = (
            generator,
            discriminator,
            iterations,
            lr,
        )
        self.iteration = 0
        self.sums: dict[str, Tensor] = {}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:  # noqa: D102
        opt_g, opt_d = self.optimizers()
        real, generator, discriminator = batch[0], self.generator, self.discriminator
        n = real.shape[0]
        with self.toggled_optimizer(opt_d):
            fake = generator(torch.randn(n, generator.latent_dim)).detach()
            real_logits, fake_logits = discriminator(real).reshape(-1), discriminator(fake).reshape(-1)
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
            self.logger.log_metrics(window, step=self.iteration)
            self.sums = {}
        if self.iteration >= self.iterations:
            self.trainer.should_stop = True

    def configure_optimizers(self) -> list[Optimizer]:  # noqa: D102
        return [
            torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=(0.5, 0.999)),
        ]


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
        callbacks=[TurnTicks(work.turn), *bar],
    )
    trainer.fit(module, train_dataloaders=work.loader)
    logger.experiment.finish()


def floor(work: Work) -> None:
    """The plain loop's body inside a bare LightningModule (:class:`FloorModule`)."""
    fit(FloorModule(work.generator, work.discriminator, work.lr, work.iterations), work)


def packaged(work: Work) -> None:
    """The same work through ``GAN``."""
    adam = lambda params: torch.optim.Adam(params, lr=work.lr, betas=(0.5, 0.999))  # noqa: E731
    gan = GAN(
        work.generator, work.discriminator, g_optimizer=adam, d_optimizer=adam, max_iterations=work.iterations
    )
    fit(gan, work)


LOOPS: dict[str, Callable[[Work], None]] = {"plain": plain, "floor": floor, "lightning_gan": packaged}


def run_side(label: str, turn: Turn, name: str, iterations: int, args: argparse.Namespace) -> None:
    """One side's whole run in its own process: the case's networks and loader, then its loop.

    ``case`` seeds before building the networks, so every process starts from the same weights.
    """
    generator, discriminator, make_loader, lr = case(name)
    LOOPS[label](Work(generator, discriminator, make_loader(), lr, iterations, turn, args))


def measure(name: str, args: argparse.Namespace) -> list[dict[str, list[float]]]:
    """Run the three sides block by block in each process set; return, per set, each side's it/s per block.

    Each side runs ``(warmup + blocks) · block + 1`` iterations per set. Its first ``warmup`` blocks
    are left out, and the last iteration, untimed, keeps the end of a fit out of the last timed
    block. Sides are set up one at a time, and timing starts when all of them wait at their first
    iteration.
    """
    iterations = (args.warmup + args.blocks) * args.block + 1
    sets = []
    for set_ in range(args.processes):
        blocks = run_in_turns(SIDES, run_side, args.block, (name, iterations, args))
        rates = {
            label: [args.block / (end - start) for start, end in blocks[label][args.warmup :]]
            for label in SIDES
        }
        for round_, row in enumerate(zip(*rates.values(), strict=True)):
            print(
                f"  {name} set {set_ + 1} round {round_ + 1}: "
                + "  ".join(f"{label} {rate:.1f}" for label, rate in zip(SIDES, row, strict=True)),
                file=sys.stderr,
            )
        sets.append(rates)
    return sets


def paired(runs: dict[str, list[float]], over: str, under: str) -> float:
    """Median over rounds of ``over`` it/s ÷ ``under`` it/s within the same round."""
    return statistics.median(a / b for a, b in zip(runs[over], runs[under], strict=True))


def main() -> None:
    """Measure each case and print the table and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", choices=["mlp", "dcgan"], default=["mlp", "dcgan"])
    parser.add_argument("--blocks", type=int, default=20, help="timed blocks (rounds) per process set")
    parser.add_argument("--processes", type=int, default=3, help="fresh process sets per case")
    parser.add_argument("--block", type=int, default=LOG_EVERY, help="iterations per block")
    parser.add_argument("--warmup", type=int, default=2, help="untimed blocks per side first")
    parser.add_argument("--no-progress-bar", dest="progress_bar", action="store_false")
    args = parser.parse_args()
    if (
        args.block < LOG_EVERY
        or args.block % LOG_EVERY
        or min(args.blocks, args.processes) < 1
        or args.warmup < 0
    ):
        parser.error(
            f"--block must be a positive multiple of {LOG_EVERY} (every block holds whole logging "
            f"windows), --blocks and --processes at least 1 and --warmup at least 0; got --block "
            f"{args.block}, --blocks {args.blocks}, --processes {args.processes}, --warmup {args.warmup}"
        )
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ["WANDB_MODE"] = "offline"  # runs are written locally, never uploaded
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = scratch
        runs = {name: measure(name, args) for name in args.cases}
    table = Table()
    table.print(
        f"medians over {args.processes} process sets × {args.blocks} rounds of interleaved blocks of "
        f"{args.block} iterations per side"
    )
    table.print(
        f"{'case':<6} {'plain it/s':>11} {'floor it/s':>11} {'lightning_gan it/s':>19} "
        f"{'gan/floor':>10} {'gan/plain':>10}  gan/floor by process set"
    )
    ratios = {}
    for name, sets in runs.items():
        pooled = {label: [rate for rates in sets for rate in rates[label]] for label in SIDES}
        rates = {label: statistics.median(values) for label, values in pooled.items()}
        ratios[name] = paired(pooled, "lightning_gan", "floor")
        by_set = " ".join(f"{paired(rates_, 'lightning_gan', 'floor'):.3f}" for rates_ in sets)
        table.print(
            f"{name:<6} {rates['plain']:>11.1f} {rates['floor']:>11.1f} {rates['lightning_gan']:>19.1f} "
            f"{ratios[name]:>10.3f} {paired(pooled, 'lightning_gan', 'plain'):>10.3f}  {by_set}"
        )
    table.print("gan/floor, gan/plain: median over rounds of the ratio between blocks of the same round")
    write_section("overhead", table.lines)
    print()
    print(f"ratio {ratios[args.cases[0]]:.3f}")


if __name__ == "__main__":
    main()
