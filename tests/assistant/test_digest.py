"""The review digest on the simulated shop: the aspect model (real multilingual encoder) scores every review, the
digest quotes the praised and criticised aspects of one product with citations that name the review sentence."""

from __future__ import annotations

import pytest

import shoplens as sl
from shoplens.assistant.digest import review_digest
from shoplens.assistant.knowledge import sentences_of
from shoplens.errors import InputError, NotFound
from shoplens.reviews.aspects import AspectModel
from shoplens.reviews.store import score_workspace
from shoplens.serve import create_key
from tests.conftest import copy_workspace
from tests.serve.conftest import auth, make_client


@pytest.fixture(scope="module")
def scored_shop(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("digest"))
    score_workspace(ws, aspects=AspectModel(workspace=ws).fit(ws))
    return ws


def busiest(ws: sl.Workspace) -> str:
    return ws.sql("SELECT product_id FROM reviews_aspect_mentions GROUP BY product_id ORDER BY count(*) DESC, "
                  "product_id LIMIT 1")["product_id"][0]


def test_digest_quotes_with_citations(scored_shop: sl.Workspace) -> None:
    ws = scored_shop
    product = busiest(ws)
    digest = review_digest(ws, product, top=2, quotes=2)
    assert digest["product_id"] == product and digest["mentions"] > 0
    sides = digest["praised"] + digest["criticised"]
    assert sides and digest["summary"].startswith("Customers")
    bodies = ws.sql("SELECT review_id, body FROM reviews WHERE product_id = ?", [product]).set_index("review_id")
    for aspect in digest["praised"]:
        assert aspect["net"] > 0.2 and 1 <= len(aspect["quotes"]) <= 2
    for aspect in digest["criticised"]:
        assert aspect["net"] < -0.2
    for aspect in sides:
        for quote in aspect["quotes"]:
            review_id, n = quote["evidence_id"].removeprefix("review:").split("#")
            sentence = sentences_of(bodies.loc[review_id, "body"])[int(n) - 1]
            assert quote["text"].strip() in sentence or quote["text"].strip() in bodies.loc[review_id, "body"]


def test_digest_errors(scored_shop: sl.Workspace, small_shop: sl.Workspace) -> None:
    with pytest.raises(NotFound, match="no product 'nope'"):
        review_digest(scored_shop, "nope")
    with pytest.raises(InputError, match="top must be"):
        review_digest(scored_shop, busiest(scored_shop), top=0)
    with pytest.raises(NotFound, match="shoplens reviews train"):
        review_digest(small_shop, "P0001")


def test_digest_over_rest(scored_shop: sl.Workspace) -> None:
    ws = scored_shop
    read = create_key(ws, "read", "reader")
    product = busiest(ws)
    with make_client(ws) as client:
        answer = client.get(f"/api/v1/assistant/digest/{product}", headers=auth(read))
        assert answer.status_code == 200 and answer.json() == review_digest(ws, product)
        assert client.get("/api/v1/assistant/digest/nope", headers=auth(read)).status_code == 404
        assert client.get(f"/api/v1/assistant/digest/{product}", params={"top": 99},
                          headers=auth(read)).status_code == 422
        assert client.get(f"/api/v1/assistant/digest/{product}").status_code == 401
