"""Under CI=true a skip for anything but missing shared data fails the run (DESIGN.md, reliability rules)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")
TESTS = """
import pytest
from conftest import MISSING_DATA_REASON

def test_missing_package():
    pytest.skip("chromium is not installed")

def test_missing_data():
    pytest.skip(f"{MISSING_DATA_REASON}: /nowhere")
"""


def run_pytest(folder: Path, ci: bool, selection: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "true" if ci else "false"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", selection,
                           str(folder)], capture_output=True, text=True, env=env, cwd=folder, check=False)


def test_other_skips_fail_under_ci(tmp_path: Path) -> None:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_skips.py").write_text(TESTS, encoding="utf-8")
    assert run_pytest(tmp_path, ci=True, selection="missing_data").returncode == 0
    failing = run_pytest(tmp_path, ci=True, selection="missing_package")
    assert failing.returncode == 1 and "skips not allowed under CI=true" in failing.stdout
    assert run_pytest(tmp_path, ci=False, selection="missing_package").returncode == 0
