"""Data-parallel throughput on CPU: 1 process against 2, and per-network DDP against find-unused.

Each run is its own process group, started as ``python benchmarks/distributed.py --worker ...``
(Lightning starts rank 1 by re-running the same command). Throughput is timed inside training,
from iteration ``--warmup`` to the end, so start-up and the first (slow) iterations are left out:
samples/s = iterations × batch per rank × ranks / seconds. Runs of the configurations are
interleaved and repeated; the tables give medians and ratios.

    python benchmarks/distributed.py                   # MLP (2-D grid) and DCGAN (digits), 3 repeats
    python benchmarks/distributed.py --repeats 5 --iterations 400

The last line reads ``gan_ddp/find_unused R`` (median ratio, MLP case).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import Table, write_section

#: (name, processes, strategy)
SETUPS = [
    ("1 process", 1, "auto"),
    ("2 processes, gan_ddp (per-network)", 2, "gan_ddp"),
    ("2 processes, ddp_find_unused_parameters_true", 2, "ddp_find_unused_parameters_true"),
]
RESULT = re.compile(r"throughput ([\d.]+) samples/s")


def worker(args: argparse.Namespace) -> None:
    """Train one configuration and print rank 0's throughput."""
    import torch
    from lightning import Callback, LightningModule, Trainer, seed_everything

    from lightning_gan import GAN
    from lightning_gan.data import DigitsDataModule, GaussianMixtureDataModule
    from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

    class Throughput(Callback):
        """Times iterations ``warmup`` to the end."""

        def __init__(self) -> None:
            self.start: float | None = None
            self.first = 0

        def on_train_batch_end(self, trainer: Trainer, module: LightningModule, *_: object) -> None:
            if self.start is None and module.iteration >= args.warmup:
                self.start, self.first = time.perf_counter(), module.iteration

        def on_train_end(self, trainer: Trainer, module: LightningModule) -> None:
            seconds = time.perf_counter() - self.start
            samples = (module.iteration - self.first) * args.batch_size * trainer.world_size
            if trainer.is_global_zero:
                print(f"throughput {samples / seconds:.1f} samples/s", flush=True)

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.processes))
    seed_everything(0)
    if args.model == "mlp":
        nets = (
            MLPGenerator(latent_dim=2, hidden_features=256, n_hidden=3),
            MLPDiscriminator(hidden_features=256, n_hidden=3),
        )
        data = GaussianMixtureDataModule(layout="grid", batch_size=args.batch_size)
    else:
        nets = (
            DCGANGenerator(latent_dim=32, image_size=16, channels=1, base_channels=32),
            DCGANDiscriminator(image_size=16, channels=1, base_channels=32),
        )
        data = DigitsDataModule(image_size=16, batch_size=args.batch_size)
    trainer = Trainer(
        accelerator="cpu",
        devices=args.processes,
        strategy=args.strategy,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        log_every_n_steps=50,
        callbacks=[Throughput()],
    )
    trainer.fit(GAN(*nets, max_iterations=args.warmup + args.iterations), data)


def run(model: str, processes: int, strategy: str, args: argparse.Namespace) -> float:
    """Launch one worker run; return its samples/s."""
    batch = args.batch_size or (256 if model == "mlp" else 64)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--model", model]
    command += ["--processes", str(processes), "--strategy", strategy, "--batch-size", str(batch)]
    command += ["--iterations", str(args.iterations), "--warmup", str(args.warmup)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    found = RESULT.findall(done.stdout)
    if not found:
        raise RuntimeError(f"{model} {strategy} x{processes} failed:\n{done.stderr[-3000:]}")
    if done.returncode:  # training finished and was timed; a process died while shutting down
        print(
            f"  ({model} {strategy} x{processes}: exit code {done.returncode} after training)",
            file=sys.stderr,
        )
    return float(found[-1])


def main() -> None:
    """Interleave the setups for each model, print medians and ratios, then the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", choices=["mlp", "dcgan"], default=["mlp", "dcgan"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300, help="timed iterations per run")
    parser.add_argument("--warmup", type=int, default=20, help="untimed iterations first")
    parser.add_argument("--batch-size", type=int, default=0, help="per process (0: 256 MLP, 64 DCGAN)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    ratios = {}
    table = Table()
    for model in args.models:
        samples: dict[str, list[float]] = {name: [] for name, _, _ in SETUPS}
        for repeat in range(args.repeats):
            for name, processes, strategy in SETUPS:
                samples[name].append(run(model, processes, strategy, args))
                print(
                    f"  {model} repeat {repeat + 1}: {name}: {samples[name][-1]:.0f} samples/s",
                    file=sys.stderr,
                )
        medians = {name: statistics.median(values) for name, values in samples.items()}
        single = medians[SETUPS[0][0]]
        table.print(
            f"{model}: median of {args.repeats} interleaved runs, {args.iterations} timed iterations each"
        )
        table.print(f"{'setup':<48} {'samples/s':>10} {'vs 1 process':>13}")
        for name, median in medians.items():
            table.print(f"{name:<48} {median:>10.0f} {median / single:>12.2f}x")
        per_network, find_unused = (medians[name] for name, _, _ in SETUPS[1:])
        ratios[model] = per_network / find_unused
        table.print(f"per-network DDP / find_unused_parameters: {ratios[model]:.2f}x")
        table.print()
    write_section("distributed", table.lines)
    print(f"gan_ddp/find_unused {ratios[args.models[0]]:.2f}")


if __name__ == "__main__":
    main()
