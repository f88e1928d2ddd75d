"""``lightning-gan``: LightningCLI over :class:`~lightning_gan.GAN` and any LightningDataModule."""

import sys
from importlib import resources
from pathlib import Path

from jsonargparse import Namespace
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


def move_manual_optimization_options(config: Namespace) -> None:
    """Hand ``trainer.gradient_clip_val``/``_algorithm`` and ``accumulate_grad_batches`` to the model.

    Lightning rejects these Trainer options under manual optimization; :class:`~lightning_gan.GAN`
    clips (per network, after AMP unscaling) and accumulates itself. So the CLI maps
    ``--trainer.gradient_clip_val=v`` to both ``g_gradient_clip_val`` and ``d_gradient_clip_val``
    (where those are unset) and ``--trainer.accumulate_grad_batches=N`` to the model's, then resets
    the Trainer's to its defaults.

    Args:
        config: One subcommand's parsed config (``trainer`` and ``model`` sections), changed in place.

    Raises:
        ValueError: If the Trainer and the model ask for different accumulation, or the model
            class has no such argument.
    """
    trainer, model = config.trainer, config.model.init_args
    clip = trainer.get("gradient_clip_val")
    accumulate = trainer.get("accumulate_grad_batches")
    wanted = ["g_gradient_clip_val", "d_gradient_clip_val"] if clip is not None else []
    wanted += ["accumulate_grad_batches"] if accumulate not in (None, 1) else []
    missing = [key for key in wanted if key not in model]
    if missing:
        raise ValueError(
            f"the model ({config.model.class_path}) has no {missing} argument to take the Trainer's "
            "gradient clipping/accumulation; Lightning does not apply them under manual optimization"
        )
    if clip is not None:
        for key in ("g_gradient_clip_val", "d_gradient_clip_val"):
            if model[key] is None:
                model[key] = clip
        if trainer.get("gradient_clip_algorithm") is not None:
            model["gradient_clip_algorithm"] = trainer.gradient_clip_algorithm
        trainer.gradient_clip_val = trainer.gradient_clip_algorithm = None
    if accumulate not in (None, 1):
        if model["accumulate_grad_batches"] not in (1, accumulate):
            raise ValueError(
                f"trainer.accumulate_grad_batches={accumulate} and model accumulate_grad_batches="
                f"{model['accumulate_grad_batches']} disagree; set one of them"
            )
        model["accumulate_grad_batches"] = accumulate
        trainer.accumulate_grad_batches = 1


#: The CLI's progress bar when the config names none: redrawn every 50 batches, not on every one
#: (per-batch redraws cost about 8 % of a small GAN's training speed).
PROGRESS_BAR = Namespace(
    class_path="lightning.pytorch.callbacks.TQDMProgressBar",
    init_args=Namespace(refresh_rate=50),
)


def add_default_progress_bar(config: Namespace) -> None:
    """Append :data:`PROGRESS_BAR` to ``trainer.callbacks`` unless a progress bar is configured or off.

    Args:
        config: One subcommand's parsed config, changed in place.
    """
    trainer = config.trainer
    if trainer.get("enable_progress_bar") is False:
        return
    callbacks = list(trainer.get("callbacks") or [])
    if any("ProgressBar" in str(callback.get("class_path", "")) for callback in callbacks):
        return
    trainer.callbacks = [*callbacks, PROGRESS_BAR.clone()]


#: Loggers whose run folder is ``<save_dir>/<name>/<version>`` and whose ``version`` argument names it.
FOLDER_LOGGERS = {"WandbLogger": "project", "TensorBoardLogger": "name", "CSVLogger": "name"}


def _logger_folder(logger: Namespace) -> tuple[Path, str | None] | None:
    """``(<save_dir>/<name>, version)`` of a configured W&B, TensorBoard or CSV logger; ``None`` otherwise."""
    kind = str(logger.get("class_path", "")).rsplit(".", 1)[-1]
    if kind not in FOLDER_LOGGERS:
        return None
    args = logger.get("init_args") or Namespace()
    name = args.get(FOLDER_LOGGERS[kind]) or "lightning_logs"
    save_dir = args.get("save_dir") or args.get("dir") or "."
    version = args.get("version") or args.get("id")
    return Path(save_dir) / str(name), version


def resume_run(config: Namespace) -> None:
    """Make ``--ckpt_path`` resume the run it came from: its file, its logger run, unpickled hparams.

    - ``ckpt_path=last`` becomes the newest ``checkpoints/last*.ckpt`` of any run under the
      logger's ``<save_dir>/<name>/`` (Lightning alone would look only in a new run's folder).
    - A checkpoint inside ``<save_dir>/<name>/<run>/checkpoints/`` sets the logger's ``version``
      to ``<run>``, so W&B continues the same run id (``resume="allow"``) and new checkpoints,
      samples and the config land in the same folder.
    - ``weights_only`` defaults to ``False``: the checkpoint's hyperparameters hold the networks as
      Python objects (what lets ``GAN.load_from_checkpoint(path)`` rebuild them), which only
      unpickling restores; resume only from checkpoints you trust.

    Args:
        config: One subcommand's parsed config, changed in place.
    """
    if "weights_only" in config and config.weights_only is None:
        config.weights_only = False
    ckpt_path = config.get("ckpt_path")
    logger = config.trainer.get("logger")
    folder = _logger_folder(logger) if isinstance(logger, Namespace) else None
    if ckpt_path is None or folder is None:
        return
    runs, version = folder
    if ckpt_path == "last":
        if version is not None:
            return  # Lightning finds last.ckpt in that run's own folder
        found = sorted(runs.glob("*/checkpoints/last*.ckpt"), key=lambda path: path.stat().st_mtime)
        if not found:
            return  # Lightning warns that there is no checkpoint and starts afresh
        config.ckpt_path = ckpt_path = str(found[-1])
    path = Path(ckpt_path)
    if path.parent.name == "checkpoints" and path.parent.parent.parent.resolve() == runs.resolve():
        run = path.parent.parent.name
        if version is not None and version != run:
            raise ValueError(
                f"ckpt_path {ckpt_path} belongs to run {run!r} but the logger is set to version {version!r}; "
                "drop the logger's version/id to continue that run, or give a checkpoint of the run named"
            )
        logger.init_args.version = run


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

    def before_instantiate_classes(self) -> None:
        """Move clipping/accumulation to the model, default the progress bar, point a resume at its run.

        See :func:`move_manual_optimization_options`, :func:`add_default_progress_bar` and
        :func:`resume_run`.
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        move_manual_optimization_options(config)
        add_default_progress_bar(config)
        resume_run(config)


def main() -> None:
    """Entry point of ``lightning-gan`` and ``python -m lightning_gan``: parses ``sys.argv``.

    The default config is inserted into ``sys.argv`` itself, as LightningCLI expects command-line
    arguments there (it warns when given both).
    """
    sys.argv[1:] = with_default_config(sys.argv[1:])
    GANCLI()
