"""Digits quality of every shipped digits recipe, against the real-data floor.

Each config trains in its own process exactly as ``lightning-gan fit --config X`` would; its last
validation scores as many generated digits as the held-out split holds (180) with the shipped
digits classifier: Fréchet distance (FD) and KID in the classifier's 128-d features against the
training split, classes covered, KL of the class histogram to uniform, and mean confidence. The
floor row scores the held-out *real* digits the same way: what a perfect generator would get at
this sample size.

    python benchmarks/digits.py                    # all digits configs, 2 at a time
    python benchmarks/digits.py --grids benchmarks/images   # also keep each run's last sample grid
    python benchmarks/digits.py --configs configs/dcgan_digits.yaml --jobs 1

The last line reads ``digits best fd F (config) floor R``.
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fit_runs import fit_config
from report import Table, write_section

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ["dcgan_digits", "wgan_gp_digits", "hinge_sn_digits", "ragan_digits", "cgan_digits"]
COLUMNS = ("fd", "kid", "kid_std", "classes", "class_kl", "confidence")


def real_floor() -> dict[str, float]:
    """The validation metrics of ``DigitsDataModule`` fed the held-out real digits."""
    from lightning_gan.data import DigitsDataModule

    data = DigitsDataModule()
    metrics = data.val_metrics()
    held_out = data.val_set.tensors[0]
    values = {}
    for metric in metrics.values():
        metric.update(held_out)
        values.update({key: float(value) for key, value in metric.compute().items()})
    return values


def main() -> None:
    """Train every config, score the real floor, print the table and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", nargs="+", type=Path, default=[REPO / "configs" / f"{c}.yaml" for c in CONFIGS]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes at once (each gets cores/jobs threads)"
    )
    parser.add_argument("--grids", type=Path, help="copy each run's last sample grid here as <config>.png")
    args = parser.parse_args()
    threads = max(1, (os.cpu_count() or 1) // args.jobs)

    def one(config: Path) -> tuple[dict[str, float], float]:
        keep = None if args.grids is None else args.grids / f"{config.stem}.png"
        values, seconds = fit_config(config, args.seed, threads, keep_grid=keep)
        print(f"  {config.name}: {values} in {seconds:.0f} s", file=sys.stderr)
        return values, seconds

    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(zip(args.configs, pool.map(one, args.configs), strict=True))
    floor = real_floor()

    header = f"{'config':<24} {'iters':>6} {'FD':>8} {'KID':>16} {'classes':>8} {'class KL':>9} {'conf.':>6}"
    print()
    table = Table()
    table.print(f"{header} {'s':>5}")
    for config, (values, seconds) in results.items():
        kid = f"{values['kid']:.2f} ± {values['kid_std']:.2f}"
        figures = f"{values['fd']:>8.2f} {kid:>16} {values['classes']:>8.0f} {values['class_kl']:>9.3f}"
        figures += f" {values['confidence']:>6.3f} {seconds:>5.0f}"
        table.print(f"{config.name:<24} {values['iteration']:>6.0f} {figures}")
    kid = f"{floor['kid']:.2f} ± {floor['kid_std']:.2f}"
    table.print(
        f"{'real held-out (floor)':<24} {'':>6} {floor['fd']:>8.2f} {kid:>16} {floor['classes']:>8.0f} "
        f"{floor['class_kl']:>9.3f} {floor['confidence']:>6.3f}"
    )
    write_section("digits", table.lines)
    best = min(results, key=lambda config: results[config][0]["fd"])
    print()
    print(f"digits best fd {results[best][0]['fd']:.2f} ({best.stem}) floor {floor['fd']:.2f}")


if __name__ == "__main__":
    main()
