"""kill -9 in the middle of writes: of ``shoplens ingest`` at several points of a large ingest (the warehouse opens,
holds exactly the previous state, and the rerun loads everything), and of the service while its background
retraining deploys a new forecaster (after a restart one complete version serves: registry pointer, model folder,
forecast and inventory plan all of the same version)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

import shoplens as sl
from shoplens.data.synth import SimulatedShop, write_order_lines
from shoplens.forecast.forecaster import Forecaster
from shoplens.retrain import INTENT_FILE
from shoplens.serve import create_key
from tests.conftest import copy_workspace
from tests.operations.conftest import SHIFT
from tests.serve.conftest import auth, child_env, service_process

BIG_LINES = 150_000
KILL_FRACTIONS = (0.2, 0.5, 0.8)  # of the time a whole ingest takes: staging early, halfway, late


def _ingest_command(ws: sl.Workspace, path: Path) -> list[str]:
    return [sys.executable, "-m", "shoplens.cli", "ingest", "order_items", str(path), "--workspace", str(ws.path),
            "--json"]


def state_of(ws: sl.Workspace) -> tuple:
    """What the warehouse holds, exactly: rows and a hash of every value of order_items, and the ingest runs."""
    with ws.connect() as con:
        lines = con.execute("SELECT count(*), sum(hash(order_id, line_no, product_id, quantity, unit_price, discount, "
                            "_source_row)) FROM order_items").fetchone()
        runs = con.execute("SELECT count(*), string_agg(run_id, ',' ORDER BY run_id) FROM ingest_runs").fetchone()
    return lines, runs


def kill_ingest_after(ws: sl.Workspace, path: Path, seconds: float) -> int:
    """Start ``shoplens ingest`` and SIGKILL it after ``seconds``; its exit status (-9 when the kill landed)."""
    process = subprocess.Popen(_ingest_command(ws, path), env=child_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    return process.wait(60)


def test_kill_9_of_a_large_ingest_leaves_the_previous_state(workspace: sl.Workspace, tmp_path: Path) -> None:
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_order_lines(small, 20_000, seed=1, format="csv")
    write_order_lines(big, BIG_LINES, seed=2, format="csv")
    first = subprocess.run(_ingest_command(workspace, small), env=child_env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    previous = state_of(workspace)
    base = copy_workspace(workspace, tmp_path / "base")  # the previous state, to start again from
    # how long a whole ingest of the big file takes, measured on a copy
    copy = copy_workspace(workspace, tmp_path / "timing")
    clock = time.perf_counter()
    assert subprocess.run(_ingest_command(copy, big), env=child_env(), capture_output=True).returncode == 0
    whole = time.perf_counter() - clock
    complete = state_of(copy)
    landed = []
    for attempt, fraction in enumerate(KILL_FRACTIONS):
        delay = fraction * whole
        for retry in range(4):
            killed = kill_ingest_after(workspace, big, delay) == -signal.SIGKILL
            after = state_of(sl.Workspace.open(workspace.path))
            if killed and after == previous:
                break
            # the ingest committed before the kill (a quieter machine than when timed): then it holds the whole
            # new state, never a part of it; back to the previous state, and kill earlier
            assert after[0] == complete[0] and after[1][0] == previous[1][0] + 1, f"a part at {delay:.2f} s"
            workspace = copy_workspace(base, tmp_path / f"again-{attempt}-{retry}")
            delay *= 0.6
        else:
            raise AssertionError(f"the ingest always committed before the kill at {delay:.2f} s")
        landed.append(round(delay, 2))
    assert len(landed) == len(KILL_FRACTIONS)
    rerun = subprocess.run(_ingest_command(workspace, big), env=child_env(), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    lines, runs = state_of(workspace)
    assert runs[0] == previous[1][0] + 1
    assert lines == complete[0]  # the rerun loads everything, as the uninterrupted ingest did
    report = workspace.ingest_runs("order_items").iloc[0]
    assert report["read"] == BIG_LINES == report["loaded"] + report["quarantined"]


def service(ws: sl.Workspace, *extra: str) -> contextlib.AbstractContextManager[tuple[subprocess.Popen, str]]:
    """``shoplens serve`` of the workspace as its own process; yields it and its base URL once it answers."""
    return service_process(lambda port: [sys.executable, "-m", "shoplens.cli", "serve", "--workspace",
                                         str(ws.path), "--port", str(port), *extra],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_of_the_service_during_a_deploy(champion_shop: sl.Workspace, shifted_shop: SimulatedShop,
                                               tmp_path: Path) -> None:
    ws = copy_workspace(champion_shop, tmp_path)
    champion = ws.models.card("forecast").version
    shifted_shop.period(SHIFT.day).write(ws)  # a retrain now deploys (test_retrain)
    key = create_key(ws, "read", "crash test")
    intent = ws.models.root / "forecast" / INTENT_FILE
    with service(ws, "--retrain", "every 1s") as (process, _):
        deadline = time.monotonic() + 300
        while not intent.exists():  # the background retrain reached its deploy
            assert time.monotonic() < deadline and process.poll() is None, "no deploy started"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    with ws.write_lock("test: the killed retrain's child is gone", timeout=30):
        pass  # the child died with the service (it held the lock while deploying)
    with service(ws) as (_, url):
        served = httpx.get(url + "/api/v1/forecast", headers=auth(key), timeout=30)
        plan = httpx.get(url + "/api/v1/inventory/plan", headers=auth(key), timeout=30)
    assert served.status_code == 200 and plan.status_code == 200, (served.text, plan.text)
    deployed = ws.models.card("forecast").version
    assert not intent.exists()  # the service finished or forgot the deploy at start
    assert served.json()["model_version"] == deployed
    assert {row["model_version"] for row in plan.json()["rows"]} == {deployed}
    assert deployed in (champion, *(c.version for c in ws.models.versions("forecast")))
    model = Forecaster.load(ws.models.path("forecast", deployed))  # the version's folder is complete
    assert len(model.predict(7)) > 0
