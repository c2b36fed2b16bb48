"""The registry over REST (``/api/v1/models``) and the model pages over HTTP, on real recommender versions: reading
needs role read; deploying and rolling back need role admin, are written in the deploy history with the key, and
client mistakes are 4xx with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.registry import ModelRegistry
from shoplens.serve import ServiceSettings, create_app, create_key
from tests.conftest import copy_workspace
from tests.serve.conftest import auth

API = "/api/v1/models"


@pytest.fixture
def ws(model_versions: sl.Workspace, tmp_path: Path) -> sl.Workspace:
    return copy_workspace(model_versions, tmp_path)


@pytest.fixture
def client(ws: sl.Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(ws.path, settings=ServiceSettings(model_check_s=0.05)),
                    follow_redirects=False) as test_client:
        yield test_client


def versions(ws: sl.Workspace) -> tuple[str, str]:
    sasrec, ease = ModelRegistry(ws).versions("recommend")
    return sasrec.version, ease.version


def test_read_the_registry(ws: sl.Workspace, client: TestClient) -> None:
    sasrec, ease = versions(ws)
    read = auth(create_key(ws, "read", "analyst"))
    assert client.get(API).status_code == 401
    listed = client.get(API, headers=read).json()["models"]
    assert listed == [{"name": "recommend", "capability": "recommend", "versions": 2, "deployed": sasrec,
                       "latest": ease, "rollback_to": None}]
    detail = client.get(f"{API}/recommend", headers=read).json()
    assert [c["version"] for c in detail["cards"]] == [sasrec, ease]
    assert detail["cards"][0]["metrics"][0]["protocol"]["split"] == "per_user_stratified"
    assert [e["version"] for e in detail["history"]] == [sasrec]
    version = client.get(f"{API}/recommend/versions/{sasrec}", headers=read).json()
    assert version["deployed"] and version["card"]["params"]["model"] == "sasrec"
    assert [p["step"] for p in version["curves"][""]["train"]] == [1, 2, 3]
    assert client.get(f"{API}/recommend/versions/latest", headers=read).json()["curves"] == {}
    diff = client.get(f"{API}/recommend/diff", params={"a": sasrec, "b": ease}, headers=read).json()
    assert diff["data_fingerprint"]["same"] and any(p["param"] == "model" and p["changed"] for p in diff["params"])


def test_client_mistakes_are_4xx_with_the_reason(ws: sl.Workspace, client: TestClient) -> None:
    read, admin = auth(create_key(ws, "read", "analyst")), auth(create_key(ws, "admin", "ops"))
    answers = [
        (client.get(f"{API}/recommnd", headers=read), 404, "no model 'recommnd'"),
        (client.get(f"{API}/recommend/versions/2020", headers=read), 404, "has no version '2020'"),
        (client.get(f"{API}/recommend/diff", params={"a": "latest", "b": "1"}, headers=read), 404, "no version '1'"),
        (client.get(f"{API}/recommend/versions/.secret", headers=read), 422, "pattern"),
        (client.post(f"{API}/recommend/deploy", json={"version": "nope"}, headers=admin), 404, "no version 'nope'"),
        (client.post(f"{API}/recommend/deploy", json={}, headers=admin), 422, "version"),
        (client.post(f"{API}/recommend/rollback", headers=admin), 400, "nothing to roll back to"),
        (client.post(f"{API}/nothing/rollback", headers=admin), 404, "no model 'nothing'"),
    ]
    for answer, status, words in answers:
        assert answer.status_code == status and words in answer.text, answer.text
        assert str(ws.path) not in answer.text  # the server's folders stay private


def test_deploy_and_rollback_need_admin_and_are_audited(ws: sl.Workspace, client: TestClient) -> None:
    sasrec, ease = versions(ws)
    read, write = auth(create_key(ws, "read", "analyst")), auth(create_key(ws, "write", "loader"))
    admin_key = create_key(ws, "admin", "ops")
    for key in (read, write):
        refused = client.post(f"{API}/recommend/deploy", json={"version": ease}, headers=key)
        assert refused.status_code == 403 and "needs role admin" in refused.json()["detail"]
        assert client.post(f"{API}/recommend/rollback", headers=key).status_code == 403
    registry = ModelRegistry(ws)
    assert registry.deployed_version("recommend") == sasrec
    deployed = client.post(f"{API}/recommend/deploy", json={"version": ease, "reason": "better ndcg"},
                           headers=auth(admin_key)).json()
    key_id = admin_key.split("_")[1]
    assert deployed == {"name": "recommend", "action": "deploy", "version": ease, "previous": sasrec,
                        "by": f"api key {key_id} (ops, admin)"}
    assert client.get(API, headers=read).json()["models"][0]["rollback_to"] == sasrec
    rolled = client.post(f"{API}/recommend/rollback", json={"reason": "worse on the shop"},
                         headers=auth(admin_key)).json()
    assert (rolled["action"], rolled["version"], rolled["previous"]) == ("rollback", sasrec, ease)
    history = client.get(f"{API}/recommend", headers=read).json()["history"]
    assert [(e["action"], e["version"], e["reason"]) for e in history[1:]] == [
        ("deploy", ease, "better ndcg"), ("rollback", sasrec, "worse on the shop")]
    assert all(e["by"] == f"api key {key_id} (ops, admin)" for e in history[1:])
    assert registry.deployed_version("recommend") == sasrec


def sign_in(client: TestClient, key: str) -> str:
    """Sign the client in; returns the model page it then shows."""
    assert client.post("/login", data={"key": key, "next": "/models"}).status_code == 303
    page = client.get("/models/recommend")
    assert page.status_code == 200
    return page.text


def test_the_page_offers_buttons_to_admins_only(ws: sl.Workspace, client: TestClient) -> None:
    sasrec, ease = versions(ws)
    page = sign_in(client, create_key(ws, "read", "analyst"))
    assert f'data-version="{sasrec}" data-deployed="true"' in page and f'data-version="{ease}"' in page
    assert 'data-testid="deploy"' not in page and 'name="csrf"' not in page
    refused = client.post("/models/recommend/deploy", data={"version": ease, "csrf": "x"})
    assert refused.status_code == 403 and "need role admin" in refused.text
    assert ModelRegistry(ws).deployed_version("recommend") == sasrec

    page = sign_in(client, create_key(ws, "admin", "ops"))
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert token is not None and page.count('data-testid="deploy"') == 1  # every version but the deployed one
    forged = client.post("/models/recommend/deploy", data={"version": ease, "csrf": "0" * 64})
    assert forged.status_code == 403 and "CSRF" in forged.text
    done = client.post("/models/recommend/deploy", data={"version": ease, "csrf": token[1]})
    assert done.status_code == 303 and done.headers["location"] == "/models/recommend"
    assert ModelRegistry(ws).deployed_version("recommend") == ease
    assert 'data-testid="rollback"' in client.get("/models/recommend").text
    assert client.post("/models/recommend/rollback", data={"csrf": token[1]}).status_code == 303
    assert ModelRegistry(ws).deployed_version("recommend") == sasrec
    assert ModelRegistry(ws).history("recommend")[-1].by.startswith("dashboard session of key")
    assert client.get("/models/nothing").status_code == 404
    compared = client.get("/models/recommend", params={"a": sasrec, "b": ease})
    assert compared.status_code == 200 and 'data-testid="diff"' in compared.text
