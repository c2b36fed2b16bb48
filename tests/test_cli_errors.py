"""Errors of the command line under ``--json``: one JSON object on stdout naming what is wrong and where, the
exit status unchanged (1 for errors, 2 for usage errors); without ``--json`` a line on stderr as before."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from shoplens import pipeline
from shoplens.cli import app
from shoplens.errors import InputError

runner = CliRunner()
ORDERS = "order_id,customer_id,order_ts,total_amount\n" + "".join(
    f"A{i},C{i % 7},2024-01-{1 + i % 28:02d},{i % 50}.5\n" for i in range(20_000))


def json_error(*args: str, exit_code: int = 1) -> dict[str, Any]:
    """Run the CLI with ``--json``; the error it printed, after checking that stdout holds exactly one JSON
    object with the four fields and stderr nothing."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == exit_code, (result.exit_code, result.output)
    error = json.loads(result.stdout)  # one JSON document, nothing around it
    assert isinstance(error, dict) and set(error) == {"error", "file", "row", "column"}, error
    assert error["error"] and "\n" not in error["error"] and "Traceback" not in result.output
    assert result.stderr == "", result.stderr
    return error


@pytest.fixture
def ws(tmp_path: Path) -> str:
    path = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", path]).exit_code == 0
    return path


def test_ingest_errors_are_json_with_file_row_and_column(ws: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    error = json_error("ingest", "customers", str(empty), "-w", ws)
    assert error["file"] == str(empty) and "the file is empty" in error["error"]

    missing = tmp_path / "missing.csv"
    error = json_error("ingest", "customers", str(missing), "-w", ws)
    assert error["file"] == str(missing) and "no such file" in error["error"]

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("foo,bar\n1,2\n", encoding="utf-8")
    error = json_error("ingest", "orders", str(wrong), "-w", ws)
    assert (error["file"], error["column"]) == (str(wrong), "order_id") and "missing key column" in error["error"]

    repeated = tmp_path / "repeated.csv"
    repeated.write_text("order_id,order_id\nA,B\n", encoding="utf-8")
    error = json_error("ingest", "orders", str(repeated), "-w", ws)
    assert (error["file"], error["row"]) == (str(repeated), 0) and "repeats column names" in error["error"]

    truncated = tmp_path / "orders.csv.gz"
    truncated.write_bytes(gzip.compress(ORDERS.encode())[:40_000])
    error = json_error("ingest", "orders", str(truncated), "-w", ws)
    assert error["file"] == str(truncated) and "end abruptly" in error["error"]

    binary = tmp_path / "noise.csv"
    binary.write_bytes(bytes(range(256)) * 64)
    error = json_error("ingest", "orders", str(binary), "-w", ws)
    assert error["file"] == str(binary) and "encoding" in error["error"]

    good = tmp_path / "orders.csv"
    good.write_text(ORDERS, encoding="utf-8")
    error = json_error("ingest", "orderz", str(good), "-w", ws)
    assert "unknown table 'orderz'" in error["error"] and error["file"] is None

    error = json_error("ingest", "orders", str(good), "-w", ws, "--map", "Nope=order_id")
    assert (error["file"], error["column"]) == (str(good), "Nope")
    assert json.loads(runner.invoke(app, ["tables", "-w", ws, "--json"]).stdout)["tables"]["orders"] == 0


def test_a_system_error_is_an_error_not_a_traceback(ws: str) -> None:
    reports = Path(ws) / "reports"
    reports.rmdir()
    reports.write_text("a file where the reports folder belongs", encoding="utf-8")
    error = json_error("report", "-w", ws)
    assert error["file"] == str(reports) and "File exists" in error["error"]
    result = runner.invoke(app, ["report", "-w", ws])
    assert result.exit_code == 1 and "File exists" in result.stderr and "Traceback" not in result.output


def _broken(ctx: pipeline.RunContext) -> dict:
    raise InputError("a parameter out of range", column="alpha")


def test_a_run_with_failed_steps_says_so_in_its_json(ws: str) -> None:
    pipeline.registered_steps()  # the capabilities' own steps first, so that restoring keeps them
    before = list(pipeline._STEPS)
    pipeline.step("probe", "train", "broken")(_broken)
    try:
        result = runner.invoke(app, ["run", "-c", "probe", "-w", ws, "--json"])
    finally:
        pipeline._STEPS[:] = before
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["error"] == "1 step failed: probe · broken"
    assert out["steps"][0]["error"] == "column 'alpha': a parameter out of range"


def test_without_json_errors_stay_one_line_on_stderr(ws: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "customers", str(tmp_path / "missing.csv"), "-w", ws])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == f"error: {tmp_path / 'missing.csv'}: no such file"


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = []
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue  # a deprecated alias (``shoplens inventory``): its commands are listed where they live now
        found += _commands(command, (*path, name)) if hasattr(command, "commands") else [((*path, name), command)]
    return found


def _options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


# every command that reads an existing workspace (the others create one or have none; serve prints no JSON)
WORKSPACE_COMMANDS = [(path, command) for path, command in _commands(typer.main.get_command(app))
                      if "--workspace" in _options(command) and path[0] not in ("simulate", "demo", "serve")]


def test_every_capability_group_is_covered() -> None:
    groups = {path[:-1] for path, _ in WORKSPACE_COMMANDS if len(path) > 1}
    assert {("analyze",), ("reviews",), ("recommend",), ("forecast",), ("forecast", "inventory"),
            ("pricing",)} <= groups, groups


@pytest.mark.parametrize("path", [p for p, _ in WORKSPACE_COMMANDS], ids=" ".join)
def test_every_command_answers_json_on_error(path: tuple[str, ...], tmp_path: Path) -> None:
    command = dict(WORKSPACE_COMMANDS)[path]
    assert "--json" in _options(command), f"{' '.join(path)} has no --json"
    arguments = ["x" for param in command.params if param.param_type_name == "argument" and param.required]
    nowhere = tmp_path / "nowhere"
    error = json_error(*path, *arguments, "-w", str(nowhere))
    if path == ("reviews", "predict"):  # checks its arguments before it opens the workspace
        assert "give review texts" in error["error"]
    else:
        assert "is not a shoplens workspace" in error["error"] and error["file"] == str(nowhere)


def test_commands_that_create_a_workspace_answer_json_on_error(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a folder", encoding="utf-8")
    assert json_error("init", str(a_file))["file"] == str(a_file)
    assert "unknown timezone" in json_error("init", str(tmp_path / "ws"), "--timezone", "Mars/Olympus")["error"]
    assert "--difficulty" in json_error("simulate", "--difficulty", "hard", "-w", str(tmp_path / "sim"))["error"]
    orders = tmp_path / "o.csv"
    orders.write_text(ORDERS[:200], encoding="utf-8")
    assert runner.invoke(app, ["ingest", "orders", str(orders), "-w", str(tmp_path / "ws2"), "--json"]).exit_code == 1
    assert runner.invoke(app, ["init", str(tmp_path / "ws2")]).exit_code == 0
    assert runner.invoke(app, ["ingest", "orders", str(orders), "-w", str(tmp_path / "ws2")]).exit_code == 0
    assert "already holds data" in json_error("demo", "-w", str(tmp_path / "ws2"))["error"]


@pytest.mark.parametrize("args", [
    ("quarantine", "show", "orders", "--limit", "many"),  # a bad option value
    ("ingest",),                                          # a missing argument
    ("tables", "--bogus"),                                # an unknown option
    ("analyze", "kpis", "--last", "0"),                   # inside a capability group
    ("serve", "--port", "x"),                             # a command without --json
])
def test_usage_errors_are_json_with_exit_status_2(args: tuple[str, ...]) -> None:
    error = json_error(*args, exit_code=2)
    assert error["file"] is None
    plain = runner.invoke(app, list(args))
    assert plain.exit_code == 2 and plain.stdout == "" and plain.stderr  # click's own text without --json
