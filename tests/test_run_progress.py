"""A run cut short — Ctrl-C, a killed process — is told from a finished one: ``run`` records its progress in the
workspace, and ``shoplens report`` (its line, its ``--json`` and the HTML report) names what did not run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shoplens as sl
from shoplens import pipeline
from shoplens.cli import app

runner = CliRunner()
INTERRUPT = {"on": True}


def _first(ctx: pipeline.RunContext) -> dict:
    return {"rows": 1}


def _interrupt(ctx: pipeline.RunContext) -> dict:
    if INTERRUPT["on"]:
        raise KeyboardInterrupt  # what Ctrl-C raises in the middle of a step
    return {}


@pytest.fixture
def probe_steps() -> Iterator[None]:
    """Three steps of a capability 'probe' (prepare, train, deploy); the train step is interrupted."""
    pipeline.registered_steps()  # the capabilities' own steps first, so that restoring keeps them
    before = list(pipeline._STEPS)
    pipeline.step("probe", "prepare", "first")(_first)
    pipeline.step("probe", "train", "interrupt")(_interrupt)
    pipeline.step("probe", "deploy", "last")(_first)
    INTERRUPT["on"] = True
    yield
    pipeline._STEPS[:] = before


def report_json(ws: Path) -> dict:
    result = runner.invoke(app, ["report", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_after_an_interrupted_run_names_what_did_not_run(probe_steps: None, tmp_path: Path) -> None:
    ws = sl.Workspace.init(tmp_path / "ws").path
    interrupted = runner.invoke(app, ["run", "-c", "probe", "-w", str(ws)])
    assert interrupted.exit_code == 130, interrupted.output

    out = report_json(ws)
    last = out["last_run"]
    assert (last["finished"], last["state"]) == (False, "interrupted")
    assert [(s["capability"], s["name"], s["status"]) for s in last["missing_steps"]] == [
        ("probe", "interrupt", "interrupted"), ("probe", "last", "not started")]
    assert last["missing_stages"] == ["features and training", "deployment"]
    assert (last["steps_done"], last["steps_planned"]) == (1, 3)

    page = Path(out["report"]).read_text(encoding="utf-8")
    banner = page.split('<div class="unfinished"', 1)[1].split("</div>", 1)[0]
    assert "The last run did not finish" in banner and "interrupted" in banner
    assert "features and training" in banner and "deployment" in banner and "probe · last" in banner

    plain = runner.invoke(app, ["report", "-w", str(ws)])
    assert plain.exit_code == 0 and "the last run did not finish" in plain.output
    assert "missing: features and training, deployment" in plain.output

    INTERRUPT["on"] = False
    assert runner.invoke(app, ["run", "-c", "probe", "-w", str(ws)]).exit_code == 0
    out = report_json(ws)
    assert out["last_run"]["finished"] is True and out["last_run"]["missing_steps"] == []
    assert '<div class="unfinished"' not in Path(out["report"]).read_text(encoding="utf-8")


def test_report_without_any_run_has_no_run_to_speak_of(tmp_path: Path) -> None:
    ws = sl.Workspace.init(tmp_path / "ws").path
    assert report_json(ws)["last_run"] is None


# A run in its own process whose one step waits; the test kills the process (SIGKILL: nothing can be written
# on the way out) while the step is running.
SLOW_RUN = """
import sys, time
from shoplens.pipeline import step

@step("probe", "prepare", "quick")
def quick(ctx):
    return {}

@step("probe", "train", "slow")
def slow(ctx):
    time.sleep(120)
    return {}

from shoplens.cli import main
sys.argv = ["shoplens", *sys.argv[1:]]
main()
"""


def test_report_after_a_killed_run_names_what_did_not_run(tmp_path: Path) -> None:
    ws = sl.Workspace.init(tmp_path / "ws").path
    process = subprocess.Popen([sys.executable, "-c", SLOW_RUN, "run", "-c", "probe", "-w", str(ws)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = ws / "reports" / "run-progress.json"
    try:
        deadline = time.monotonic() + 120
        while not (progress.exists() and '"running"' in progress.read_text(encoding="utf-8")):
            assert time.monotonic() < deadline and process.poll() is None, "the run never reached its slow step"
            time.sleep(0.2)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    last = report_json(ws)["last_run"]
    assert (last["finished"], last["state"]) == (False, "stopped")
    assert [(s["name"], s["status"]) for s in last["missing_steps"]] == [("slow", "running")]
    assert last["missing_stages"] == ["features and training"]
