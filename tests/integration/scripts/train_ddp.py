"""Train a small GAN under a chosen strategy and save what each rank ends with.

Run by tests/integration/test_distributed.py as a subprocess (DDP launches must not run inside pytest), either
plainly (Lightning starts the other ranks) or once per node under ``torchrun``. Each rank writes
``<out>/rank<r>.pt``: its state_dict, the real rows it trained on, the validation values it logged,
and the world size.
"""

import argparse
from pathlib import Path

import torch
from lightning import Callback, Trainer, seed_everything
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.utils.data import DataLoader, DistributedSampler

from lightning_gan import GAN
from lightning_gan.ada import AdaptiveAugment
from lightning_gan.data import DigitsDataModule, GaussianMixtureDataModule
from lightning_gan.data.tensors import keep_batch, tensor_loader
from lightning_gan.ema import GeneratorEMA
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from lightning_gan.regularizers import R1Penalty


class SaveAt(Callback):
    """Every rank calls ``trainer.save_checkpoint`` (rank 0 writes) once ``iteration`` iterations are
    done and, with N-batch accumulation, N - 1 batches of the next D update are in (mid-update)."""

    def __init__(self, iteration: int, path: Path) -> None:
        self.iteration, self.path, self.done = iteration, path, False

    def on_train_batch_end(self, trainer: Trainer, gan: GAN, *_: object) -> None:
        mid_update = gan.clock.last_micro_batch
        if gan.iteration == self.iteration and mid_update and not self.done:
            trainer.save_checkpoint(self.path)
            self.done = True


class Recorder(GAN):
    """A GAN that records its training rows and validation values; optionally rank-sliced noise.

    With ``global_noise`` every call of :meth:`sample_latent` draws the noise of the whole global
    batch from a counter-seeded generator and keeps this rank's rows ``rank::world_size``, so a
    W-process run and a 1-process run with W times the batch see the same latents.
    """

    def __init__(self, *args, global_noise: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.global_noise = global_noise
        self.noise_calls = 0
        self.rows: list[torch.Tensor] = []
        self.val_records: list[dict[str, float]] = []
        self.syncs = {"generator": 0, "discriminator": 0}
        self.first_latents: torch.Tensor | None = None

    def on_train_start(self) -> None:
        super().on_train_start()
        # Count gradient all-reduces per network (one bucket each for these small nets).
        for network, wrapper in self.ddp_wrappers.items():
            wrapper.register_comm_hook(network, self.counting_allreduce)

    def counting_allreduce(self, network: str, bucket):
        self.syncs[network] += 1
        return allreduce_hook(None, bucket)

    def training_step(self, batch, batch_idx):
        self.rows.append(self.real_from_batch(batch).detach().clone())
        return super().training_step(batch, batch_idx)

    def sample_latent(self, n: int) -> torch.Tensor:
        if not self.global_noise:
            z = super().sample_latent(n)
            if self._training_network is not None and self.first_latents is None:
                self.first_latents = z.clone()
            return z
        world, rank = self.trainer.world_size, self.trainer.global_rank
        generator = torch.Generator().manual_seed(self.noise_calls)
        self.noise_calls += 1
        return torch.randn(n * world, self.latent_dim, generator=generator)[rank::world]

    def log_to_loggers(self, metrics, prog_bar=()):
        if any(key.startswith("val/") for key in metrics):
            self.val_records.append({key: float(value) for key, value in metrics.items()})
        super().log_to_loggers(metrics, prog_bar)


class SequentialMixture(GaussianMixtureDataModule):
    """The mixture in order (Lightning's own sampler always shuffles): rank r reads rows r, r + W, ..."""

    def train_dataloader(self) -> DataLoader:
        if self.trainer.world_size == 1:
            return tensor_loader(self.train_set, self.batch_size, False, True, self.num_workers)
        sampler = DistributedSampler(self.train_set, shuffle=False, drop_last=True)
        return DataLoader(
            self.train_set, self.batch_size, sampler=sampler, drop_last=True, collate_fn=keep_batch
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--strategy", default="gan_ddp")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--num-nodes", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--accumulate", type=int, default=1)
    parser.add_argument("--net", choices=["mlp", "dcgan"], default="mlp")
    parser.add_argument("--ema", action="store_true")
    parser.add_argument("--r1-every", type=int, default=0, help="add R1 every n D updates (0: none)")
    parser.add_argument("--global-noise", action="store_true")
    parser.add_argument("--sequential", action="store_true", help="no shuffling (for 1 vs W processes)")
    parser.add_argument("--val-every", type=int, default=0, help="validate every n batches (0: never)")
    parser.add_argument("--save-at", type=int, default=0, help="checkpoint at this iteration's last batch")
    parser.add_argument("--resume", type=Path, default=None, help="resume the fit from this checkpoint")
    parser.add_argument("--compile", action="store_true", help="GAN(compile=...) with the aot_eager backend")
    parser.add_argument("--ada", action="store_true", help="AdaptiveAugment, p adjusted every D update")
    args = parser.parse_args()

    seed_everything(0)
    if args.net == "mlp":
        generator = MLPGenerator(latent_dim=4, hidden_features=32, n_hidden=2)
        discriminator = MLPDiscriminator(hidden_features=32, n_hidden=2)
        data_class = SequentialMixture if args.sequential else GaussianMixtureDataModule
        data = data_class(layout="ring", n_samples=4096, n_val_samples=400, batch_size=args.batch_size)
    else:  # BatchNorm in both nets, with separate real and fake forwards through D
        generator = DCGANGenerator(latent_dim=8, image_size=8, channels=1, base_channels=8)
        discriminator = DCGANDiscriminator(image_size=8, channels=1, base_channels=8)
        data = DigitsDataModule(image_size=8, batch_size=args.batch_size, val_batch_size=64)
    gan = Recorder(
        generator,
        discriminator,
        regularizers=[R1Penalty(gamma=1.0, every=args.r1_every)] if args.r1_every else None,
        ema=GeneratorEMA(decay=0.9) if args.ema else None,
        max_iterations=args.iterations,
        accumulate_grad_batches=args.accumulate,
        global_noise=args.global_noise,
        compile={"backend": "aot_eager"} if args.compile else False,
        augment=AdaptiveAugment(speed_images=6400, interval=1, initial_p=0.5) if args.ada else None,
    )
    trainer = Trainer(
        accelerator="cpu",
        strategy=args.strategy,
        devices=args.devices,
        num_nodes=args.num_nodes,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=1.0 if args.val_every else 0,
        val_check_interval=args.val_every or None,
        check_val_every_n_epoch=None if args.val_every else 1,
        log_every_n_steps=4,
        use_distributed_sampler=not args.sequential,
        callbacks=[SaveAt(args.save_at, args.out / "mid.ckpt")] if args.save_at else None,
    )
    trainer.fit(gan, data, ckpt_path=args.resume, weights_only=False)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state": gan.state_dict(),
            "rows": torch.cat(gan.rows),
            "val": gan.val_records,
            "syncs": gan.syncs,
            "first_latents": gan.first_latents,
            "world_size": trainer.world_size,
            "strategy": type(trainer.strategy).__name__,
        },
        args.out / f"rank{trainer.global_rank}.pt",
    )


if __name__ == "__main__":
    main()
