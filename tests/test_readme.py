"""The README's Python example runs as written (in a temporary folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    code = re.search(r"## Ten lines of Python\s+```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert code, "README lost its Python example"
    lines = [line for line in code.group(1).splitlines() if line.strip()]
    assert len(lines) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "read" in out and "quarantined 0" in out
    assert os.path.exists(tmp_path / "my-shop" / "warehouse.duckdb")
