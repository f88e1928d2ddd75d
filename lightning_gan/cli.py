"""``lightning-gan``: LightningCLI over :class:`~lightning_gan.GAN` and any LightningDataModule."""

import os
import sys
import traceback
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from jsonargparse import ArgumentParser
from lightning import LightningDataModule
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities.exceptions import SIGTERMException

import lightning_gan
from lightning_gan import export, sampling
from lightning_gan.callbacks.save_config import SaveConfigToRun
from lightning_gan.cli_config import (
    add_default_callbacks,
    check_checkpoint_file,
    check_wandb_log_model,
    move_manual_optimization_options,
    resume_run,
    use_gan_ddp,
)
from lightning_gan.module import GAN

SUBCOMMANDS = ("fit", "validate", "test", "predict")


#: The recipe ``lightning-gan fit`` trains when no ``--config`` is given (a file in ``configs/``).
DEFAULT_CONFIG = "pacgan_grid.yaml"


def default_config() -> Path:
    """Path of :data:`DEFAULT_CONFIG`, installed with the package."""
    return Path(str(resources.files("lightning_gan.configs") / DEFAULT_CONFIG))


def with_default_config(args: list[str]) -> list[str]:
    """Insert ``--config <default config>`` right after the subcommand when no config is given.

    Later command-line overrides still apply on top of it.

    Args:
        args: Command-line arguments without the program name.

    Returns:
        The arguments to parse.
    """
    if not args or args[0] not in SUBCOMMANDS:
        return args
    if any(a in ("-c", "--config") or a.startswith("--config=") for a in args[1:]):
        return args
    return [args[0], "--config", str(default_config()), *args[1:]]


class GANCLI(LightningCLI):
    """LightningCLI with the GAN (or a subclass) and any datamodule chosen by ``class_path``.

    Optimizers are arguments of the model (``g_optimizer``/``d_optimizer``), so LightningCLI's own
    ``--optimizer``/``--lr_scheduler`` options are switched off.
    """

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        """Parse and run.

        Args:
            args: Arguments as on the command line (``None``: ``sys.argv``, as given); the default
                config is added when they name a subcommand but no config.
            run: Run the subcommand (``False``: only instantiate).
        """
        super().__init__(
            GAN,
            LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=SaveConfigToRun,
            save_config_kwargs={"save_to_log_dir": False},
            auto_configure_optimizers=False,
            args=None if args is None else with_default_config(args),
            run=run,
        )

    def parse_arguments(self, parser: ArgumentParser, args: list[str] | None) -> None:
        """Parse as LightningCLI does, then check ``--ckpt_path`` before Lightning reads it.

        Raises:
            ValueError: For a checkpoint file the CLI cannot read (:func:`check_checkpoint_file`).
        """
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand:
            check_checkpoint_file(self.config[subcommand].get("ckpt_path"))

    def before_instantiate_classes(self) -> None:
        """Move clipping/accumulation to the model, add default callbacks, map ``ddp``, resume a run.

        See :func:`move_manual_optimization_options`, :func:`check_wandb_log_model`,
        :func:`add_default_callbacks`, :func:`use_gan_ddp` and :func:`resume_run`.
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        move_manual_optimization_options(config)
        check_wandb_log_model(config)
        add_default_callbacks(config)
        use_gan_ddp(config)
        resume_run(config)


#: Subcommands outside LightningCLI: they read a checkpoint and write files (argv without the subcommand).
FILE_COMMANDS: dict[str, Callable[[list[str]], None]] = {"sample": sampling.main, "export": export.main}

#: Set to 1 to see the whole traceback of a bad value instead of its one-line message.
TRACEBACK_VARIABLE = "LIGHTNING_GAN_TRACEBACK"

#: Exit code after SIGTERM (128 + 15, what a shell reports for a process ended by SIGTERM).
SIGTERM_EXIT_CODE = 143


def own_message(error: BaseException) -> BaseException | None:
    """The package's own error behind ``error``: a ``ValueError`` or ``FloatingPointError`` raised in it.

    Parsers and Lightning wrap what a constructor or hook raises; this follows the chain
    (``__cause__``/``__context__``) to the first error raised by a line of ``lightning_gan``.
    """
    package = str(Path(lightning_gan.__file__).parent)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        if (
            isinstance(current, (ValueError, FloatingPointError))
            and frames
            and frames[-1].filename.startswith(package)
        ):
            return current
        current = current.__cause__ or current.__context__
    return None


def main() -> None:
    """Entry point of ``lightning-gan`` and ``python -m lightning_gan``: parses ``sys.argv``.

    ``fit``/``validate``/``test``/``predict`` go to :class:`GANCLI`; ``sample`` and ``export`` (see
    :data:`FILE_COMMANDS`) write files from a checkpoint.

    A bad value ends with the package's one-line message on stderr and exit code 2 (the whole
    traceback with ``LIGHTNING_GAN_TRACEBACK=1``). A fit stopped by SIGTERM exits with 143 after
    its checkpoint is written (:class:`~lightning_gan.callbacks.CheckpointOnSigterm`).
    """
    try:
        if len(sys.argv) > 1 and sys.argv[1] in FILE_COMMANDS:
            FILE_COMMANDS[sys.argv[1]](sys.argv[2:])
            return
        sys.argv[1:] = with_default_config(sys.argv[1:])
        GANCLI()
    except SIGTERMException:
        print("lightning-gan: stopped by SIGTERM; continue with --ckpt_path last", file=sys.stderr)
        sys.exit(SIGTERM_EXIT_CODE)
    except Exception as error:
        message = own_message(error)
        if message is None or os.environ.get(TRACEBACK_VARIABLE) == "1":
            raise
        print(f"lightning-gan: error: {message}", file=sys.stderr)
        print(f"(set {TRACEBACK_VARIABLE}=1 for the full traceback)", file=sys.stderr)
        sys.exit(2)
