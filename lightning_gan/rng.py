"""The process's random streams (torch CPU and CUDA, NumPy, Python) as one picklable value."""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


def rng_states() -> dict[str, Any]:
    """Capture every random stream of this process.

    Returns:
        ``torch`` (CPU ``ByteTensor``), ``cuda`` (one per visible device; empty without CUDA),
        ``numpy`` and ``python`` states.
    """
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Put back the streams :func:`rng_states` captured (CUDA ones only where CUDA is present).

    Args:
        states: The value :func:`rng_states` returned.
    """
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


@contextmanager
def seeded_fork(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block on its own stream, seeded with ``seed``, then give the outer streams back.

    Forks the CPU stream and, for a CUDA ``device``, that device's stream (the one latents drawn
    on it use), so evaluation draws never shift training's random numbers.

    Args:
        seed: Seed of the block's stream.
        device: Device whose stream the block draws from besides the CPU's.
    """
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
