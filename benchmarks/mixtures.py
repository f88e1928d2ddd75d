"""PacGAN's 2-D benchmark (Lin et al., 2018, Table 1) for the shipped mixture recipes.

Each (config, seed) pair trains in its own process exactly as ``lightning-gan fit --config X
--seed_everything S`` would, in a scratch directory; the final validation line (2500 samples,
3σ rule) gives modes, high-quality fraction and reverse KL; the wall clock includes start-up.

    python benchmarks/mixtures.py                    # pacgan_grid + pacgan_ring, seeds 0-4
    python benchmarks/mixtures.py --quick            # pacgan_grid, seed 0
    python benchmarks/mixtures.py --configs configs/pacgan_grid.yaml configs/gan_grid.yaml

Each layout's table (per-seed rows, then means ± std beside PacGAN's rows) replaces its own section
of docs/benchmarks.md (``mixtures-grid``, ``mixtures-ring``), so a run of grid recipes leaves the ring
figures as they were. The last line summarises the first config: ``grid modes M/25 hq P% rkl R``
(means over seeds).
"""

import argparse
import inspect
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from fit_runs import fit_config
from report import Table, write_section

from lightning_gan.data import GaussianMixtureDataModule

REPO = Path(__file__).resolve().parents[1]
#: PacGAN Table 1: (modes, high-quality %, reverse KL) of the plain GAN and the best PacGAN.
PACGAN_TABLE = {
    "grid": {"GAN": (17.3, 94.8, 0.70), "PacGAN4": (24.8, 93.6, 0.04)},
    "ring": {"GAN": (6.3, 98.2, 0.45), "PacGAN2": (7.9, 95.6, 0.07)},
}


def run(config: Path, seed: int, threads: int) -> dict[str, float]:
    """Train one seed of one config in a fresh process; return its final validation figures.

    Returns:
        ``modes``, ``hq`` (%), ``rkl``, ``seconds`` and ``iteration``.
    """
    values, seconds = fit_config(config, seed, threads)
    print(f"  {config.name} seed {seed}: {values} in {seconds:.0f} s", file=sys.stderr)
    return {
        "iteration": int(values["iteration"]),
        "modes": values["modes"],
        "hq": 100 * values["high_quality"],
        "rkl": values["reverse_kl"],
        "seconds": seconds,
    }


def mean_std(values: list[float], digits: int) -> str:
    """``mean ± std`` (sample std; 0 for one value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"


def main() -> None:
    """Parse arguments, run every (config, seed) pair, print the tables and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        type=Path,
        default=[REPO / "configs" / "pacgan_grid.yaml", REPO / "configs" / "pacgan_ring.yaml"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes at once (each gets cores/jobs threads)"
    )
    parser.add_argument("--quick", action="store_true", help="pacgan_grid with seed 0 only")
    args = parser.parse_args()
    if args.quick:
        args.configs, args.seeds = [REPO / "configs" / "pacgan_grid.yaml"], [0]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    pairs = [(config, seed) for config in args.configs for seed in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda pair: run(*pair, threads), pairs))

    summaries = []
    for layout in dict.fromkeys(layout_of(config) for config in args.configs):  # grid and/or ring, in order
        configs = [config for config in args.configs if layout_of(config) == layout]
        table = Table()
        table.print(
            f"{'config':<22} {'seed':>4} {'iters':>6} {'modes':>6} {'HQ %':>6} {'rev KL':>7} {'seconds':>8}"
        )
        for (config, seed), r in zip(pairs, results, strict=True):
            if config in configs:
                figures = f"{r['modes']:>6.0f} {r['hq']:>6.1f} {r['rkl']:>7.3f} {r['seconds']:>8.0f}"
                table.print(f"{config.name:<22} {seed:>4} {r['iteration']:>6} {figures}")
        table.print()
        heading = f"{'modes':>13} {'HQ %':>13} {'rev KL':>15} {'seconds':>9}  (mean ± std; median s)"
        table.print(f"{'config / reference':<28} {heading}")
        for config in configs:
            rows = [r for (c, _), r in zip(pairs, results, strict=True) if c == config]
            modes, hq, rkl = ([r[key] for r in rows] for key in ("modes", "hq", "rkl"))
            seconds = statistics.median(r["seconds"] for r in rows)
            figures = f"{mean_std(modes, 1):>13} {mean_std(hq, 1):>13} {mean_std(rkl, 3):>15} {seconds:>9.0f}"
            table.print(f"{config.name:<28} {figures}")
            total = 25 if layout == "grid" else 8
            means = [statistics.mean(values) for values in (modes, hq, rkl)]
            summaries.append(f"{layout} modes {means[0]:.1f}/{total} hq {means[1]:.1f}% rkl {means[2]:.3f}")
        for name, (m, h, k) in PACGAN_TABLE[layout].items():
            table.print(f"{'  PacGAN paper, ' + name:<28} {m:>13.1f} {h:>13.1f} {k:>15.2f}")
        table.print()
        write_section(f"mixtures-{layout}", table.lines)
    print(summaries[0])


def layout_of(config: Path) -> str:
    """The recipe's ``data.init_args.layout``, or the data module's default when the YAML leaves it out."""
    default = inspect.signature(GaussianMixtureDataModule).parameters["layout"].default
    data = (yaml.safe_load(config.read_text()) or {}).get("data") or {}
    return (data.get("init_args") or {}).get("layout", default)


if __name__ == "__main__":
    main()
