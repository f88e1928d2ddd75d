"""Pictures of the generator's samples from fixed noise, sent to every logger and saved as PNG."""

from pathlib import Path
from typing import Any

import torch
import wandb
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from PIL import Image

from lightning_gan.callbacks.run_dir import run_dir
from lightning_gan.images import make_grid, scatter_image, to_uint8
from lightning_gan.rng import seeded_fork
from lightning_gan.wandb_axis import log_at_iteration


class SampleGrid(Callback):
    """At the end of every validation, draw G's samples from one fixed noise batch.

    Images ``(N, C, H, W)`` become a grid (:func:`~lightning_gan.images.make_grid`); 2-D samples
    ``(N, 2)`` become a density picture with the datamodule's ``centers`` marked
    (:func:`~lightning_gan.images.scatter_image`). The picture is logged under ``key`` at step
    ``pl_module.iteration`` to a :class:`WandbLogger` (``wandb.Image``, on the ``iteration`` axis) and a
    :class:`TensorBoardLogger` (``add_image``), and always written to
    ``<run dir>/samples/iter_<iteration>.png``. Only global rank 0 draws and writes. The noise is
    drawn once from ``seed`` and kept in the callback's checkpoint state, so a resumed run keeps
    showing the same latents.

    Args:
        n_samples: Latents in the fixed batch (64 fills an 8×8 grid; 2-D data needs thousands).
        nrow: Images per grid row.
        key: Logged name.
        seed: Seed of the fixed noise.
    """

    def __init__(
        self, n_samples: int = 64, nrow: int = 8, key: str = "val/samples", seed: int = 1234
    ) -> None:
        if n_samples < 1 or nrow < 1:
            raise ValueError(f"n_samples and nrow must be >= 1, got {n_samples} and {nrow}")
        self.n_samples, self.nrow, self.key, self.seed = n_samples, nrow, key, seed
        self.noise: torch.Tensor | None = None
        self.last_path: Path | None = None

    def fixed_noise(self, pl_module: LightningModule) -> torch.Tensor:
        """The fixed latent batch, drawn on first use from ``seed`` (independent of the global RNG)."""
        if self.noise is None:
            with seeded_fork(self.seed, pl_module.device):
                self.noise = pl_module.sample_latent(self.n_samples).cpu()
        return self.noise.to(pl_module.device)

    def picture(self, trainer: Trainer, pl_module: LightningModule) -> Any:  # noqa: ANN401
        """Render the current samples: ``(H, W)`` or ``(H, W, 3)`` uint8.

        For a conditional model (one with ``num_classes``) the grid has one row per class, each row
        the first ``nrow`` fixed latents, so a column shows one z across classes.
        """
        z = self.fixed_noise(pl_module)
        num_classes = getattr(pl_module, "num_classes", None)
        if num_classes:
            columns = min(self.nrow, self.n_samples)
            labels = torch.arange(num_classes, device=z.device).repeat_interleave(columns)
            samples = pl_module.sample(len(labels), z=z[:columns].repeat(num_classes, 1), labels=labels)
        else:
            samples = pl_module.sample(self.n_samples, z=z)
        if samples.ndim == 4:
            return to_uint8(make_grid(samples.float().clamp(-1, 1), nrow=self.nrow))
        if samples.ndim == 2 and samples.shape[1] == 2:
            return scatter_image(samples, getattr(trainer.datamodule, "centers", None))
        raise ValueError(
            f"SampleGrid draws (N, C, H, W) images or (N, 2) points, got shape {tuple(samples.shape)}"
        )

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:  # noqa: D102
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        picture = self.picture(trainer, pl_module)
        step = pl_module.iteration
        folder = run_dir(trainer) / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        self.last_path = folder / f"iter_{step:07d}.png"
        Image.fromarray(picture).save(self.last_path)
        if step <= getattr(pl_module, "logged_before_resume", -1):  # the loggers have it from before a resume
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                log_at_iteration(logger, trainer, {self.key: [wandb.Image(picture)]}, step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(
                    self.key, picture, step, dataformats="HW" if picture.ndim == 2 else "HWC"
                )

    def state_dict(self) -> dict[str, Any]:  # noqa: D102
        return {"noise": self.noise}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:  # noqa: D102
        self.noise = state_dict.get("noise")
