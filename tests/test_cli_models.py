"""``shoplens models list|show|deploy|rollback|diff`` on real recommender versions (typer's runner, in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import shoplens as sl
from shoplens.registry import ModelRegistry
from tests.conftest import copy_workspace
from tests.test_cli import invoke


def as_json(*args: str) -> tuple[int, object]:
    code, out = invoke(*args, "--json")
    return code, json.loads(out)


def test_list_show_deploy_rollback_diff(model_versions: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(model_versions, tmp_path)
    where = ("-w", str(ws.path))
    sasrec, ease = (c.version for c in ModelRegistry(ws).versions("recommend"))
    code, models = as_json("models", "list", *where)
    assert code == 0 and models == [{"name": "recommend", "capability": "recommend", "versions": 2,
                                     "deployed": sasrec, "latest": ease, "rollback_to": None}]
    code, shown = as_json("models", "show", "recommend", *where)
    assert [(v["version"], v["deployed"]) for v in shown["versions"]] == [(sasrec, True), (ease, False)]
    code, card = as_json("models", "show", "recommend", sasrec, *where)
    assert card["params"]["model"] == "sasrec" and len(card["curves"][""]["train"]) == 3
    assert {r["role"] for r in card["metrics"]} == {"ours", "baseline"}
    code, event = as_json("models", "deploy", "recommend", ease, "--reason", "EASE is better", *where)
    assert code == 0 and (event["action"], event["version"], event["previous"]) == ("deploy", ease, sasrec)
    assert event["by"].startswith("cli") and event["reason"] == "EASE is better"
    code, event = as_json("models", "rollback", "recommend", *where)
    assert code == 0 and (event["action"], event["version"], event["previous"]) == ("rollback", sasrec, ease)
    assert ModelRegistry(ws).deployed_version("recommend") == sasrec
    code, diff = as_json("models", "diff", "recommend", "deployed", "latest", *where)
    assert code == 0 and (diff["a"], diff["b"]) == (sasrec, ease) and diff["data_fingerprint"]["same"]
    code, out = invoke("models", "diff", "recommend", sasrec, ease, *where)  # the table for people
    assert code == 0 and "parameters that differ" in out and "ndcg@10" in out and "same data" in out


def test_mistakes_are_one_line_and_exit_nonzero(model_versions: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(model_versions, tmp_path)
    where = ("-w", str(ws.path))
    code, out = invoke("models", "show", "recommnd", *where)
    assert code == 1 and "no model 'recommnd'" in out and "models here: recommend" in out and "Traceback" not in out
    code, out = invoke("models", "deploy", "recommend", "2020", *where)
    assert code == 1 and "has no version '2020'" in out
    code, error = as_json("models", "rollback", "recommend", *where)
    assert code == 1 and "nothing to roll back to" in error["error"]
    code, out = invoke("models", "show", "recommend", "../../secrets", *where)
    assert code == 1 and "use letters, digits" in out
