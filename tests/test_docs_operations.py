"""docs/operations.md opens with an example that runs as written (real EASE and SASRec versions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_first_example

DOC = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def test_opening_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture) -> None:
    run_first_example(DOC, tmp_path, monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == ["True", "['deploy', 'deploy', 'rollback']"]
    assert "ndcg@10" in lines[0] or "coverage@10" in lines[0]
    assert "'metric'" in lines[1] and "'step': 3.0" in lines[1]
