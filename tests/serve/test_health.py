"""Readiness says why the warehouse cannot be opened read-only (503 with a reason)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import create_app
from tests.serve.conftest import Keys, auth


def test_ready_when_the_warehouse_opens(client: TestClient) -> None:
    assert client.get("/readyz").json() == {"status": "ready", "reason": None}


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
