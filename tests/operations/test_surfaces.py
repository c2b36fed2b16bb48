"""Drift and retraining where people see them: the command line, the REST API, the dashboard page, the report;
and the schedules of `shoplens serve --retrain`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app
from shoplens.data.synth import SimulatedShop
from shoplens.errors import InputError
from shoplens.retrain import parse_schedule
from shoplens.serve import create_key
from tests.conftest import copy_workspace
from tests.operations.conftest import SHIFT, SHIFTED_FEATURES
from tests.serve.conftest import auth, make_client


def test_cli_api_page_and_report_show_drift_and_decisions(champion_shop: sl.Workspace, shifted_shop: SimulatedShop,
                                                          tmp_path: Path) -> None:
    from shoplens.report import build_report

    ws = copy_workspace(champion_shop, tmp_path)
    runner = CliRunner()
    # nothing new since the champion was trained: --if-drift records the decision and trains nothing
    champion = ws.models.card("forecast").version
    retrain = runner.invoke(app, ["retrain", "-c", "forecast", "--if-drift", "--workspace", str(ws.path), "--json"])
    assert retrain.exit_code == 0, retrain.output
    [decision] = json.loads(retrain.output)
    assert not decision["deployed"] and decision["reason"].startswith("no drift alarm")
    assert ws.models.card("forecast").version == champion
    shifted_shop.period(SHIFT.day).write(ws)
    drift = runner.invoke(app, ["drift", "--workspace", str(ws.path), "--json"])
    assert drift.exit_code == 0, drift.output
    assert set(json.loads(drift.output)["alarms"]) == SHIFTED_FEATURES
    bad = runner.invoke(app, ["retrain", "-c", "graph", "--workspace", str(ws.path), "--json"])
    assert bad.exit_code != 0 and "cannot retrain" in json.loads(bad.output)["error"]

    key = create_key(ws, "read", "reader")
    with make_client(ws) as client:
        answer = client.get("/api/v1/drift", headers=auth(key))
        assert answer.status_code == 200
        statuses = {f["feature"]: f["status"] for f in answer.json()["features"]}
        assert {name for name, status in statuses.items() if status == "alarm"} == SHIFTED_FEATURES
        assert client.get("/api/v1/drift").status_code == 401
        assert client.get("/api/v1/drift?checks=0", headers=auth(key)).status_code == 422
        client.post("/login", data={"key": key, "next": "/"})
        page = client.get("/drift")
    assert page.status_code == 200
    assert 'data-feature="price_level"' in page.text and "alarm" in page.text
    assert "no drift alarm" in page.text and 'data-testid="decisions"' in page.text
    report = build_report(ws).read_text(encoding="utf-8")
    assert "Drift and retraining" in report and "category_mix" in report and "no drift alarm" in report


def test_schedules() -> None:
    daily = parse_schedule("daily 03:00")
    before = dt.datetime(2026, 12, 6, 2, 59, tzinfo=dt.UTC)
    assert daily.next_after(before) == dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
    after = daily.next_after(dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC))
    assert after == dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
    # the shop's timezone: 03:00 in Shanghai is 19:00 UTC the day before
    shanghai = daily.next_after(dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC), "Asia/Shanghai")
    assert shanghai.astimezone(dt.UTC) == dt.datetime(2026, 12, 6, 19, 0, tzinfo=dt.UTC)
    assert parse_schedule("every 30m").every_s == 1800 and parse_schedule("hourly").every_s == 3600
    for bad in ("daily", "daily 25:00", "every 0s", "weekly", "every 5x"):
        with pytest.raises(InputError, match="schedule"):
            parse_schedule(bad)
    result = CliRunner().invoke(app, ["serve", "--retrain", "sometimes", "--json"])
    assert result.exit_code != 0
