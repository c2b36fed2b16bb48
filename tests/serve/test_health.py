"""Readiness says why the warehouse cannot be opened read-only (503 with a reason)."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import create_app
from shoplens.serve.registry import Capability
from shoplens.serve.routers import load_capabilities
from tests.serve.conftest import Keys, auth


def test_ready_when_the_warehouse_opens(client: TestClient) -> None:
    answer = client.get("/readyz").json()
    assert (answer["status"], answer["reason"]) == ("ready", None) and isinstance(answer["warm"], bool)


def test_ready_to_warm_only_once_the_warm_up_has_loaded_every_capability(ws: sl.Workspace) -> None:
    release = threading.Event()
    slow = Capability(name="slow-models", warm=lambda path: release.wait(30))
    app = create_app(ws.path, capabilities=[*load_capabilities(), slow])
    with TestClient(app) as client:
        warming = client.get("/readyz", params={"warm": "true"})
        assert warming.status_code == 503 and warming.headers["retry-after"] == "5"
        assert warming.json()["warm"] is False and "warming up" in warming.json()["reason"]
        assert client.get("/readyz").status_code == 200  # the warehouse opens: requests are served meanwhile
        release.set()
        assert app.state.shoplens.warm_up.done.wait(30)
        ready = client.get("/readyz", params={"warm": "true"})
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "reason": None, "warm": True}


def test_not_ready_without_a_workspace(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "missing")) as client:
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["status"] == "unavailable"
        assert "not a shoplens workspace" in answer.json()["reason"]
        assert client.get("/api/v1/tables", headers=auth("sl_00000000_x")).status_code == 401


def test_not_ready_while_another_writer_holds_the_warehouse(ws: sl.Workspace, client: TestClient,
                                                            keys: Keys) -> None:
    writer = duckdb.connect(str(ws.warehouse_path))  # stands in for another process writing
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert answer.json()["reason"]
        busy = client.get("/api/v1/tables", headers=auth(keys.read))
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    finally:
        writer.close()
    assert client.get("/readyz").status_code == 200
