"""Champion and challenger: a retrain on unchanged data does not deploy; after the demand shift it does; every
decision is recorded in the registry; a deploy cut short is finished or forgotten."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import shoplens as sl
from shoplens.data.synth import SimulatedShop
from shoplens.errors import InputError
from shoplens.forecast.store import published_version
from shoplens.retrain import INTENT_FILE, contenders, recover, retrain
from tests.conftest import copy_workspace
from tests.operations.conftest import SHIFT, SHIFTED_FEATURES


def test_retrain_on_unchanged_data_does_not_deploy(champion_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(champion_shop, tmp_path)
    champion = ws.models.card("forecast").version
    [decision] = retrain(ws, "forecast", profile="demo")
    assert not decision.deployed and decision.gain == 0 and decision.reason.startswith("no gain")
    # the champion saw the window: its recipe was trained again up to the same cut-off as the challenger
    assert decision.champion["refit"] and decision.champion["version"] == champion
    assert decision.champion["value"] == decision.challenger["value"]
    assert decision.window["days"] == 28 and decision.drift_alarms == []
    assert ws.models.card("forecast").version == champion and len(ws.models.versions("forecast")) == 1
    [recorded] = ws.models.decisions("forecast")
    assert recorded["deployed"] is False and recorded["window"] == decision.window
    assert recorded["champion"]["value"] == decision.champion["value"]


def test_if_drift_skips_a_retrain_without_an_alarm(champion_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(champion_shop, tmp_path)
    [decision] = retrain(ws, "forecast", if_drift=True)
    assert not decision.deployed and "no drift alarm" in decision.reason and decision.challenger is None
    assert ws.models.decisions("forecast")[-1]["reason"] == decision.reason


def test_retrain_after_the_demand_shift_deploys(champion_shop: sl.Workspace, shifted_shop: SimulatedShop,
                                                tmp_path: Path) -> None:
    ws = copy_workspace(champion_shop, tmp_path)
    champion = ws.models.card("forecast").version
    shifted_shop.period(SHIFT.day).write(ws)
    [decision] = retrain(ws, "forecast", if_drift=True, min_gain=0.05)
    assert set(decision.drift_alarms) == SHIFTED_FEATURES
    # the champion, trained before the shift, forecasts the window as it is; the challenger saw the new level
    assert not decision.champion["refit"] and decision.champion["version"] == champion
    assert decision.challenger["value"] < decision.champion["value"] and decision.gain >= 0.05
    assert decision.deployed and decision.deployed_version != champion
    assert ws.models.card("forecast").version == decision.deployed_version
    assert published_version(ws) == decision.deployed_version  # the service reads the new forecast and plan
    plan_versions = ws.sql("SELECT DISTINCT model_version FROM inventory_plan")["model_version"].tolist()
    assert plan_versions == [decision.deployed_version]
    new_card = ws.models.card("forecast")
    assert new_card.params["params"]["models"] == ["SeasonalProfile"]  # the champion's recipe, on all the data
    recorded = ws.models.decisions("forecast")[-1]
    assert recorded["deployed"] and recorded["deployed_version"] == decision.deployed_version
    shift_day = (dt.date(2024, 1, 1) + dt.timedelta(days=SHIFT.day)).isoformat()
    assert recorded["window"]["training_cutoff"] > shift_day  # the challenger trained on days after the shift
    assert recorded["reason"].startswith("the challenger")


def test_a_deploy_cut_short_is_finished_or_forgotten(champion_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(champion_shop, tmp_path)
    plan = contenders("forecast")["forecast"]
    champion = ws.models.card("forecast").version
    new = plan.train_final(ws, "demo")
    intent = ws.models.root / "forecast" / INTENT_FILE
    # killed after the intent, before the publish committed: the champion still serves everywhere
    intent.write_text(json.dumps({"version": new}), encoding="utf-8")
    assert "previous version serves" in recover(ws)[0]
    assert ws.models.card("forecast").version == champion and published_version(ws) != new
    # killed after the publish committed, before the pointer moved: the deploy is finished
    intent.write_text(json.dumps({"version": new}), encoding="utf-8")
    plan.publish(ws, new)
    assert "finished" in recover(ws)[0]
    assert ws.models.card("forecast").version == new == published_version(ws)
    assert not intent.exists() and recover(ws) == []


def test_bad_retrain_requests_are_refused(champion_shop: sl.Workspace) -> None:
    with pytest.raises(InputError, match="cannot retrain"):
        retrain(champion_shop, "graph")
    with pytest.raises(InputError, match="min_gain"):
        retrain(champion_shop, min_gain=-1)
    with pytest.raises(InputError, match="window"):
        retrain(champion_shop, window_days=0)
