"""What ``GAN``'s step options buy on this machine: one D forward instead of two, and ``compile``.

Three sides train ``GAN`` with the same networks, data, latents and Trainer (``overhead_sides.fit``):

- ``two``: reals and fakes through D in two forwards (``joint_d_forward=False``);
- ``one``: in one forward (``joint_d_forward="auto"``, the default);
- ``compiled``: ``one`` with ``compile=True`` (``torch.compile``'s default backend; compiling
  happens in the warm-up blocks).

Each runs in its own process, taking turns block by block (``turns.py``) so that all sample the
same stretch of this machine's drifting speed. The cases are the D shapes where ``"auto"`` applies:

- ``mlp``: the plain recipe's nets (``gan_grid.yaml``: MLP 3×128, batch 512);
- ``packed``: PacGAN4's (``pacgan_grid_long.yaml``: D a 3×256 MLP on packs of 4, batch 256).

    python benchmarks/step_options.py
    python benchmarks/step_options.py --cases mlp --processes 1 --blocks 4

The table gives median it/s and paired ratios (median over rounds of the ratio within a round).
The last line reads ``ratio R``: the first case's one/two.
"""

import argparse
import os
import statistics
import sys
import tempfile

import torch
from overhead_sides import LOG_EVERY, SEED, Work, fit
from report import Table, write_section
from turns import Turn, run_in_turns

from lightning_gan import GAN
from lightning_gan.data import GaussianMixtureDataModule
from lightning_gan.nets import MLPDiscriminator, MLPGenerator, PackedDiscriminator

SIDES = ("two", "one", "compiled")


def nets(name: str) -> tuple[MLPGenerator, torch.nn.Module, int]:
    """G, D and the batch size of a case, built from the same seed in every process."""
    torch.manual_seed(SEED)
    generator = MLPGenerator(latent_dim=2, hidden_features=128, n_hidden=3)
    if name == "mlp":
        return generator, MLPDiscriminator(hidden_features=128, n_hidden=3), 512
    packed = PackedDiscriminator(MLPDiscriminator(in_features=8, hidden_features=256, n_hidden=3), pack=4)
    return generator, packed, 256


def run_side(label: str, turn: Turn, name: str, iterations: int, args: argparse.Namespace) -> None:
    """Train one side for ``iterations`` iterations, ticking ``turn``."""
    generator, discriminator, batch_size = nets(name)
    data = GaussianMixtureDataModule(layout="grid", batch_size=batch_size)
    data.setup("fit")
    adam = lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))  # noqa: E731
    gan = GAN(
        generator,
        discriminator,
        g_optimizer=adam,
        d_optimizer=adam,
        max_iterations=iterations,
        joint_d_forward=False if label == "two" else "auto",
        compile=label == "compiled",
    )
    assert gan.joint_now == (label != "two")
    fit(gan, Work(generator, discriminator, data.train_dataloader(), 1e-3, iterations, turn, args))


def paired(rates: dict[str, list[float]], over: str, under: str) -> float:
    """Median over rounds of ``over`` it/s ÷ ``under`` it/s within the same round."""
    return statistics.median(a / b for a, b in zip(rates[over], rates[under], strict=True))


def main() -> None:
    """Measure each case, print the table and the summary line, write the section."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", choices=["mlp", "packed"], default=["mlp", "packed"])
    parser.add_argument("--blocks", type=int, default=16, help="timed blocks (rounds) per process set")
    parser.add_argument("--processes", type=int, default=2, help="fresh process sets per case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed blocks per side first (compiling)")
    args = parser.parse_args()
    if min(args.blocks, args.processes) < 1 or args.warmup < 0:
        parser.error(
            f"--blocks and --processes must be at least 1 and --warmup at least 0; got --blocks "
            f"{args.blocks}, --processes {args.processes}, --warmup {args.warmup}"
        )
    args.progress_bar = False
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ["WANDB_MODE"] = "offline"
    iterations = (args.warmup + args.blocks) * LOG_EVERY + 1
    table = Table()
    table.print(f"median it/s, {args.processes} process sets × {args.blocks} rounds of {LOG_EVERY} its")
    table.print(
        f"{'case':<7} {'two forwards':>13} {'one forward':>12} {'one, compiled':>14} "
        f"{'one/two':>8} {'compiled/one':>13}"
    )
    ratios = {}
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = scratch
        for name in args.cases:
            rates: dict[str, list[float]] = {label: [] for label in SIDES}
            for _ in range(args.processes):
                blocks = run_in_turns(SIDES, run_side, LOG_EVERY, (name, iterations, args))
                for label in SIDES:
                    rates[label] += [LOG_EVERY / (end - start) for start, end in blocks[label][args.warmup :]]
            ratios[name] = paired(rates, "one", "two")
            compile_gain = paired(rates, "compiled", "one")
            print(f"  {name}: one/two {ratios[name]:.3f}, compiled/one {compile_gain:.3f}", file=sys.stderr)
            two, one, compiled = (statistics.median(rates[label]) for label in SIDES)
            speeds = f"{two:>13.1f} {one:>12.1f} {compiled:>14.1f}"
            table.print(f"{name:<7} {speeds} {ratios[name]:>8.3f} {compile_gain:>13.3f}")
    write_section("step_options", table.lines)
    print()
    print(f"ratio {ratios[args.cases[0]]:.3f}")


if __name__ == "__main__":
    main()
