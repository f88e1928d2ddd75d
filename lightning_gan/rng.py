"""The process's random streams (torch CPU/CUDA, NumPy, Python) as one value ``torch.load`` reads safely."""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


def rng_states() -> dict[str, Any]:
    """Capture every random stream of this process, as tensors, numbers and tuples only.

    Only such values are in a checkpoint, so it loads with ``torch.load(weights_only=True)`` (what
    Lightning's CLI does with ``--ckpt_path``).

    Returns:
        ``torch`` (CPU ``ByteTensor``), ``cuda`` (one per visible device; empty without CUDA),
        ``numpy`` (its MT19937 key as an int64 tensor, position, Gaussian cache) and ``python``.
    """
    _, key, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": (
            torch.from_numpy(key.astype(np.int64)),
            int(position),
            int(has_gauss),
            float(cached_gaussian),
        ),
        "python": random.getstate(),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Put back the streams :func:`rng_states` captured (CUDA ones only where CUDA is present).

    Args:
        states: The value :func:`rng_states` returned (or NumPy's own state tuple under ``numpy``,
            as checkpoints of version 0.1 hold it).
    """
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    numpy_state = states["numpy"]
    if len(numpy_state) == 4:
        key, position, has_gauss, cached_gaussian = numpy_state
        numpy_state = ("MT19937", key.numpy().astype(np.uint32), position, has_gauss, cached_gaussian)
    np.random.set_state(numpy_state)
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
