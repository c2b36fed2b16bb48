"""docs/pricing.md opens with an example that runs as written (in a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_first_example

DOC = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"


def test_the_opening_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    run_first_example(DOC, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "elasticity" in out and "[]" in out  # the table, and no constraint violated


def test_every_command_and_endpoint_is_documented() -> None:
    from shoplens.pricing.cli import app
    from shoplens.serve.routers.pricing import router

    doc = DOC.read_text(encoding="utf-8")
    commands = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]
    assert set(commands) == {"elasticity", "optimize", "plan-test", "analyze-test", "identify"}
    for command in commands:
        assert f"| `shoplens pricing {command}" in doc, f"command {command} lacks its row in docs/pricing.md"
    for route in router.routes:
        for method in route.methods:
            assert f"{method} {route.path}" in doc, f"{method} {route.path} is not documented"
    assert "GET /pricing" in doc  # the dashboard page
