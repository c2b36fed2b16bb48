"""API keys: hashed at rest, roles read < write < admin, 401 without a valid key, 403 below the role."""

from __future__ import annotations

import json
import stat

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import Role, create_key, list_keys, revoke_key
from tests.serve.conftest import Keys, auth

PROTECTED_READS = ["/api/v1/tables", "/api/v1/tables/orders", "/api/v1/quarantine", "/api/v1/quarantine/orders"]


def test_a_key_is_shown_once_and_stored_hashed(ws: sl.Workspace) -> None:
    key = create_key(ws, "write", "ci upload")
    key_file = ws.path / "secrets" / "api_keys.json"
    stored = key_file.read_text()
    secret = key.split("_", 2)[2]
    assert secret not in stored
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((ws.path / "secrets").stat().st_mode) == 0o700
    record = json.loads(stored)["keys"][0]
    assert record["kdf"]["name"] == "scrypt" and len(bytes.fromhex(record["salt"])) == 16
    assert [(k.name, k.role) for k in list_keys(ws)] == [("ci upload", Role.write)]


def test_keys_are_listed_and_revoked(ws: sl.Workspace) -> None:
    first = create_key(ws, "read", "first")
    create_key(ws, Role.admin, "second")
    assert [k.name for k in list_keys(ws)] == ["first", "second"]
    revoked = revoke_key(ws, first)  # the whole key works as well as its id
    assert revoked.name == "first"
    assert [k.name for k in list_keys(ws.path)] == ["second"]
    with pytest.raises(sl.NotFound):
        revoke_key(ws, revoked.id)


@pytest.mark.parametrize(("role", "name"), [("owner", "x"), ("read", ""), ("read", "a\nb")])
def test_bad_roles_and_names_are_refused(ws: sl.Workspace, role: str, name: str) -> None:
    with pytest.raises(sl.InputError):
        create_key(ws, role, name)


def test_health_endpoints_are_open(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("path", PROTECTED_READS)
def test_shop_data_needs_a_key(client: TestClient, keys: Keys, path: str) -> None:
    missing = client.get(path)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.get(path, headers=auth(keys.read[:-2] + "xx")).status_code == 401
    assert client.get(path, headers=auth("not-a-key")).status_code == 401
    assert client.get(path, headers={"Authorization": f"Basic {keys.read}"}).status_code == 401
    assert client.get(path, headers=auth(keys.read)).status_code == 200
    assert client.get(path, headers={"X-API-Key": keys.read}).status_code == 200


def test_writing_needs_a_write_key(client: TestClient, keys: Keys) -> None:
    upload = {"file": ("orders.csv", b"order_id\nO1\n", "text/csv")}
    assert client.post("/api/v1/ingest/orders", files=upload).status_code == 401
    forbidden = client.post("/api/v1/ingest/orders", files=upload, headers=auth(keys.read))
    assert forbidden.status_code == 403
    assert "role read" in forbidden.json()["detail"] and "role write" in forbidden.json()["detail"]
    assert client.post("/api/v1/ingest/orders", files=upload, headers=auth(keys.write)).status_code == 200
    assert client.post("/api/v1/ingest/orders", files=upload, headers=auth(keys.admin)).status_code == 200


def test_a_revoked_key_is_refused_at_once(client: TestClient, ws: sl.Workspace, keys: Keys) -> None:
    assert client.get("/api/v1/tables", headers=auth(keys.read)).status_code == 200
    revoke_key(ws, keys.read.split("_")[1])
    assert client.get("/api/v1/tables", headers=auth(keys.read)).status_code == 401
