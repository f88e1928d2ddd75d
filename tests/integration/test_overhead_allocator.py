"""``benchmarks/overhead.py`` starts every side with fixed glibc malloc thresholds that glibc obeys.

glibc reads ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` when a process starts and
silently ignores a value it refuses (before 2.36, an mmap threshold above 32 MiB), so the test
watches what the thresholds do in a fresh process: buffers of growing size, each freed before the
next, come from a new mapping each (every page faulted in again) under glibc's dynamic thresholds,
and from the heap, whose pages stay in the process, under fixed ones.
"""

import os
import platform
import subprocess
import sys

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmarks are scripts
import overhead  # noqa: E402

# 100 buffers of 64 KiB … 6.4 MiB, each filled and freed; prints the minor page faults this took.
GROWING_BUFFERS = """
import resource, torch
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(1, 101):
    torch.empty(i * 2**16, dtype=torch.uint8).fill_(1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(env: dict[str, str]) -> int:
    """Minor page faults of :data:`GROWING_BUFFERS` in a fresh process whose malloc tunables are ``env``."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    command = [sys.executable, "-c", GROWING_BUFFERS]
    done = subprocess.run(command, env=inherited | env, capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc tunables")
def test_the_fixed_thresholds_keep_freed_memory_in_the_process():
    pages = sum(i * 2**16 for i in range(1, 101)) // 4096  # every page of every buffer: 80,800
    default = faults({})
    fixed = faults(overhead.FIXED_ALLOCATOR)
    assert default > pages / 2  # glibc's dynamic thresholds: faulted in again, buffer after buffer
    assert fixed < pages / 20  # fixed: about the largest buffer's 1,600 pages, once (2,000 measured)
