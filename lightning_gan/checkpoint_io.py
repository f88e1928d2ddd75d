"""Checkpoint files that are either the old one or the whole new one, never a torn mix."""

import os
import uuid
from pathlib import Path
from typing import Any

import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that writes local files through a synced temporary file and a rename.

    The checkpoint goes to a temporary file in the target's own folder, is flushed to disk
    (``fsync``) and then renamed over the target (``os.replace``, atomic on POSIX and Windows). A
    process killed at any moment leaves the previous checkpoint intact, or the complete new one.
    Lightning's own writer stages the bytes in the system temp folder and moves them, which turns
    into a plain, interruptible copy when that folder lies on another file system. Remote paths
    (``s3://``, ...) keep Lightning's behaviour. Chosen explicitly, in a config's
    ``trainer.plugins`` (every shipped config does) or ``Trainer(plugins=[AtomicCheckpointIO()])``.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:  # noqa: ANN401
        """Write ``checkpoint`` to ``path`` atomically (local paths).

        Args:
            checkpoint: The state Lightning assembled.
            path: Target file.
            storage_options: Must be ``None`` (as for ``TorchCheckpointIO``).
        """
        if not isinstance(get_filesystem(path), LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A fresh name beside the target (same file system, so the rename is atomic); "x" never reuses
        # a file, and unlike mkstemp's 0600 the file gets the usual permissions (umask).
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(temporary, "xb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
