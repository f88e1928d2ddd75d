"""Checkpoints of version 0.1 (one ``gan_counters`` dict) in today's layout (one state per collaborator)."""

from typing import Any


def upgrade_checkpoint(checkpoint: dict[str, Any]) -> None:
    """Add ``gan_state`` to a version-0.1 checkpoint from its ``gan_counters`` (in place; no-op otherwise).

    Args:
        checkpoint: The loaded checkpoint dict.
    """
    if "gan_state" in checkpoint:
        return
    old = checkpoint.get("gan_counters", {})
    checkpoint["gan_state"] = {
        "clock": {
            "iteration": old.get("iteration", 0),
            "d_steps": old.get("d_steps_in_iteration", 0),
            "micro_batch": old.get("micro_batch", 0),
            "images_seen": old.get("images_seen", 0),
        },
        "guard": {
            "skipped_steps": old.get("skipped_steps", 0),
            "in_a_row": old.get("consecutive_skips", {"generator": 0, "discriminator": 0}),
            "applied": {"generator": False, "discriminator": old.get("d_applied", False)},
        },
        "window": {"sums": old.get("window_sums", {}), "counts": old.get("window_counts", {})},
        "run": {"evaluation_seed": old.get("evaluation_seed")},
    }
