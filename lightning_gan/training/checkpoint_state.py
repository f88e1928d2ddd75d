"""What a GAN adds to a Lightning checkpoint: each collaborator's state and every rank's random streams."""

from typing import Any

from lightning_gan.training import checks
from lightning_gan.training.legacy import upgrade_checkpoint


def collaborators(gan: Any) -> dict[str, Any]:  # noqa: ANN401
    """The GAN's parts whose ``state_dict()`` a checkpoint holds, by key."""
    return {"clock": gan.clock, "guard": gan.guard, "window": gan.window, "run": gan.run_state}


def save_gan_state(gan: Any, checkpoint: dict[str, Any]) -> None:  # noqa: ANN401
    """Add ``gan_state`` (one state per collaborator) and ``rank_states`` to ``checkpoint``.

    ``rank_states`` holds every rank's random streams and, mid-update, D's partial gradients and
    micro-batches.
    """
    checkpoint["gan_state"] = {name: part.state_dict() for name, part in collaborators(gan).items()}
    mid_update = not gan.clock.first_micro_batch
    checkpoint["rank_states"] = gan.run_state.rank_states(gan.discriminator, mid_update)


def load_gan_state(gan: Any, checkpoint: dict[str, Any]) -> None:  # noqa: ANN401
    """Restore what :func:`save_gan_state` wrote (or a version-0.1 checkpoint's counters).

    Raises:
        ValueError: If the checkpoint's weights do not fit ``gan`` (another architecture).
    """
    checks.check_architecture(gan, checkpoint.get("state_dict", {}))
    upgrade_checkpoint(checkpoint)
    state = checkpoint["gan_state"]
    for name, part in collaborators(gan).items():
        part.load_state_dict(state[name])
    gan.run_state.saved = checkpoint.get("rank_states")
