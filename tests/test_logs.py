"""Library warnings (torch's TracerWarning during an ONNX export, a library's UserWarning) go to the workspace's
log, not to the terminal, when the command line runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shoplens as sl

# The real entry point in a fresh process, with one step registered that warns the way the encoders'
# export does: torch traces a module whose output depends on a tensor's value (a TracerWarning), and a
# library warns through Python's warnings.
WARNING_STEP = """
import sys, warnings
import torch
from shoplens.pipeline import step
from shoplens.text.onnx import export_onnx

class Branchy(torch.nn.Module):
    def forward(self, x):
        return x * 2 if x.sum() > 0 else x

@step("probe", "train", "export")
def export(ctx):
    export_onnx(Branchy(), (torch.ones(2, 3),), ctx.ws.dir("tmp") / "probe.onnx", input_names=["x"],
                output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    warnings.warn("a library's advice", UserWarning)
    return {"exported": True}

from shoplens.cli import main
sys.argv = ["shoplens", *sys.argv[1:]]
main()
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WARNING_STEP, *args], capture_output=True, text=True, check=False,
                          timeout=300)


def test_library_warnings_go_to_the_workspace_log(tmp_path: Path) -> None:
    ws = sl.Workspace.init(tmp_path / "ws")
    done = run_cli("run", "-c", "probe", "-w", str(ws.path))
    terminal = done.stdout + done.stderr
    assert done.returncode == 0, terminal
    assert "Warning" not in terminal and "export_onnx" not in terminal, terminal
    assert "probe" in done.stdout and "ok" in done.stdout  # our results are still shown
    assert "2 library warnings in" in done.stderr and "logs/shoplens.log" in done.stderr
    log = (ws.path / "logs" / "shoplens.log").read_text(encoding="utf-8")
    assert "TracerWarning: Converting a tensor to a Python boolean" in log
    assert "UserWarning: a library's advice" in log
    assert "run: probe · export started" in log and "run: probe · export ok" in log  # which step warned

    again = run_cli("run", "-c", "probe", "-w", str(ws.path), "--json")
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert json.loads(again.stdout)["steps"][0]["status"] == "ok"
    log = (ws.path / "logs" / "shoplens.log").read_text(encoding="utf-8")
    assert log.count("UserWarning: a library's advice") == 2  # appended, not overwritten
