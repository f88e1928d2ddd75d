"""Limited data: DCGAN on 200 training digits, with adaptive discriminator augmentation against without.

Both sides train ``configs/ada_digits.yaml`` (DCGAN, 200 of the 1617 training digits, 6000
iterations, validated every 1000); the baseline drops its ``augment``
(``--model.init_args.augment=null``). Each (side, seed) pair runs in its own process as
``lightning-gan fit`` would, two at a time on one core each. The last validation's Fréchet
distance (FD) and KID in the shipped classifier's features compare G's samples with all 1617
training digits, so a G that memorised its 200 scores worse than one that learned the digits. The
table (per seed, then mean ± std) replaces the ``ada`` section of docs/benchmarks.md, and each
run's last sample grid is written to ``benchmarks/images/ada_<side>_<seed>.png``.

    python benchmarks/ada.py                 # seeds 0-2
    python benchmarks/ada.py --seeds 0       # one seed

The last line reads ``fd ada A baseline B`` (means over seeds).
"""

import argparse
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fit_runs import fit_config
from report import Table, write_section

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "ada_digits.yaml"
SIDES = {"ada": [], "baseline": ["--model.init_args.augment=null"]}


def run(side: str, seed: int) -> dict[str, float]:
    """Train one side with one seed on one core; its last validation values and wall-clock seconds."""
    grid = REPO / "benchmarks" / "images" / f"ada_{side}_{seed}.png"
    values, seconds = fit_config(CONFIG, seed, threads=1, keep_grid=grid, overrides=SIDES[side])
    summary = f"fd {values['fd']:.2f} kid {values['kid']:.2f} in {seconds:.0f} s"
    print(f"  {side} seed {seed}: {summary}", file=sys.stderr)
    return values | {"seconds": seconds}


def mean_std(values: list[float]) -> str:
    """``mean ± std`` with two decimals (std 0 for one value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {std:.2f}"


def main() -> None:
    """Run both sides for every seed, print the table, write it to docs/benchmarks.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    pairs = [(side, seed) for seed in args.seeds for side in SIDES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(pairs, pool.map(lambda pair: run(*pair), pairs), strict=True))
    table = Table()
    config = CONFIG.relative_to(REPO)
    iterations = int(next(iter(results.values()))["iteration"])
    table.print(f"`{config}`: DCGAN, 200 training digits, {iterations} iterations; FD/KID against all 1617")
    table.print("")
    table.print("| side | seed | FD | KID | classes | seconds |")
    table.print("|---|---|---|---|---|---|")
    for (side, seed), values in results.items():
        table.print(
            f"| {side} | {seed} | {values['fd']:.2f} | {values['kid']:.2f} | {values['classes']:.0f} | "
            f"{values['seconds']:.0f} |"
        )
    means = {}
    for side in SIDES:
        rows = [results[(side, seed)] for seed in args.seeds]
        means[side] = statistics.mean(row["fd"] for row in rows)
        fd, kid = mean_std([r["fd"] for r in rows]), mean_std([r["kid"] for r in rows])
        seconds = statistics.median(r["seconds"] for r in rows)
        table.print(f"| **{side}** | mean | {fd} | {kid} | | {seconds:.0f} |")
    table.print("")
    grids = (f"![{side} {seed}](../benchmarks/images/ada_{side}_{seed}.png)" for side, seed in pairs)
    table.print("Last sample grids: " + " ".join(grids))
    write_section("ada", table.lines)
    print()
    print(f"fd ada {means['ada']:.2f} baseline {means['baseline']:.2f}")


if __name__ == "__main__":
    main()
