"""DCGAN at 64×64 on a GPU: ``GAN`` against a plain AMP PyTorch loop doing the same work, per precision.

For each precision (``32-true``, ``bf16-mixed``, ``16-mixed``) and compile off/on, both sides train
the same DCGAN (``dcgan_folder.yaml``'s networks, batch ``--batch``) on generated images held on
the device, from the same seed: Adam (lr 2e-4, β 0.5/0.999), the non-saturating loss, D on reals
and fakes in two forwards (its BatchNorm), ``requires_grad`` toggling, autocast for the mixed
precisions and a ``GradScaler`` for ``16-mixed``. ``GAN`` runs under a ``Trainer`` with
``precision=...`` and ``GAN(compile=...)``; the plain loop calls ``torch.compile`` on G and D. Each
side runs ``--repeats`` times, alternating which goes first; samples/s are timed over
``--iterations`` iterations after ``--warmup`` (compiling happens there), with the device
synchronised at both ends. The table gives medians and the ratio lightning_gan/plain, and the
speed-up of compile at each precision.

    python benchmarks/gpu.py                       # on a machine with a CUDA GPU
    python benchmarks/gpu.py --tiny --report none  # the same code on the CPU at 16×16

The last line reads ``ratio R``: the smallest lightning_gan/plain ratio over the settings.
"""

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning import Callback, Trainer
from report import DOCS, Table, write_section
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_gan import GAN
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
AUTOCAST = {"32-true": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def nets(args: argparse.Namespace) -> tuple[nn.Module, nn.Module]:
    """G and D from seed 0 (``dcgan_folder.yaml``'s; smaller with ``--tiny``)."""
    torch.manual_seed(0)
    width = 8 if args.tiny else 64
    return (
        DCGANGenerator(latent_dim=100, image_size=args.size, channels=3, base_channels=width),
        DCGANDiscriminator(image_size=args.size, channels=3, base_channels=width),
    )


def images(args: argparse.Namespace, device: torch.device) -> Tensor:
    """``(4·batch, 3, S, S)`` generated images in ``[-1, 1]``: colour gradients with noise."""
    generator = torch.Generator().manual_seed(1)
    n, s = 4 * args.batch, args.size
    ramp = torch.linspace(-1, 1, s)
    base = torch.rand(n, 3, 1, 1, generator=generator) * 2 - 1
    slope = torch.rand(n, 3, 1, 1, generator=generator) - 0.5
    noise = 0.1 * torch.randn(n, 3, s, s, generator=generator)
    return (base + slope * (ramp[:, None] + ramp[None, :]) + noise).clamp(-1, 1).to(device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain(args: argparse.Namespace, precision: str, compiled: bool, device: torch.device) -> float:
    """Algorithm 1 by hand with AMP; returns samples/s over the timed iterations."""
    generator, discriminator = (net.to(device) for net in nets(args))
    g_call, d_call = (
        torch.compile(net, backend=args.backend) if compiled else net for net in (generator, discriminator)
    )
    adam = lambda net: torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))  # noqa: E731
    opt_g, opt_d = adam(generator), adam(discriminator)
    # Lightning runs 16-mixed on the CPU as bf16 (no GradScaler); the plain loop does the same there.
    half_on_cpu = device.type == "cpu" and precision == "16-mixed"
    dtype = torch.bfloat16 if half_on_cpu else AUTOCAST[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed" and not half_on_cpu)
    data = images(args, device)
    times = []
    for iteration in range(args.warmup + args.iterations + 1):
        if iteration >= args.warmup:
            synchronize(device)
            times.append(time.perf_counter())
        real = data[(iteration % 4) * args.batch : (iteration % 4 + 1) * args.batch]
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            generator.requires_grad_(False)
            discriminator.requires_grad_(True)
            fake = g_call(torch.randn(args.batch, 100, device=device)).detach()
            real_logits, fake_logits = d_call(real).reshape(-1), d_call(fake).reshape(-1)
            d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        opt_d.zero_grad(set_to_none=True)
        scaler.scale(d_loss).backward()
        scaler.step(opt_d)
        scaler.update()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            generator.requires_grad_(True)
            discriminator.requires_grad_(False)
            fake = g_call(torch.randn(args.batch, 100, device=device))
            g_loss = F.softplus(-d_call(fake).reshape(-1)).mean()
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(g_loss).backward()
        scaler.step(opt_g)
        scaler.update()
    return args.batch * args.iterations / (times[-1] - times[0])


class Timer(Callback):
    """Device-synchronised times at the start of each batch after ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.times = warmup, []

    def on_train_batch_start(self, trainer: Trainer, pl_module: GAN, *_: object) -> None:  # noqa: D102
        if pl_module.iteration >= self.warmup:
            synchronize(pl_module.device)
            self.times.append(time.perf_counter())


def packaged(args: argparse.Namespace, precision: str, compiled: bool, device: torch.device) -> float:
    """The same through ``GAN`` under a ``Trainer``; returns samples/s over the timed iterations."""
    generator, discriminator = nets(args)
    adam = lambda params: torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))  # noqa: E731
    gan = GAN(
        generator,
        discriminator,
        g_optimizer=adam,
        d_optimizer=adam,
        max_iterations=args.warmup + args.iterations + 1,
        compile={"backend": args.backend} if compiled else False,
    )
    timer = Timer(args.warmup)
    trainer = Trainer(
        accelerator=device.type,
        devices=1,
        precision=precision,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[timer],
    )
    data = TensorDataset(images(args, torch.device("cpu")))
    loader = DataLoader(data, batch_size=args.batch, shuffle=False)
    trainer.fit(gan, loader)
    return args.batch * (len(timer.times) - 1) / (timer.times[-1] - timer.times[0])


def main() -> None:
    """Measure every setting, print the table and the summary line, write the section."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="16×16, narrow nets, on the CPU: a smoke run")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=20, help="untimed iterations first (compiling)")
    parser.add_argument("--iterations", type=int, default=100, help="timed iterations per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side and setting")
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    parser.add_argument("--compile", nargs="+", choices=["off", "on"], default=["off", "on"])
    parser.add_argument("--backend", default="inductor", help="torch.compile backend of both sides")
    parser.add_argument("--report", default=str(DOCS), help="Markdown file for the table, or 'none'")
    args = parser.parse_args()
    if min(args.batch, args.iterations, args.repeats) < 1 or args.warmup < 1:
        parser.error("--batch, --iterations, --repeats and --warmup must be >= 1")
    if not args.tiny and not torch.cuda.is_available():
        parser.error("no CUDA GPU here: run on a GPU machine, or pass --tiny for a CPU smoke run")
    args.size = 16 if args.tiny else 64
    device = torch.device("cpu" if args.tiny else "cuda")
    table = Table()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (16-mixed runs as bf16)"
    table.print(
        f"DCGAN {args.size}×{args.size} RGB, batch {args.batch}, {args.iterations} timed iterations after "
        f"{args.warmup}, median of {args.repeats} runs per side, {name}"
    )
    table.print(f"{'precision':<11} {'compile':<8} {'plain':>10} {'gan':>10} {'gan/plain':>10}  samples/s")
    ratios, speed = [], {}
    for precision in args.precisions:
        for setting in args.compile:
            compiled = setting == "on"
            rates: dict[str, list[float]] = {"plain": [], "gan": []}
            for repeat in range(args.repeats):
                order = (("plain", plain), ("gan", packaged))[:: 1 if repeat % 2 == 0 else -1]
                for name, side in order:
                    rates[name].append(side(args, precision, compiled, device))
            plain_rate, gan_rate = statistics.median(rates["plain"]), statistics.median(rates["gan"])
            ratios.append(gan_rate / plain_rate)
            speed[(precision, setting)] = gan_rate
            row = f"{precision:<11} {setting:<8} {plain_rate:>10.0f} {gan_rate:>10.0f}"
            table.print(f"{row} {gan_rate / plain_rate:>10.3f}")
    for precision in args.precisions:
        if ("off" in args.compile) and ("on" in args.compile):
            gain = speed[(precision, "on")] / speed[(precision, "off")]
            table.print(f"compile speed-up of gan at {precision}: {gain:.2f}×")
    if args.report != "none":
        write_section("gpu", table.lines, Path(args.report))
    print()
    print(f"ratio {min(ratios):.3f}")


if __name__ == "__main__":
    main()
