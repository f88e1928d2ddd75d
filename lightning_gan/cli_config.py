"""How ``lightning-gan`` rewrites a parsed config before anything is built: each rule one function."""

import zipfile
from pathlib import Path
from typing import Any

import torch
from jsonargparse import Namespace

from lightning_gan.distributed import CLI_STRATEGIES


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
    class_path="lightning_gan.callbacks.IterationProgressBar",
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


def check_checkpoint_file(ckpt_path: str | None) -> dict[str, Any] | None:
    """Fail early, naming the option and the file, unless ``ckpt_path`` is a checkpoint the CLI can read.

    Lightning's CLI reads the file with ``torch.load(weights_only=True)`` before anything else runs.
    Checkpoints written by ``lightning-gan fit`` hold tensors, numbers and strings only; one of a model
    built in Python keeps its networks as objects in the hyperparameters and needs
    ``GAN.load_from_checkpoint(path, weights_only=False)`` instead.

    Args:
        ckpt_path: The ``--ckpt_path`` value (``None``, a special name or a path).

    Returns:
        The checkpoint as read (memory-mapped where it can be), or ``None`` for no file or a special name.

    Raises:
        ValueError: If the file is missing, truncated or corrupt, or holds Python objects.
    """
    if ckpt_path is None or ckpt_path in SPECIAL_CKPT_PATHS or "://" in str(ckpt_path):
        return None
    path = Path(ckpt_path)
    if not path.is_file():
        raise ValueError(
            f"--ckpt_path {ckpt_path}: no such file; give a .ckpt file or 'last' (the newest run's)"
        )
    try:
        # Memory-mapped where it can be (torch's zip format), so a large checkpoint is not read twice.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
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
    return checkpoint


def use_gan_ddp(config: Namespace) -> None:
    """Map Lightning's plain DDP names (``ddp``, ``ddp_spawn``, ...) to the per-network ones (``gan_ddp``...).

    Args:
        config: One subcommand's parsed config, changed in place.
    """
    strategy = config.trainer.get("strategy")
    if isinstance(strategy, str) and strategy in CLI_STRATEGIES:
        config.trainer.strategy = CLI_STRATEGIES[strategy]


def check_wandb_log_model(config: Namespace) -> None:
    """Fail early, naming the options, when a W&B logger is asked to upload checkpoints while offline.

    ``log_model`` uploads each checkpoint as a W&B artifact, which needs a connection; Lightning
    refuses the pair deep inside the logger's constructor. The checkpoints are written to the run's
    ``checkpoints/`` folder either way.

    Args:
        config: One subcommand's parsed config.

    Raises:
        ValueError: For ``log_model`` set on an offline ``WandbLogger``.
    """
    logger = config.trainer.get("logger")
    for entry in logger if isinstance(logger, list) else [logger]:
        if not isinstance(entry, Namespace) or not str(entry.get("class_path", "")).endswith("WandbLogger"):
            continue
        args = entry.get("init_args") or Namespace()
        if args.get("offline") and args.get("log_model"):
            raise ValueError(
                f"--trainer.logger.init_args.log_model={args.get('log_model')} uploads checkpoints as W&B "
                "artifacts, which an offline run cannot do; set offline=false (after `wandb login`) to "
                "upload them, or log_model=false (checkpoints stay in the run's checkpoints/ folder)"
            )
