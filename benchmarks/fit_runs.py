"""Run ``lightning-gan fit`` in a scratch directory and read its last validation line (for the benchmarks)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: ``iteration N: val/a=1.5 val/b=2 ...`` as GAN prints it after every validation.
VALIDATION = re.compile(r"^iteration (\d+): (.*)$", re.M)


def fit_config(
    config: Path, seed: int, threads: int, keep_grid: Path | None = None, overrides: Sequence[str] = ()
) -> tuple[dict[str, float], float]:
    """Train one config with one seed in a fresh process, exactly as ``lightning-gan fit`` would.

    Args:
        config: YAML recipe.
        seed: ``seed_everything`` value.
        threads: Torch intra-op threads for the process.
        keep_grid: Copy the run's last sample grid (PNG) to this path.
        overrides: Command-line overrides appended to the command (``--data.init_args.x=1``).

    Returns:
        The last validation's values (``iteration`` and every ``val/*`` key without its prefix) and
        the wall-clock seconds of the whole run, start-up included.

    Raises:
        RuntimeError: If the run fails or never validates, with the end of its output.
    """
    env = os.environ | {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "lightning_gan", "fit", "--config", str(config.resolve())]
    command += [f"--seed_everything={seed}", "--trainer.enable_progress_bar=false", *overrides]
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        grids = sorted(Path(scratch).glob("runs/lightning_gan/*/samples/iter_*.png"))
        if keep_grid is not None and grids:
            keep_grid.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(grids[-1], keep_grid)
    lines = VALIDATION.findall(done.stdout)
    if done.returncode or not lines:
        raise RuntimeError(f"{config.name} seed {seed} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    iteration, pairs = lines[-1]
    values = {key.removeprefix("val/"): float(value) for key, value in (p.split("=") for p in pairs.split())}
    return {"iteration": float(iteration), **values}, seconds
