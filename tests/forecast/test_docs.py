"""docs/forecast.md opens with an example that runs as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_first_example

DOC = Path(__file__).resolve().parents[2] / "docs" / "forecast.md"


def test_opening_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture) -> None:
    run_first_example(DOC, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "reorder_point" in out and "shoplens" in out and "SeasonalNaive" in out
