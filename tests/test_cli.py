"""The command line, in-process (typer's runner) and as the installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from shoplens.cli import app

runner = CliRunner()
ORDERS = "order_id,customer_id,order_ts,total_amount\nA1,C1,2024-01-05,12.5\nA2,C2,bad,7\n"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_init_ingest_tables_quarantine_run(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert invoke("init", ws, "--timezone", "Europe/Berlin")[0] == 0
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    code, out = invoke("ingest", "orders", str(tmp_path / "o.csv"), "-w", ws, "--json")
    report = json.loads(out)
    assert code == 0 and (report["read"], report["loaded"], report["quarantined"]) == (2, 1, 1)
    code, out = invoke("tables", "-w", ws, "--json")
    assert json.loads(out)["tables"]["orders"] == 1
    code, out = invoke("quarantine", "show", "orders", "-w", ws, "--json")
    assert json.loads(out)[0]["reason"].startswith("order_ts: not a timestamp")
    code, out = invoke("run", "-w", ws, "--json")
    result = json.loads(out)
    assert code == 0 and result["steps"][0]["summary"]["tables"] == {"orders": 1}
    assert Path(result["report"]).exists()


def test_version_option_prints_the_packages_version() -> None:
    import shoplens

    code, out = invoke("--version")
    assert code == 0 and out.strip() == f"shoplens {shoplens.__version__}"


def test_ingest_reader_option_picks_the_csv_reader(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    invoke("init", ws)
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    code, out = invoke("ingest", "orders", str(tmp_path / "o.csv"), "-w", ws, "--reader", "python", "--json")
    assert code == 0 and json.loads(out)["reader"] == "python" and json.loads(out)["loaded"] == 1
    code, out = invoke("ingest", "orders", str(tmp_path / "o.csv"), "-w", ws, "--reader", "fastest")
    assert code == 1 and "unknown reader 'fastest'" in out


def test_errors_are_one_line_and_exit_nonzero(tmp_path: Path) -> None:
    code, out = invoke("tables", "-w", str(tmp_path / "nowhere"))
    assert code == 1 and "is not a shoplens workspace" in out and "Traceback" not in out
    ws = str(tmp_path / "ws")
    invoke("init", ws)
    code, out = invoke("ingest", "orderz", str(tmp_path / "x.csv"), "-w", ws)
    assert code == 1 and "unknown table 'orderz'" in out
    code, out = invoke("ingest", "orders", str(tmp_path / "x.csv"), "-w", ws, "--map", "nonsense")
    assert code == 1 and "expected SOURCE=CANONICAL" in out
    code, out = invoke("run", "-w", ws)
    assert code == 1 and "empty" in out


def test_entry_point_is_installed(tmp_path: Path) -> None:
    shoplens = Path(sys.executable).parent / "shoplens"
    done = subprocess.run([str(shoplens), "init", str(tmp_path / "ws"), "--json"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["timezone"] == "UTC"


def test_demo_simulates_runs_and_reports(tmp_path: Path) -> None:
    code, out = invoke("demo", "-w", str(tmp_path / "demo"), "--json")
    summary = json.loads(out)
    assert code == 0, out
    assert summary["tables"]["orders"] > 1000 and summary["tables"]["reviews"] > 100
    assert all(step["status"] == "ok" for step in summary["steps"])
    assert Path(summary["report"]).read_text(encoding="utf-8").count("<section") >= 2
    code, out = invoke("demo", "-w", str(tmp_path / "demo"))
    assert code == 1 and "already holds data" in out


def test_small_shop_fixture_is_coherent(small_shop) -> None:
    counts = small_shop.counts()
    assert counts["orders"] > 0 and counts["events"] > counts["orders"]
    runs = small_shop.ingest_runs()
    assert (runs["quarantined"] == 0).all() and (runs["read"] == runs["loaded"]).all()
    assert (Path(small_shop.path) / "truth" / "manifest.json").exists()
