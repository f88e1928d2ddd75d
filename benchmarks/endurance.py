"""Memory over a long run: resident set size every 1000 iterations of the plain GAN recipe.

Trains ``configs/gan_grid.yaml`` (W&B logger, logging every 50 iterations, sample grids and
checkpoints) for 20 000 iterations with a validation every 1000, so that every source of growth
(logged values, metric states, grids, checkpoints) is exercised 20 times, and prints the RSS of the
process after each validation. Memory must stay flat after the first validation.

    python benchmarks/endurance.py
    python benchmarks/endurance.py --iterations 5000 --every 500

The last line reads ``rss growth G MiB`` (last reading − reading at the second validation).
"""

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

from lightning import Callback, LightningModule, Trainer
from report import Table, write_section

from lightning_gan.cli import GANCLI, default_config


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux: current, from /proc; elsewhere: the peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MemoryLog(Callback):
    """Records ``(iteration, RSS MiB)`` after every validation."""

    def __init__(self) -> None:
        self.readings: list[tuple[int, float]] = []

    def on_validation_end(self, trainer: Trainer, module: LightningModule) -> None:  # noqa: D102
        if not trainer.sanity_checking:
            self.readings.append((module.iteration, rss_mib()))
            print(f"  iteration {module.iteration}: {self.readings[-1][1]:.1f} MiB", file=sys.stderr)


def main() -> None:
    """Run the recipe with the memory log and print the readings."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument(
        "--every", type=int, default=1000, help="validate (grid, checkpoint) every n iterations"
    )
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    memory = MemoryLog()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        cli = GANCLI(
            [
                "--config",
                str(default_config().with_name("gan_grid.yaml")),
                f"--model.init_args.max_iterations={args.iterations}",
                f"--trainer.val_check_interval={args.every}",
                "--trainer.enable_progress_bar=false",
            ],
            run=False,
        )
        cli.trainer.callbacks.append(memory)
        cli.trainer.fit(cli.model, cli.datamodule)
    print()
    table = Table()
    table.print(f"{'iteration':>9} {'RSS MiB':>8}")
    for iteration, mib in memory.readings:
        table.print(f"{iteration:>9} {mib:>8.1f}")
    growth = memory.readings[-1][1] - memory.readings[1][1]
    table.print(f"growth from the second reading to the last: {growth:.1f} MiB")
    write_section("endurance", table.lines)
    print()
    print(f"rss growth {growth:.1f} MiB")


if __name__ == "__main__":
    main()
