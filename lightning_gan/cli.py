"""``lightning-gan``: LightningCLI over :class:`~lightning_gan.GAN` and any LightningDataModule."""

import sys
from importlib import resources
from pathlib import Path

from lightning import LightningDataModule
from lightning.pytorch.cli import LightningCLI

from lightning_gan.callbacks.save_config import SaveConfigToRun
from lightning_gan.module import GAN

SUBCOMMANDS = ("fit", "validate", "test", "predict")


def default_config() -> Path:
    """Path of the config used when none is given: ``configs/gan_grid.yaml``, installed with the package."""
    return Path(str(resources.files("lightning_gan.configs") / "gan_grid.yaml"))


def with_default_config(args: list[str]) -> list[str]:
    """Insert ``--config <gan_grid.yaml>`` right after the subcommand when no config is given.

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


def main() -> None:
    """Entry point of ``lightning-gan`` and ``python -m lightning_gan``: parses ``sys.argv``.

    The default config is inserted into ``sys.argv`` itself, as LightningCLI expects command-line
    arguments there (it warns when given both).
    """
    sys.argv[1:] = with_default_config(sys.argv[1:])
    GANCLI()
