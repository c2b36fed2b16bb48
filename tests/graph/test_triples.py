"""Importing external knowledge in RecBole's atomic-file format: entities, typed relations, item links; a
malformed line names its file and line and nothing is half-imported; imports survive a rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

import shoplens as sl
from shoplens.errors import InputError
from shoplens.graph import GraphStore, ProductGraph
from shoplens.graph.folder import GraphNotBuilt, graph_folder
from shoplens.graph.triples import import_triples, read_atomic
from tests.conftest import shared_path

TRIPLES = "head_id:token\trelation_id:token\ttail_id:token\nm.1\tfilm.genre\tm.drama\nm.2\tfilm.genre\tm.drama\n" \
          "m.1\tfilm.actor\tm.9\n"
LINKS = "item_id:token\tentity_id:token\nP00001\tm.1\nP00002\tm.2\n999\tm.3\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _entities(ws: sl.Workspace) -> tuple[int, int, int]:
    with GraphStore(graph_folder(ws)) as store:
        stats = store.stats()
    return stats["nodes"]["Entity"], stats["relations"]["RELATED"], stats["relations"]["LINKED_TO"]


def test_import_adds_entities_relations_and_links(fresh_shop: sl.Workspace, tmp_path: Path) -> None:
    report = import_triples(fresh_shop, _write(tmp_path, "x.kg", TRIPLES), _write(tmp_path, "x.link", LINKS))
    assert (report.triples_read, report.links_read, report.links_without_product) == (3, 3, 1)
    assert _entities(fresh_shop) == (4, 3, 2)  # m.1, m.2, m.drama, m.9; item 999 is no product: its link is left out
    with GraphStore(graph_folder(fresh_shop)) as store:
        rows = store.query("MATCH (p:Product)-[:LINKED_TO]->(e:Entity)-[r:RELATED]->(g:Entity) "
                           "WHERE r.relation = $rel RETURN p.id, g.id ORDER BY p.id", {"rel": "film.genre"}).rows
    assert rows == [["P00001", "m.drama"], ["P00002", "m.drama"]]
    import_triples(fresh_shop, tmp_path / "x.kg", tmp_path / "x.link")  # again: nothing doubles
    assert _entities(fresh_shop) == (4, 3, 2)
    ProductGraph(similar_k=5).fit(fresh_shop)  # a rebuild keeps what was imported
    assert _entities(fresh_shop) == (4, 3, 2)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("head_id:token\trelation_id:token\ttail_id:token\nm.1\tr\tm.2\nm.3\tr\n", 3, "expected 3 non-empty"),
    ("head_id:token\trelation_id:token\ttail_id:token\nm.1\tr\tm.2\nm.3\t\tm.4\n", 3, "expected 3 non-empty"),
    ("head\trelation\ttail\nm.1\tr\tm.2\n", 1, "expected the header line"),
    ("head_id:token\trelation_id:token\ttail_id:token\nm.1\tr\tm.2\tm.3\n", 2, "found 4"),
])
def test_a_malformed_line_names_file_and_line_and_imports_nothing(fresh_shop: sl.Workspace, tmp_path: Path,
                                                                  text: str, line: int, message: str) -> None:
    good = _write(tmp_path, "good.link", LINKS)
    bad = _write(tmp_path, "bad.kg", text)
    before = _entities(fresh_shop)
    with pytest.raises(InputError, match=rf"bad.kg, row {line}: .*{message}"):
        import_triples(fresh_shop, bad, good)
    assert _entities(fresh_shop) == before


def test_a_malformed_link_file_imports_nothing(fresh_shop: sl.Workspace, tmp_path: Path) -> None:
    links = _write(tmp_path, "bad.link", "item_id:token\tentity_id:token\nP00001\tm.1\nP00002 m.2\n")
    with pytest.raises(InputError, match=r"bad\.link, row 3"):
        import_triples(fresh_shop, _write(tmp_path, "x.kg", TRIPLES), links)
    assert _entities(fresh_shop) == (0, 0, 0)


def test_missing_file_and_missing_graph(workspace: sl.Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_triples(workspace, tmp_path / "absent.kg")
    with pytest.raises(GraphNotBuilt, match="no product graph built yet"):
        import_triples(workspace, _write(tmp_path, "x.kg", TRIPLES))


def test_reads_recbole_ml100k_kg() -> None:
    folder = shared_path("recbole_ml100k_kg")
    triples = read_atomic(folder / "ml-100k.kg", ("head", "relation", "tail"))
    links = read_atomic(folder / "ml-100k.link", ("item", "entity"))
    assert len(triples) == 91_631 and len(links) == 1_598
    assert triples["relation"].value_counts().index[0] == "film.film.actor"
