"""A checkpoint when the job is pre-empted: SIGTERM saves ``last.ckpt`` and the fit ends non-zero."""

from pathlib import Path

from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_gan.callbacks.run_dir import run_dir


class CheckpointOnSigterm(Callback):
    """On SIGTERM (how clusters pre-empt jobs) write ``last.ckpt`` where ``--ckpt_path last`` finds it.

    Lightning notices SIGTERM at the end of the batch in progress and raises ``SIGTERMException``
    (a ``SystemExit`` with code 0). This callback then writes the full training state to
    ``<dirpath>/<filename>.ckpt``: the first ``ModelCheckpoint``'s folder, else
    ``<run dir>/checkpoints``. The ``lightning-gan`` CLI adds it to every fit and turns the exception
    into exit code 143. Resuming from the file continues as the uninterrupted run would, bit for bit.

    Args:
        filename: Name of the checkpoint, without ``.ckpt`` (``last``, what ``--ckpt_path last`` reads).
    """

    def __init__(self, filename: str = "last") -> None:
        self.filename = filename
        self.saved: Path | None = None

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:  # noqa: D102
        if not isinstance(exception, SIGTERMException) or not trainer.training:
            return
        folders = [cb.dirpath for cb in trainer.checkpoint_callbacks if isinstance(cb, ModelCheckpoint)]
        folder = Path(folders[0]) if folders and folders[0] else run_dir(trainer) / "checkpoints"
        self.saved = folder / f"{self.filename}.ckpt"
        trainer.save_checkpoint(self.saved)
