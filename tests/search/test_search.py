"""Search end to end on a small simulated shop of its own: the pipeline step builds a real tantivy index with
MiniLM vectors, then the Python API, the CLI and the REST endpoint answer from it — with bad input of every kind."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app as cli_app
from shoplens.errors import InputError, NotFound
from shoplens.pipeline import RunContext
from shoplens.search import Search, api
from shoplens.search.finetune import training_pairs
from shoplens.serve import ServiceSettings, create_app, create_key

HOSTILE = ['"yoga', "title:lamp", "(lamp", "lamp*", "lamp~2", "'; DROP TABLE products; --", "x" * 5000,
           "lamp " * 1000, "!!!"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    from shoplens.data.synth import simulate
    from shoplens.search import steps

    ws = sl.Workspace.init(tmp_path_factory.mktemp("search") / "ws", name="search shop")
    simulate(n_customers=200, n_products=60, days=90, seed=5).write(ws)
    ctx = RunContext(ws=ws, profile="demo")
    assert steps.build_index(ctx)["products"] == 60
    summary = steps.evaluate_search(ctx)
    assert summary["hybrid recall@10"] >= summary["bm25 recall@10"] * 0.9, summary
    return ws


@pytest.fixture(scope="module")
def search(shop: sl.Workspace) -> Search:
    return api.load(shop)


def test_query_ranks_the_named_product_first_with_signals_and_facets(shop: sl.Workspace, search: Search) -> None:
    products = shop.table("products")
    target = products.iloc[7]
    page = search.query(target["title"], k=5, explain=True)
    top = page.items[0]
    assert top["product_id"] == target["product_id"]
    assert set(top["signals"]) == {"bm25", "dense:minilm"} and top["signals"]["bm25"] > 0
    assert top["fields"]["title"] > 0  # explain: per-field BM25
    assert [i["rank"] for i in page.items] == [1, 2, 3, 4, 5]
    assert [i["score"] for i in page.items] == sorted((i["score"] for i in page.items), reverse=True)
    assert {"category", "brand", "price"} == set(page.facets)
    assert sum(f["count"] for f in page.facets["price"]) <= page.candidates


def test_filters_restrict_results_and_facets(shop: sl.Workspace, search: Search) -> None:
    products = shop.table("products")
    brand = products["brand"].value_counts().index[0]
    page = search.query("gift", k=20, filters={"brand": brand.upper(), "price_max": 1000})
    assert page.items and {i["brand"] for i in page.items} == {brand}
    assert [f["value"] for f in page.facets["brand"]] == [brand]
    top_level = products["category"].iloc[0].split(" > ")[0]
    page = search.query("gift", k=50, filters={"category": top_level})
    assert page.items and all(i["category"].startswith(top_level) for i in page.items)
    cheap = search.query("gift", k=50, filters={"price_min": 10, "price_max": 30})
    assert all(10 <= i["price"] <= 30 for i in cheap.items)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_are_answered_as_words(search: Search, text: str) -> None:
    page = search.query(text, k=5)
    assert len(page.items) == 5  # the dense signal still ranks; nothing is parsed as syntax
    assert len(page.query) <= 5000


@pytest.mark.parametrize("text, k, filters, message", [
    ("", 10, None, "empty"), ("   ", 10, None, "empty"), (None, 10, None, "text"), ("lamp", 0, None, "k must"),
    ("lamp", 10, {"colour": "red"}, "unknown filter"), ("lamp", 10, {"price_max": "cheap"}, "number"),
])
def test_bad_queries_are_input_errors(search: Search, text, k, filters, message: str) -> None:
    with pytest.raises(InputError, match=message):
        search.query(text, k=k, filters=filters)


def test_save_load_and_missing_index(search: Search, tmp_path: Path) -> None:
    copy = Search.load(search.save(tmp_path / "copy"))
    assert copy.get_params() == search.get_params()
    assert copy.query("lamp", k=3).items == search.query("lamp", k=3).items
    with pytest.raises(NotFound, match="shoplens search build"):
        Search.load(tmp_path / "nothing")


def test_documents_frame_lexical_only_and_chinese() -> None:
    docs = pd.DataFrame({"product_id": ["a", "b", "c"], "title": ["红色连衣裙", "蓝色牛仔裤", "Red running shoes"],
                         "category": ["服装 > 连衣裙", "服装 > 裤子", "Shoes"], "price": [99, 199, 60]})
    search = Search(None).fit(docs)
    assert search.signal_weights() == {"bm25": 1.0}
    assert search.query("红色的连衣裙", k=3).items[0]["product_id"] == "a"
    assert [i["product_id"] for i in search.query("牛仔裤 200元以下", k=3, filters={"price_max": 200}).items] == ["b"]
    with pytest.raises(InputError, match="field_weights"):
        Search(None, field_weights={"colour": 1.0}).fit(docs)


def test_training_pairs_from_every_source(shop: sl.Workspace) -> None:
    pairs = training_pairs(shop)
    assert set(pairs["source"]) == {"qa", "search", "review_title"}
    assert pairs["product_id"].isin(shop.table("products")["product_id"]).all()


def test_cli_build_query_evaluate(shop: sl.Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["search", "query", "yoga mat", "-k", "3", "--explain", "-w", str(shop.path),
                                     "--json"])
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert len(page["items"]) == 3 and "fields" in page["items"][0]
    human = runner.invoke(cli_app, ["search", "query", "yoga mat", "--explain", "-w", str(shop.path)])
    assert human.exit_code == 0 and "dense:minilm" in human.output and "category" in human.output
    bad = runner.invoke(cli_app, ["search", "query", "lamp", "--filters", "{oops", "-w", str(shop.path)])
    assert bad.exit_code == 1 and "--filters is not JSON" in bad.output
    empty = runner.invoke(cli_app, ["search", "query", " ", "-w", str(shop.path), "--json"])
    assert empty.exit_code == 1 and "empty" in json.loads(empty.stdout)["error"]
    evaluated = runner.invoke(cli_app, ["search", "evaluate", "--max-queries", "30", "-w", str(shop.path), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert {r["model"] for r in json.loads(evaluated.stdout)} == {"hybrid", "bm25"}
    fresh = sl.Workspace.init(tmp_path / "fresh")
    missing = runner.invoke(cli_app, ["search", "query", "lamp", "-w", str(fresh.path)])
    assert missing.exit_code == 1 and "shoplens search build" in missing.output
    built = runner.invoke(cli_app, ["search", "build", "--lexical-only", "-w", str(fresh.path), "--json"])
    assert built.exit_code == 1 and "no products" in built.output


def test_rest_search_codes(shop: sl.Workspace, tmp_path: Path) -> None:
    key = create_key(shop, "read", "reader")
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(shop.path, settings=ServiceSettings())) as client:
        answer = client.get("/api/v1/search", params={"q": "yoga mat", "k": 4, "explain": "true"}, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) == 4 and body["facets"]["category"] and "fields" in body["items"][0]
        brand = body["items"][0]["brand"]
        filtered = client.get("/api/v1/search", params={"q": "mat", "filters": json.dumps({"brand": brand})},
                              headers=headers).json()
        assert {i["brand"] for i in filtered["items"]} == {brand}
        for params, code in [({"q": ""}, 422), ({}, 422), ({"q": "  "}, 400), ({"q": "mat", "k": 0}, 422),
                             ({"q": "mat", "filters": "{bad"}, 400), ({"q": "mat", "filters": '{"colour": 1}'}, 400),
                             ({"q": "mat", "price_min": 9, "price_max": 1}, 400), ({"q": "x" * 5001}, 422),
                             ({"q": "'; DROP TABLE products; --"}, 200), ({"q": 'title:"mat*~'}, 200)]:
            got = client.get("/api/v1/search", params=params, headers=headers)
            assert got.status_code == code, (params, got.text)
        assert client.get("/api/v1/search", params={"q": "mat"}).status_code == 401
    bare = sl.Workspace.init(tmp_path / "bare")
    reader = create_key(bare, "read", "reader")
    with TestClient(create_app(bare.path, settings=ServiceSettings())) as client:
        got = client.get("/api/v1/search", params={"q": "mat"}, headers={"Authorization": f"Bearer {reader}"})
        assert got.status_code == 503 and "shoplens search build" in got.text


def test_the_service_loads_the_index_at_start_up(shop: sl.Workspace) -> None:
    # a large index loads for seconds: the start-up warm-up does it so that the first search does not time out
    import time

    api._OPEN.clear()
    with TestClient(create_app(shop.path, settings=ServiceSettings())):
        deadline = time.monotonic() + 60
        while not any(s._encoders for s in list(api._OPEN.values())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api._OPEN, "the search index was not loaded at start-up"
        assert next(iter(api._OPEN.values()))._encoders, "the query encoder was not loaded at start-up"
