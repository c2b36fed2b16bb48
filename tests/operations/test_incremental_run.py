"""Incremental ``shoplens run`` (issue 14): a step whose inputs did not change is not run again; after one more day
of data the analytics tables equal a full run's, the kept models score the new rows, and ``--full-rerun`` redoes
everything. Real components on a small simulated shop, its last day ingested between the runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import shoplens as sl
from shoplens.pipeline import run
from shoplens.runstate import as_json
from tests.conftest import copy_workspace

CAPABILITIES = ["data", "analytics", "reviews", "recommend"]
ANALYTICS_TABLES = ("analytics_kpis_day", "analytics_kpis_month", "analytics_rfm", "analytics_cohorts",
                    "analytics_pair_counts", "analytics_clv", "analytics_churn")
DAYS = 150


@pytest.fixture(scope="module")
def shop() -> object:
    from shoplens.data.synth import simulate

    return simulate(n_customers=250, n_products=40, days=DAYS, seed=3, review_rate=0.3)


@pytest.fixture(scope="module")
def first_run(shop: object, tmp_path_factory: pytest.TempPathFactory) -> tuple[sl.Workspace, list]:
    """The shop less its last day, after one incremental run (the first: everything runs)."""
    ws = sl.Workspace.init(tmp_path_factory.mktemp("incremental") / "ws")
    shop.period(0, DAYS - 1).write(ws)
    results = run(ws, CAPABILITIES, profile="demo")
    assert [r for r in results if r.status == "failed"] == []
    return ws, results


def _table(ws: sl.Workspace, name: str) -> pd.DataFrame:
    frame = ws.sql(f'SELECT * FROM "{name}"')
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _text(summary: dict) -> str:
    """A summary as the run state keeps it (JSON; NaN written as NaN so that it compares equal)."""
    return json.dumps(as_json(summary), sort_keys=True)


def _statuses(results: list) -> dict[str, str]:
    return {f"{r.capability}.{r.stage}.{r.name}": r.status for r in results}


def test_a_rerun_on_unchanged_data_runs_nothing_again_and_changes_nothing(first_run: tuple, tmp_path: Path) -> None:
    ws = copy_workspace(first_run[0], tmp_path)
    before = {name: _table(ws, name) for name in (*ANALYTICS_TABLES, "recommend_top_k", "reviews_predictions")}
    deployed = {p.parent.name: p.read_text() for p in (ws.path / "models").glob("*/DEPLOYED")}
    results = run(ws, CAPABILITIES, profile="demo")
    statuses = _statuses(results)
    assert statuses.pop("data.prepare.check warehouse") == "ok"  # it names no inputs: it always runs
    assert set(statuses.values()) == {"unchanged"}, statuses
    assert all(r.notes and "unchanged" in r.notes[0] for r in results if r.status == "unchanged")
    for name, frame in before.items():
        pd.testing.assert_frame_equal(_table(ws, name), frame, obj=name)
    assert {p.parent.name: p.read_text() for p in (ws.path / "models").glob("*/DEPLOYED")} == deployed
    # the summaries of the kept results are those of the first run
    first = {f"{r.capability}.{r.stage}.{r.name}": _text(r.summary) for r in first_run[1]}
    kept = {f"{r.capability}.{r.stage}.{r.name}": _text(r.summary) for r in results if r.status == "unchanged"}
    assert kept == {key: first[key] for key in kept}


def test_full_rerun_runs_every_step(first_run: tuple, tmp_path: Path) -> None:
    ws = copy_workspace(first_run[0], tmp_path)
    results = run(ws, ["analytics"], profile="demo", full_rerun=True)
    assert set(_statuses(results).values()) == {"ok"}


def test_after_one_more_day_analytics_equal_a_full_run_and_kept_models_score_the_new_rows(
        shop: object, first_run: tuple, tmp_path: Path) -> None:
    incremental = copy_workspace(first_run[0], tmp_path / "incremental")
    shop.period(DAYS - 1).write(incremental)
    full = copy_workspace(incremental, tmp_path / "full")
    stars = (incremental.path / "models" / "reviews-stars" / "DEPLOYED").read_text()
    recommender = (incremental.path / "models" / "recommend" / "DEPLOYED").read_text()

    results = run(incremental, CAPABILITIES, profile="demo")
    by_step = {f"{r.capability}.{r.name}": r for r in results if r.stage != "evaluate"}
    assert all(r.status == "ok" for r in results), _statuses(results)
    # the kept models: same deployed versions, the new rows scored, said so in the notes
    assert (incremental.path / "models" / "reviews-stars" / "DEPLOYED").read_text() == stars
    assert (incremental.path / "models" / "recommend" / "DEPLOYED").read_text() == recommender
    assert by_step["reviews.train"].summary["kept"] and any("kept" in n for n in by_step["reviews.train"].notes)
    scored = incremental.sql("SELECT count(*) AS n FROM reviews_predictions")["n"][0]
    reviews = incremental.sql("SELECT count(*) AS n FROM reviews WHERE coalesce(body, title, '') <> ''")["n"][0]
    assert scored == reviews and by_step["reviews.deploy"].summary["stored"]["new reviews"] > 0
    deploy = by_step["recommend.recommender"].summary
    assert deploy["customers rescored"] > 0, deploy
    last_day = incremental.sql("SELECT DISTINCT customer_id FROM interactions WHERE ts >= (SELECT max(ts) FROM "
                               "interactions) - INTERVAL 20 HOUR")["customer_id"]
    known = set(incremental.sql("SELECT DISTINCT customer_id FROM recommend_top_k")["customer_id"])
    assert set(last_day) & known, "customers active on the last day keep their top 10"

    full_results = run(full, CAPABILITIES, profile="demo", full_rerun=True)
    assert all(r.status == "ok" for r in full_results)
    for name in ANALYTICS_TABLES:
        pd.testing.assert_frame_equal(_table(incremental, name), _table(full, name), obj=name)
    # the full rerun retrained: new versions deployed
    assert (full.path / "models" / "reviews-stars" / "DEPLOYED").read_text() != stars
