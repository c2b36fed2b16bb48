"""Thread settings that are fast on a small CPU.

Measured on the project's 2-core machine (docs/text.md, "Speed"): PyTorch's default intra-op pool
already uses both cores; what costs time is OpenMP's busy-waiting between batches, which fights with
tokenisation and with other processes for the same cores. ``OMP_WAIT_POLICY=PASSIVE`` lets idle
threads sleep. It is read once, when the OpenMP runtime starts, so :mod:`shoplens.text` sets it as a
default before torch is imported (a value the user set wins).
"""

from __future__ import annotations

import os

THREADS_ENV = "SHOPLENS_THREADS"


def default_threads() -> int:
    """Cores this process may run on (``$SHOPLENS_THREADS`` overrides)."""
    configured = os.environ.get(THREADS_ENV)
    if configured and configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def set_wait_policy() -> None:
    """Let idle OpenMP threads sleep instead of spinning (effective only before torch is imported)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configure_torch(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads; returns the number used."""
    import torch

    threads = num_threads or default_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
