"""``shoplens analyze …`` on a copy of the tiny shop: tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app
from tests.analytics.conftest import copy_workspace

runner = CliRunner()


@pytest.fixture
def shop(tiny_shop: sl.Workspace, tmp_path: Path) -> str:
    return str(copy_workspace(tiny_shop, tmp_path / "ws").path)


def analyze(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["analyze", *args])
    return result.exit_code, result.output


def test_analyses_print_json_and_store_tables(shop: str) -> None:
    code, out = analyze("kpis", "--grain", "month", "-w", shop, "--json")
    rows = json.loads(out)
    assert code == 0 and {r["revenue"] for r in rows if r["dimension"] == "all"} == {65.0, 40.0, 25.0}
    code, out = analyze("rfm", "-w", shop, "--json")
    assert code == 0 and json.loads(out)["customers"] == 4
    code, out = analyze("funnel", "--step", "view", "--step", "cart=add_to_cart|checkout", "--step", "purchase",
                        "-w", shop, "--json")
    assert code == 0 and [s["entities"] for s in json.loads(out)["steps"]] == [5, 4, 2]
    code, out = analyze("cohorts", "--breakdown", "country", "-w", shop)
    assert code == 0 and "retention" in out and "│ 2024-01 │ 1 │ 0 │ 1 │" in out  # DE: C1 in Jan and Mar
    tables = sl.Workspace.open(shop).table_names()
    assert {"analytics_kpis_month", "analytics_rfm", "analytics_rfm_segments", "analytics_funnel",
            "analytics_cohorts"} <= set(tables)


def test_tables_for_people(shop: str) -> None:
    code, out = analyze("rfm", "-w", shop)
    assert code == 0 and "RFM segments" in out and "│ loyal" in out and "hibernating" in out
    code, out = analyze("baskets", "--min-support", "0.2", "-w", shop)
    assert code == 0 and "top rules" in out


def test_errors_are_one_line(shop: str) -> None:
    code, out = analyze("funnel", "--step", "view", "--step", "teleport", "-w", shop)
    assert code == 1 and "unknown event type 'teleport'" in out and "Traceback" not in out
    code, out = analyze("kpis", "--grain", "decade", "-w", shop)
    assert code == 1 and "grain 'decade'" in out
    code, out = analyze("clv", "-w", shop)  # four customers cannot fit BG/NBD
    assert code == 1 and "BG/NBD needs at least" in out
    code, out = analyze("rfm", "-w", str(Path(shop).parent / "missing"))
    assert code == 1 and "not a shoplens workspace" in out
    code, out = analyze("kpis", "--dimension", "planet", "-w", shop)
    assert code == 1 and "--dimension 'planet'" in out
    code, out = analyze("all", "--profile", "huge", "-w", shop)
    assert code == 1 and "--profile 'huge'" in out
    code, out = analyze("baskets", "--top", "0", "-w", shop)
    assert code == 2 and "--top" in out  # typer's range check: a usage error
    code, out = analyze("cohorts", "--measure", "happiness", "-w", shop)
    assert code == 1 and "no cohort measure 'happiness'" in out


def test_model_settings_are_checked_before_the_data(tiny_shop: sl.Workspace) -> None:
    from shoplens.analytics.churn import ChurnModel
    from shoplens.analytics.clv import CLVModel
    from shoplens.errors import InputError

    for model, message in ((CLVModel(months=0), "months 0"), (CLVModel(discount_rate=-0.1), "discount_rate"),
                           (ChurnModel(horizon_days=0), "horizon_days 0"), (ChurnModel(learning_rate=0), "learning")):
        with pytest.raises(InputError, match=message):
            model.fit(tiny_shop)
