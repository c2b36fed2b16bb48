"""Shared fixtures. Tests read real datasets from ../shared/data and skip only when it is absent;
with CI=true any other skip fails the run (DESIGN.md, "Reliability rules")."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import shoplens as sl

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
MISSING_DATA_REASON = "shared data absent"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; skips the test (for that reason only) when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{MISSING_DATA_REASON}: {SHARED_DATA}")
    return SHARED_DATA.joinpath(*parts)


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture
def workspace(tmp_path: Path) -> sl.Workspace:
    """A fresh, empty workspace for one test."""
    return sl.Workspace.init(tmp_path / "ws")


@pytest.fixture(scope="session")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """One small simulated shop for the whole run (with its truth in truth/). Tests only read it: a test
    that writes makes its own workspace."""
    from shoplens.data.synth import simulate

    ws = sl.Workspace.init(tmp_path_factory.mktemp("small_shop") / "ws")
    simulate(n_customers=400, n_products=60, days=240, seed=7).write(ws)
    return ws


@pytest.fixture(scope="session")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """The demo shop after ``shoplens run --profile demo``: every capability trained, evaluated and deployed,
    with the report written (about 90 s, once per test run). Tests only read it: a test that writes works on
    ``copy_workspace(demo_shop, tmp_path)``."""
    from shoplens.cli import DEMO_SHOP
    from shoplens.data.synth import simulate
    from shoplens.pipeline import run
    from shoplens.report import build_report

    ws = sl.Workspace.init(tmp_path_factory.mktemp("demo_shop") / "ws", name="demo shop")
    simulate(**DEMO_SHOP, seed=0).write(ws)
    results = run(ws, profile="demo")
    failed = [f"{r.capability}.{r.name}: {r.error}" for r in results if r.status != "ok"]
    assert not failed, failed
    build_report(ws, results)
    return ws


@pytest.fixture(scope="session")
def model_versions(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """The small shop with two real recommender versions, each evaluated beside popularity: SASRec (trained in 3
    epochs: ``curves.json``), deployed, then EASE (fitted in one go: no curves), registered only. Tests only read
    it: a test that deploys works on ``copy_workspace(model_versions, tmp_path)``."""
    from shoplens.recommend import api as rec

    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("model_versions"))
    rec.train(ws, "sasrec", params={"max_epochs": 3, "dim": 16}, deploy=True)
    rec.train(ws, "ease")
    return ws


def copy_workspace(ws: sl.Workspace, folder: Path) -> sl.Workspace:
    """A writable copy of a workspace (the lock file is left behind)."""
    import shutil

    target = folder / "ws-copy"
    shutil.copytree(ws.path, target, ignore=shutil.ignore_patterns("warehouse.lock", "*.wal"))
    return sl.Workspace.open(target)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (UTC, small shuffles, no UI)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (extra shoplens[spark])")
    from pyspark.sql import SparkSession

    from shoplens.engine.cluster import python_for_executors

    os.environ.setdefault("PYSPARK_PYTHON", python_for_executors())  # executors score models with this Python
    session = (SparkSession.builder.master("local[2]").appName("shoplens-tests")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.memory", "2g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


_BAD_SKIPS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Under CI=true, remember every skip that is not for missing shared data."""
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        if MISSING_DATA_REASON not in reason:
            _BAD_SKIPS.append(f"{report.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _BAD_SKIPS:
        terminalreporter.section("skips not allowed under CI=true", red=True)
        for line in _BAD_SKIPS:
            terminalreporter.line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _BAD_SKIPS and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def run_first_example(doc: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the first ```python block of ``doc`` as written, in ``folder``; what it prints is the test's to read."""
    code = re.search(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert code, f"{doc.name} lost its opening example"
    monkeypatch.chdir(folder)
    exec(compile(code.group(1), str(doc), "exec"), {})
