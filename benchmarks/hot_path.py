"""What the shortcuts of ``lightning_gan.hot_path`` save per iteration, measured inside one fit.

Whole runs on a shared machine drift by more than the few percent at stake, so this alternates
within a single fit: even iterations take Lightning's full backward and optimizer-step dispatch
and check finiteness with a global gradient norm (the package before the shortcuts), odd ones
take the shortcuts (plain ``loss.backward()``, plain optimizer step, fused inf/NaN scan). Each
iteration is timed from ``on_train_batch_start`` to ``on_train_batch_end``; the table gives the
medians after the warm-up. Same cases as ``overhead.py``.

    python benchmarks/hot_path.py                  # MLP (3000 iterations) and DCGAN (1500)
    python benchmarks/hot_path.py --cases mlp --iterations 1000

The last line reads ``saved S ms per iteration`` for the first case.
"""

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import torch
import wandb
from lightning import Callback, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import WandbLogger
from overhead import LOG_EVERY, case
from torch import Tensor

import lightning_gan.module as gan_module
from lightning_gan import GAN
from lightning_gan.hot_path import all_finite


def norm_is_finite(grads: list[Tensor]) -> bool:
    """The finiteness check before the shortcut: a global gradient norm, then ``isfinite``."""
    return bool(torch.isfinite(torch.nn.utils.get_total_norm(grads))) if grads else True


class Alternate(Callback):
    """Puts even iterations on Lightning's path and odd ones on the shortcuts; times each."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.shortcuts = warmup, 0.0, False
        self.times: dict[bool, list[float]] = {False: [], True: []}

    def on_train_batch_start(self, trainer: Trainer, module: GAN, *_: Any) -> None:  # noqa: D102, ANN401
        self.shortcuts = module.iteration % 2 == 1
        module._plain_backward = module._plain_step = self.shortcuts
        gan_module.all_finite = all_finite if self.shortcuts else norm_is_finite
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: Trainer, module: GAN, *_: Any) -> None:  # noqa: D102, ANN401
        if module.iteration > self.warmup:
            self.times[self.shortcuts].append(time.perf_counter() - self.start)


def measure(name: str, iterations: int, warmup: int, scratch: str) -> tuple[float, float, int]:
    """Median ms per iteration on (Lightning's path, the shortcuts), and iterations timed per side."""
    generator, discriminator, make_loader, lr = case(name)
    adam = lambda params: torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))  # noqa: E731
    gan = GAN(generator, discriminator, g_optimizer=adam, d_optimizer=adam, max_iterations=iterations)
    alternate = Alternate(warmup)
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=WandbLogger(project="hot_path", save_dir=scratch, offline=True),
        log_every_n_steps=LOG_EVERY,
        limit_val_batches=0,
        enable_checkpointing=False,
        enable_model_summary=False,
        callbacks=[alternate, TQDMProgressBar(refresh_rate=50)],
    )
    try:
        trainer.fit(gan, train_dataloaders=make_loader())
    finally:
        gan_module.all_finite = all_finite
        wandb.finish()
    lightning, shortcuts = (1e3 * statistics.median(alternate.times[key]) for key in (False, True))
    return lightning, shortcuts, len(alternate.times[True])


def main() -> None:
    """Measure each case; print the table and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", choices=["mlp", "dcgan"], default=["mlp", "dcgan"])
    parser.add_argument("--iterations", type=int, help="per case (default: 3000 MLP, 1500 DCGAN)")
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ["WANDB_MODE"] = "offline"
    with tempfile.TemporaryDirectory() as scratch:
        rows = {
            name: measure(name, args.iterations or {"mlp": 3000, "dcgan": 1500}[name], args.warmup, scratch)
            for name in args.cases
        }
    print("\nmedian ms per iteration, iterations alternating in one fit")
    print(f"{'case':<8} {'Lightning path':>15} {'shortcuts':>10} {'saved':>7} {'%':>5} {'n/side':>7}")
    for name, (lightning, shortcuts, n) in rows.items():
        saved = lightning - shortcuts
        percent = 100 * saved / lightning
        print(f"{name:<8} {lightning:>15.2f} {shortcuts:>10.2f} {saved:>7.2f} {percent:>5.1f} {n:>7}")
    lightning, shortcuts, _ = rows[args.cases[0]]
    print(f"\nsaved {lightning - shortcuts:.2f} ms per iteration")


if __name__ == "__main__":
    main()
