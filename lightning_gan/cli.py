"""``lightning-gan``: LightningCLI over :class:`~lightning_gan.GAN` and any LightningDataModule."""

import os
import sys
import traceback
from importlib import resources
from pathlib import Path

import torch
from jsonargparse import ArgumentParser, Namespace
from lightning import LightningDataModule
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities.exceptions import SIGTERMException

import lightning_gan
from lightning_gan.callbacks.save_config import SaveConfigToRun
from lightning_gan.distributed import CLI_STRATEGIES
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

#: The CLI's pre-emption checkpoint (SIGTERM writes last.ckpt), added unless the config has one.
SIGTERM_CHECKPOINT = Namespace(
    class_path="lightning_gan.callbacks.CheckpointOnSigterm", init_args=Namespace()
)


def add_default_callbacks(config: Namespace) -> None:
    """Append :data:`PROGRESS_BAR` and :data:`SIGTERM_CHECKPOINT` to ``trainer.callbacks`` where missing.

    No progress bar is added where one is configured or ``enable_progress_bar`` is false.

    Args:
        config: One subcommand's parsed config, changed in place.
    """
    trainer = config.trainer
    callbacks = list(trainer.get("callbacks") or [])
    paths = [str(callback.get("class_path", "")) for callback in callbacks]
    if trainer.get("enable_progress_bar") is not False and not any("ProgressBar" in path for path in paths):
        callbacks.append(PROGRESS_BAR.clone())
    if SIGTERM_CHECKPOINT.class_path not in paths:
        callbacks.append(SIGTERM_CHECKPOINT.clone())
    trainer.callbacks = callbacks


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
    """Make ``--ckpt_path`` resume the run it came from: its file and its logger run.

    - ``ckpt_path=last`` becomes the newest ``checkpoints/last*.ckpt`` of any run under the
      logger's ``<save_dir>/<name>/`` (Lightning alone would look only in a new run's folder).
    - A checkpoint inside ``<save_dir>/<name>/<run>/checkpoints/`` sets the logger's ``version``
      to ``<run>``, so W&B continues the same run id (``resume="allow"``) and new checkpoints,
      samples and the config land in the same folder.

    Args:
        config: One subcommand's parsed config, changed in place.
    """
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


#: Checkpoint names Lightning resolves itself (not files).
SPECIAL_CKPT_PATHS = ("last", "best", "hpc", "registry")


def check_checkpoint_file(ckpt_path: str | None) -> None:
    """Fail early, naming the option and the file, unless ``ckpt_path`` is a checkpoint the CLI can read.

    Lightning's CLI reads the file with ``torch.load(weights_only=True)`` before anything else runs.
    Checkpoints written by ``lightning-gan fit`` hold tensors, numbers and strings only; one of a model
    built in Python keeps its networks as objects in the hyperparameters and needs
    ``GAN.load_from_checkpoint(path, weights_only=False)`` instead.

    Args:
        ckpt_path: The ``--ckpt_path`` value (``None``, a special name or a path).

    Raises:
        ValueError: If the file is missing, truncated or corrupt, or holds Python objects.
    """
    if ckpt_path is None or ckpt_path in SPECIAL_CKPT_PATHS or "://" in str(ckpt_path):
        return
    path = Path(ckpt_path)
    if not path.is_file():
        raise ValueError(
            f"--ckpt_path {ckpt_path}: no such file; give a .ckpt file or 'last' (the newest run's)"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (torch raises many kinds for a bad file)
        if "Unsupported global" in str(error):
            raise ValueError(
                f"--ckpt_path {ckpt_path}: the checkpoint holds Python objects, which the CLI does not "
                "unpickle (a model built in Python keeps its networks in the hyperparameters; version 0.1 "
                "kept NumPy's random state); if you trust the file, load it in Python with "
                "GAN.load_from_checkpoint(path, weights_only=False)"
            ) from error
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"--ckpt_path {ckpt_path}: not a readable checkpoint (truncated or corrupt?): {reason}"
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(
            f"--ckpt_path {ckpt_path}: a torch file but not a Lightning checkpoint (no state_dict)"
        )


def use_gan_ddp(config: Namespace) -> None:
    """Map Lightning's plain DDP names (``ddp``, ``ddp_spawn``, ...) to the per-network ones (``gan_ddp``...).

    Args:
        config: One subcommand's parsed config, changed in place.
    """
    strategy = config.trainer.get("strategy")
    if isinstance(strategy, str) and strategy in CLI_STRATEGIES:
        config.trainer.strategy = CLI_STRATEGIES[strategy]


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

        See :func:`move_manual_optimization_options`, :func:`add_default_callbacks`,
        :func:`use_gan_ddp` and :func:`resume_run`.
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        move_manual_optimization_options(config)
        add_default_callbacks(config)
        use_gan_ddp(config)
        resume_run(config)


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

    A bad value ends with the package's one-line message on stderr and exit code 2 (the whole
    traceback with ``LIGHTNING_GAN_TRACEBACK=1``). A fit stopped by SIGTERM exits with 143 after
    its checkpoint is written (:class:`~lightning_gan.callbacks.CheckpointOnSigterm`).
    """
    sys.argv[1:] = with_default_config(sys.argv[1:])
    try:
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
