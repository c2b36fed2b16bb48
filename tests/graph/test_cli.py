"""``shoplens graph …`` end to end on a real workspace: build, query with --param, stats, neighbours and
import-triples, with --json and the exit codes of bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import shoplens as sl
from shoplens.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_build_query_stats_neighbours(fresh_shop: sl.Workspace) -> None:
    ws = str(fresh_shop.path)
    code, out = _run("graph", "build", "--similar-k", "3", "-w", ws, "--json")
    assert code == 0, out
    assert json.loads(out)["counts"]["SIMILAR_TO"] == 3 * fresh_shop.counts()["products"]
    code, out = _run("graph", "query", "MATCH (p:Product) WHERE p.id = $id RETURN p.title AS title",
                     "--param", "id=P00001", "-w", ws, "--json")
    assert code == 0, out
    assert json.loads(out)["columns"] == ["title"] and len(json.loads(out)["rows"]) == 1
    code, out = _run("graph", "stats", "-w", ws, "--json")
    assert code == 0 and json.loads(out)["relations"]["SIMILAR_TO"] == 3 * fresh_shop.counts()["products"]
    code, out = _run("graph", "neighbours", "P00001", "-r", "MADE_BY", "-w", ws, "--json")
    assert code == 0 and [row["relation"] for row in json.loads(out)] == ["MADE_BY"]


def test_bad_input_exits_non_zero_with_one_line(graph_shop: sl.Workspace, tmp_path: Path) -> None:
    ws = str(graph_shop.path)
    code, out = _run("graph", "query", "MATCH (p:Product RETURN p", "-w", ws, "--json")
    assert code != 0 and "Parser exception" in json.loads(out)["error"]
    code, out = _run("graph", "query", "MATCH (p) SET p.id = 'x'", "-w", ws, "--json")
    assert code != 0 and "SET is refused" in json.loads(out)["error"]
    code, out = _run("graph", "query", "MATCH (p) RETURN p", "--param", "novalue", "-w", ws, "--json")
    assert code != 0 and "NAME=VALUE" in json.loads(out)["error"]
    code, out = _run("graph", "neighbours", "P99999", "-w", ws, "--json")
    assert code != 0 and "unknown product" in json.loads(out)["error"]
    bad = tmp_path / "bad.kg"
    bad.write_text("head_id:token\trelation_id:token\ttail_id:token\nm.1\tr\n", encoding="utf-8")
    code, out = _run("graph", "import-triples", str(bad), "-w", ws, "--json")
    error = json.loads(out)
    assert code != 0 and error["row"] == 2 and error["file"].endswith("bad.kg")


def test_import_triples(fresh_shop: sl.Workspace, tmp_path: Path) -> None:
    triples = tmp_path / "x.kg"
    triples.write_text("head_id:token\trelation_id:token\ttail_id:token\nm.1\tr\tm.2\n", encoding="utf-8")
    links = tmp_path / "x.link"
    links.write_text("item_id:token\tentity_id:token\nP00001\tm.1\n", encoding="utf-8")
    code, out = _run("graph", "import-triples", str(triples), "--link", str(links), "-w", str(fresh_shop.path),
                     "--json")
    assert code == 0, out
    assert json.loads(out) == {"triples_read": 1, "links_read": 1, "entities": 2, "relations": 1, "links": 1,
                               "links_without_product": 0}
