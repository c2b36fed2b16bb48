"""Warehouse connections: UTC, and DuckDB's progress bar (drawn on stdout) only for a terminal, so that a script
reading `--json` from a pipe never gets bar characters before its JSON."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import shoplens as sl

SRC = Path(__file__).resolve().parents[1] / "src"
READ_SETTINGS = ("import sys, shoplens as sl\n"
                 "with sl.Workspace.open(sys.argv[1]).connect(read_only=sys.argv[2] == 'read') as con:\n"
                 "    print(con.execute(\"SELECT current_setting('enable_progress_bar'), "
                 "current_setting('TimeZone')\").fetchone())\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("mode", ["read", "write"])
def test_no_progress_bar_when_stdout_is_a_pipe(workspace: sl.Workspace, mode: str) -> None:
    """In a process of its own whose stdout is a pipe (where DuckDB's default draws the bar: `shoplens run --json
    > file` got bar characters before its JSON)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", READ_SETTINGS, str(workspace.path), mode], capture_output=True,
                          text=True, env=env, check=True, timeout=120)
    assert done.stdout.strip() == "(False, 'UTC')"


def test_a_terminal_keeps_duckdbs_own_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", Terminal())
    with duckdb.connect() as plain:  # DuckDB's default depends on where it runs (off under pytest's capture)
        default = plain.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    # a workspace of its own: connections to one warehouse file in a process share their settings
    ws = sl.Workspace.init(tmp_path / "ws")
    with ws.connect() as con:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] == default
