"""What the loopback latency benchmarks share: a benchmark module re-run as a server child process with the
project's environment, and a free port on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(module_file: str, *args: str) -> list[str]:
    """The command that runs ``module_file`` (a benchmark module with its own ``main``) with ``args``."""
    return [sys.executable, str(Path(module_file).resolve()), *args]


def child_env() -> dict[str, str]:
    """The environment of a child: the project's sources and the benchmarks on the path, offline, passive OpenMP."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE),
                                                         os.environ.get("PYTHONPATH", "")]),
            "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far, from /proc (Linux): a figure that does not
    depend on how busy the machine is, unlike wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
