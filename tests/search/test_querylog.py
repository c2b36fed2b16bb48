"""The analyst's log of searches that found nothing or were slow: counts by normalised query text, never who asked;
bounded, best effort, written after the response; read by ``shoplens search stats`` and
``GET /api/v1/search/stats``. The service tests run on a copy of the small simulated shop with a real BM25-only
index (tantivy), where a made-up word finds nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app as cli_app
from shoplens.errors import InputError
from shoplens.search import api
from shoplens.search.querylog import LOG_FILE, QueryLog, normalise_query
from shoplens.serve import create_key
from tests.conftest import copy_workspace
from tests.serve.conftest import make_client

DAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def lexical_shop(small_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    ws = copy_workspace(small_shop, tmp_path_factory.mktemp("querylog"))
    api.build(ws, encoder=None)
    return ws


def test_query_text_is_normalised_and_personal_numbers_masked() -> None:
    assert normalise_query("  Red   DRESS ") == "red dress"
    assert normalise_query("ＲＥＤ　ｄｒｅｓｓ") == "red dress"  # full-width letters and space (NFKC)
    assert normalise_query("order for jane.doe@example.com") == "order for <email>"
    assert normalise_query("call +44 7700 900123 about lamp") == "call +<number> about lamp"
    assert normalise_query("card 4111-1111-1111-1111") == "card <number>"
    assert normalise_query("iphone 12 case 2 pack") == "iphone 12 case 2 pack"  # short numbers are product words
    assert len(normalise_query("x" * 5000)) == 200


def test_only_zero_and_slow_searches_are_counted_with_a_median(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / LOG_FILE, slow_ms=100)
    assert not log.note("lamp", results=5, ms=20, day=DAY)  # found something, quickly: not the analyst's concern
    assert log.note("Lamp ", results=0, ms=10, day=DAY)
    assert log.note("lamp", results=0, ms=30, day=DAY + dt.timedelta(days=1))
    assert log.note("yoga mat", results=3, ms=400, day=DAY)
    assert not (tmp_path / LOG_FILE).exists()  # noted in memory only
    assert log.flush() == 2 and log.flush() == 0
    log.note("lamp", results=0, ms=50, day=DAY)
    stats = log.stats("all")
    assert stats["zero_results"] == 3 and stats["slow"] == 1 and stats["queries_logged"] == 2
    assert stats["queries"] == [
        {"query": "lamp", "zero_results": 3, "slow": 0, "last_seen": "2026-12-02", "median_ms": 30.0},
        {"query": "yoga mat", "zero_results": 0, "slow": 1, "last_seen": "2026-12-01", "median_ms": 400.0}]
    assert [q["query"] for q in log.stats("slow")["queries"]] == ["yoga mat"]
    assert [q["query"] for q in log.stats("zero", top=1)["queries"]] == ["lamp"]
    with pytest.raises(InputError, match="kind must be one of zero, slow, all"):
        log.stats("fast")
    stored = json.loads((tmp_path / LOG_FILE).read_text(encoding="utf-8"))
    assert set(stored["queries"]["lamp"]) == {"zero", "slow", "last_seen", "ms"}  # counts only: nobody's id


def test_the_log_is_bounded_and_survives_bad_files(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / LOG_FILE, max_queries=3)
    for day, text in enumerate(["a", "b", "c", "d"]):
        log.note(text, results=0, ms=1, day=DAY + dt.timedelta(days=day))
    assert not log.note("e", results=0, ms=1, day=DAY)  # memory between flushes is bounded too
    log.flush()
    for day, text in enumerate(["e", "f"]):
        log.note(text, results=0, ms=1, day=DAY + dt.timedelta(days=10 + day))
    log.flush()
    assert sorted(q["query"] for q in log.stats()["queries"]) == ["c", "e", "f"]  # the least recently seen go
    (tmp_path / LOG_FILE).write_text("{not json", encoding="utf-8")
    log.note("g", results=0, ms=1, day=DAY)
    assert log.flush() == 1 and [q["query"] for q in log.stats()["queries"]] == ["g"]
    blocked = QueryLog(tmp_path / "folder-in-the-way")
    blocked.path.mkdir()
    blocked.note("h", results=0, ms=1)
    assert blocked.flush() == 0  # best effort: logged and dropped, never raised into a search


def test_the_service_logs_zero_and_slow_searches_and_serves_the_counts(lexical_shop: sl.Workspace,
                                                                         tmp_path: Path) -> None:
    ws = copy_workspace(lexical_shop, tmp_path)
    reader = create_key(ws, "read", "reader")
    headers = {"Authorization": f"Bearer {reader}"}
    with make_client(ws) as client:
        for text in ["Zorblaxian  wand", "zorblaxian wand", "lamp"]:
            assert client.get("/api/v1/search", params={"q": text}, headers=headers).status_code == 200
        empty = client.get("/api/v1/search", params={"q": "lamp", "brand": "No Such Brand"}, headers=headers)
        assert empty.status_code == 200 and empty.json()["items"] == []
        stats = client.get("/api/v1/search/stats", params={"kind": "zero"}, headers=headers)
        assert stats.status_code == 200, stats.text
        rows = {q["query"]: q for q in stats.json()["queries"]}
        assert set(rows) == {"zorblaxian wand", "lamp"}  # "lamp" alone found products: only its filtered search
        assert rows["zorblaxian wand"]["zero_results"] == 2 and rows["lamp"]["zero_results"] == 1
        assert rows["lamp"]["last_seen"] == dt.datetime.now(dt.UTC).date().isoformat()
        QueryLog.of(ws).slow_ms = 0  # every search is slow now (this workspace's log, in this process)
        client.get("/api/v1/search", params={"q": "lamp"}, headers=headers)
        slow = client.get("/api/v1/search/stats", params={"kind": "slow"}, headers=headers).json()
        assert [q["query"] for q in slow["queries"]] == ["lamp"] and slow["queries"][0]["median_ms"] > 0
        for params, code in [({"kind": "fast"}, 422), ({"top": 0}, 422), ({"top": 501}, 422)]:
            assert client.get("/api/v1/search/stats", params=params, headers=headers).status_code == code
        assert client.get("/api/v1/search/stats").status_code == 401
        text = (ws.dir("logs") / LOG_FILE).read_text(encoding="utf-8")
        assert reader not in text and reader.split("_")[1] not in text and "session" not in text
        (ws.dir("logs") / LOG_FILE).unlink()
        (ws.dir("logs") / LOG_FILE).mkdir()  # the log cannot be written: searches go on
        assert client.get("/api/v1/search", params={"q": "zorblaxian"}, headers=headers).status_code == 200


def test_cli_search_stats(lexical_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = copy_workspace(lexical_shop, tmp_path)
    log = QueryLog.of(ws)
    log.note("zorblaxian wand", results=0, ms=12.5, day=DAY)
    log.flush()
    runner = CliRunner()
    result = runner.invoke(cli_app, ["search", "stats", "--kind", "zero", "-w", str(ws.path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["queries"] == [
        {"query": "zorblaxian wand", "zero_results": 1, "slow": 0, "last_seen": "2026-12-01", "median_ms": 12.5}]
    human = runner.invoke(cli_app, ["search", "stats", "-w", str(ws.path)])
    assert human.exit_code == 0 and "zorblaxian wand" in human.output and "1 searches found nothing" in human.output
    bad = runner.invoke(cli_app, ["search", "stats", "--kind", "fast", "-w", str(ws.path)])
    assert bad.exit_code == 1 and "kind must be one of" in bad.output
