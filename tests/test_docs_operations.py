"""docs/operations.md opens with an example that runs as written (real EASE and SASRec versions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def test_opening_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code, "docs/operations.md lost its opening example"
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), str(DOC), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == ["True", "['deploy', 'deploy', 'rollback']"]
    assert "ndcg@10" in lines[0] or "coverage@10" in lines[0]
    assert "'metric'" in lines[1] and "'step': 3.0" in lines[1]
