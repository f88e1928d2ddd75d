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

from overhead_sides import LOG_EVERY, LOOPS, Work, case
from report import Table, write_section
from turns import Turn, run_in_turns

SIDES = ("plain", "floor", "lightning_gan")


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
