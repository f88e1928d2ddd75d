"""lightning_gan's training loop against a bare LightningModule and a plain PyTorch loop doing the same work.

All sides use the same networks (each process builds them from the same seed), the non-saturating
loss, Adam, the same batches and latents, ``requires_grad`` toggling, and logging as the shipped
configs do it: losses and mean D probabilities summed on the device and sent to an offline W&B run
every 50 iterations. So they compute the same numbers, and the script checks whether every side
ended with bit-identical networks (the MLP's do; CPU convolutions are not always deterministic).
Speed depends on the numbers as well as on the code: a trajectory whose Adam moments hold more
subnormal floats runs slower, by several per cent here; before the sides drew the same latents,
that alone separated them. Five sides:

- ``plain``: Algorithm 1 written by hand in PyTorch;
- ``bare``: the same as a bare LightningModule on Lightning's public path (``toggled_optimizer``,
  ``manual_backward``, ``optimizer.zero_grad()`` and ``optimizer.step()`` on the optimizers from
  ``configure_optimizers``);
- ``floor``: ``bare`` plus what ``GAN`` does by default around each step, by hand: gradients
  holding NaN/inf are dropped (one host sync per update) and, every 50 iterations, the gradient
  norms are logged with the count of dropped updates. The floor for ``GAN``'s work;
- ``lightning_gan``: ``GAN``;
- ``floor_again``: ``floor`` once more, in a process of its own: the A/A control. Its ratio to
  ``floor`` would be 1 if the method had no noise, so it shows how far apart two runs of the same
  code land here.

The Lightning sides run under a ``Trainer`` configured like the shipped configs (W&B logger,
progress bar redrawn every 50 batches), without validation.

Interleaving. This machine's speed drifts by ±15 % over seconds to minutes, more than the few per
cent being measured, so the sides do not run one after another: each runs in its own process and
takes turns (``turns.py``) running a block of ``--block`` iterations (50, one logging window: 0.5 to
2 s) while the others wait. A round gives each side one block, in an order that rotates every
round. Every side's blocks thus sample the same stretch of time, and the blocks of one round lie
within a few seconds.

Allocator. Processes of the same code also differ in how often they fault memory back in: with
glibc's dynamic malloc thresholds a process returns freed memory to the system and takes it back,
at a rate that measured 0.1 to 41 minor page faults per MLP iteration from one process to the next.
So that this is not one more difference between the sides, every side's process starts with fixed
thresholds (``FIXED_ALLOCATOR``, read by glibc at start-up; under 0.5 faults per iteration).
``--allocator default`` keeps glibc's own.

Process sets. Whole runs of the same code have differed by more than their rounds' scatter
explains, as if each process had a speed of its own; one set of processes is one draw of that. So
each case runs ``--processes`` sets of fresh processes, one after another, each for ``--blocks``
rounds; as most of the scatter lies between sets, the default is many short sets (10 × 10 rounds)
rather than a few long ones. Set ``s`` starts the sides, and orders round 0, by ``SIDES`` rotated
by ``s``: over ten sets each side holds each position twice. (With one fixed order for every
set, the A/A side, started last, once measured 0.967 over four sets.) The table gives each side's
median it/s over all its blocks and the medians over rounds of within-round ratios ("paired"):
lightning_gan/floor (also per process set), lightning_gan/bare (what the step guard costs on top
of the bare loop), lightning_gan/plain and the A/A control floor_again/floor (also per process
set). It is also written into docs/benchmarks.md.

    python benchmarks/overhead.py                 # MLP (2-D grid, batch 512) and DCGAN (digits, batch 64)
    python benchmarks/overhead.py --cases mlp --processes 8

The last line reads ``ratio R``: the paired lightning_gan/floor ratio of the first case.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from overhead_sides import LOG_EVERY, LOOPS, Work, case, digest
from report import Table, write_section
from turns import Turn, run_in_turns

#: glibc malloc tunables for every side: a fixed mmap threshold (glibc before 2.36 ignores one above
#: 32 MiB) and trim threshold in place of the dynamic ones, so freed memory stays in the process.
FIXED_ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(16 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**30)}
SIDES = ("plain", "bare", "floor", "floor_again", "lightning_gan")
CONTROL = "floor_again"  # floor's loop in a second process: the A/A control


def run_side(label: str, turn: Turn, name: str, iterations: int, args: argparse.Namespace) -> None:
    """One side's whole run in its own process: the case's networks and loader, then its loop.

    ``case`` seeds before building the networks, so every process starts from the same weights.
    """
    generator, discriminator, make_loader, lr = case(name)
    loop = LOOPS["floor" if label == CONTROL else label]
    loop(Work(generator, discriminator, make_loader(), lr, iterations, turn, args))
    Path(args.scratch, f"{label}.digest").write_text(digest(generator, discriminator))


def measure(name: str, args: argparse.Namespace) -> tuple[list[dict[str, list[float]]], bool]:
    """Run the sides block by block in each process set.

    Returns, per set, each side's it/s per block; and whether every side of every set ended with the
    same networks.

    Each side runs ``(warmup + blocks) · block + 1`` iterations per set. Its first ``warmup`` blocks
    are left out, and the last iteration, untimed, keeps the end of a fit out of the last timed
    block. Sides are set up one at a time, and timing starts when all of them wait at their first
    iteration.
    """
    iterations = (args.warmup + args.blocks) * args.block + 1
    sets, digests = [], set()
    for set_ in range(args.processes):
        shift = set_ % len(SIDES)  # each set starts (and rotates from) another side
        blocks = run_in_turns(SIDES[shift:] + SIDES[:shift], run_side, args.block, (name, iterations, args))
        digests |= {Path(args.scratch, f"{label}.digest").read_text() for label in SIDES}
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
    return sets, len(digests) == 1


def paired(runs: dict[str, list[float]], over: str, under: str) -> float:
    """Median over rounds of ``over`` it/s ÷ ``under`` it/s within the same round."""
    return statistics.median(a / b for a, b in zip(runs[over], runs[under], strict=True))


def main() -> None:
    """Measure each case and print the table and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", choices=["mlp", "dcgan"], default=["mlp", "dcgan"])
    parser.add_argument("--blocks", type=int, default=10, help="timed blocks (rounds) per process set")
    parser.add_argument("--processes", type=int, default=10, help="fresh process sets per case")
    parser.add_argument("--block", type=int, default=LOG_EVERY, help="iterations per block")
    parser.add_argument("--warmup", type=int, default=2, help="untimed blocks per side first")
    parser.add_argument("--no-progress-bar", dest="progress_bar", action="store_false")
    parser.add_argument(
        "--allocator",
        choices=["fixed", "default"],
        default="fixed",
        help="glibc malloc thresholds of the sides' processes: FIXED_ALLOCATOR, or glibc's dynamic ones",
    )
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
    if args.allocator == "fixed":  # the spawned sides inherit the environment
        os.environ.update(FIXED_ALLOCATOR)
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = scratch
        runs = {name: measure(name, args) for name in args.cases}
    table = Table()
    table.print(
        f"medians over {args.processes} process sets × {args.blocks} rounds of interleaved blocks of "
        f"{args.block} iterations per side"
    )
    table.print(
        f"{'case':<6} {'plain':>7} {'bare':>7} {'floor':>7} {'gan':>7} {'gan/floor':>10} "
        f"{'gan/bare':>9} {'gan/plain':>10} {'A/A':>6}  {'same networks':>13}"
    )
    ratios, by_set = {}, []
    for name, (sets, same) in runs.items():
        pooled = {label: [rate for rates in sets for rate in rates[label]] for label in SIDES}
        rates = {label: statistics.median(values) for label, values in pooled.items()}
        ratios[name] = paired(pooled, "lightning_gan", "floor")
        table.print(
            f"{name:<6} {rates['plain']:>7.1f} {rates['bare']:>7.1f} {rates['floor']:>7.1f} "
            f"{rates['lightning_gan']:>7.1f} {ratios[name]:>10.3f} "
            f"{paired(pooled, 'lightning_gan', 'bare'):>9.3f} "
            f"{paired(pooled, 'lightning_gan', 'plain'):>10.3f} {paired(pooled, CONTROL, 'floor'):>6.3f}"
            f"  {'yes' if same else 'NO':>13}"
        )
        for over in ("lightning_gan", CONTROL):
            label = "gan/floor" if over == "lightning_gan" else "A/A"
            per_set = " ".join(f"{paired(rates_, over, 'floor'):.3f}" for rates_ in sets)
            by_set.append(f"{name:<6} {label:<10} {per_set}")
    table.print("by process set:")
    for line in by_set:
        table.print(line)
    table.print("it/s: median over blocks; ratios: median over rounds of the ratio of blocks in one round")
    table.print("A/A: floor_again/floor, two processes running floor's code: the method's own scatter")
    table.print("same networks: every side of every process set ended with bit-identical G and D")
    write_section("overhead", table.lines)
    print()
    print(f"ratio {ratios[args.cases[0]]:.3f}")


if __name__ == "__main__":
    main()
