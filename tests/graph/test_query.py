"""Querying the graph: read-only (write clauses refused, and the database refuses them too), parameters bound,
row and time limits, the parser's message on a syntax error, neighbours and paths that name edges that exist."""

from __future__ import annotations

import pytest

import shoplens as sl
from shoplens.errors import InputError, NotFound
from shoplens.graph import GraphStore, QueryTimeout, WriteRefused
from shoplens.graph.folder import graph_folder

SLOW = "MATCH (a:Product)-[*1..6]-(b:Product) RETURN count(*)"


@pytest.fixture(scope="module")
def store(graph_shop: sl.Workspace):
    with GraphStore(graph_folder(graph_shop)) as opened:
        yield opened


@pytest.mark.parametrize("cypher", [
    "CREATE (:Brand {id: 'x'})",
    "MATCH (p:Product) SET p.price = 0",
    "MATCH (p:Product) DETACH DELETE p",
    "MERGE (b:Brand {id: 'x'}) RETURN b",
    "DROP TABLE Product",
    "COPY Product FROM '/tmp/x.parquet'",
    "LOAD FROM '/etc/passwd' RETURN *",
    "INSTALL json",
    "match (p:Product) remove p.title",
    "CALL enable_internal_id_index(true)",
])
def test_write_clauses_are_refused_with_a_clear_message(store: GraphStore, cypher: str) -> None:
    with pytest.raises(WriteRefused, match=r"the graph is read-only: .* is refused"):
        store.query(cypher)


def test_the_database_itself_is_read_only(store: GraphStore) -> None:
    """Even a write that got past the check is refused by LadybugDB (the connection is read-only)."""
    with pytest.raises(WriteRefused, match="read-only"):
        store._run("CREATE (:Brand {id: 'x'})", {}, 10, 5.0)


def test_words_inside_strings_are_not_clauses(store: GraphStore) -> None:
    result = store.query("MATCH (p:Product) WHERE p.title <> 'CREATE or SET' RETURN count(*) // DELETE")
    assert result.rows[0][0] > 0
    assert store.query("CALL show_tables() RETURN name").rows


def test_parameters_are_bound_not_pasted(store: GraphStore) -> None:
    found = store.query("MATCH (p:Product) WHERE p.id = $id RETURN p.title", {"id": "P00001"}).rows
    assert len(found) == 1
    assert store.query("MATCH (p:Product) WHERE p.id = $id RETURN p.title", {"id": "P00001' OR true OR '"}).rows == []
    with pytest.raises(InputError, match="parameter 'id'"):
        store.query("MATCH (p:Product) WHERE p.id = $id RETURN p", {"id": {"nested": 1}})
    with pytest.raises(InputError, match="query parameters"):  # LadybugDB cannot type a list of mixed values
        store.query("RETURN $x", {"x": [1, "a"]})
    with pytest.raises(InputError, match="Unable to cast"):  # beyond 64 bits
        store.query("RETURN $x", {"x": 10**30})


def test_syntax_errors_carry_the_parsers_message(store: GraphStore) -> None:
    with pytest.raises(InputError, match=r"Cypher: Parser exception: .*offset: 17") as raised:
        store.query("MATCH (p:Product RETURN p")
    assert "^" in str(raised.value)  # the caret under the offending token
    with pytest.raises(InputError, match="Binder exception"):
        store.query("MATCH (p:NoSuchTable) RETURN p")


def test_row_limit(store: GraphStore) -> None:
    result = store.query("MATCH (p:Product) RETURN p.id ORDER BY p.id", limit=7)
    assert len(result.rows) == 7 and result.truncated
    assert not store.query("MATCH (p:Product) RETURN count(*)").truncated
    with pytest.raises(InputError, match="row limit"):
        store.query("MATCH (p:Product) RETURN p.id", limit=0)


def test_time_limit(store: GraphStore) -> None:
    with pytest.raises(QueryTimeout, match=r"time limit of 0\.05 s"):
        store.query(SLOW, timeout_s=0.05)
    assert store.query("MATCH (p:Product) RETURN count(*)").rows  # the connection is usable afterwards


def test_unknown_product_is_not_found(store: GraphStore) -> None:
    with pytest.raises(NotFound, match="unknown product 'P99999'"):
        store.neighbours("P99999")
    with pytest.raises(NotFound, match="unknown product"):
        store.paths("P00001", "nope")


def test_neighbours(store: GraphStore) -> None:
    frame = store.neighbours("P00001", k=3)
    assert {"IN_CATEGORY", "MADE_BY", "SIMILAR_TO"} <= set(frame["relation"])
    assert (frame.groupby("relation").size() <= 3).all()
    similar = frame[frame["relation"] == "SIMILAR_TO"]
    cosines = [p["cosine"] for p in similar["properties"]]
    assert cosines == sorted(cosines, reverse=True)
    assert frame.loc[frame["relation"] == "BOUGHT", "id"].isna().all()  # customers are counted, never listed
    only = store.neighbours("P00001", relations=["MADE_BY"])
    assert list(only["relation"]) == ["MADE_BY"]
    with pytest.raises(InputError, match="unknown relation"):
        store.neighbours("P00001", relations=["FRIENDS"])


def test_paths_name_edges_that_exist(store: GraphStore) -> None:
    pairs = store.query("MATCH (a:Product)-[t:BOUGHT_TOGETHER]->(b:Product) RETURN a.id, b.id ORDER BY t.orders "
                        "DESC, a.id, b.id LIMIT 3").rows
    for source, target in pairs:
        found = store.paths(source, target, max_hops=2)
        assert found and found[0].hops == 1
        assert any(e["relation"] == "BOUGHT_TOGETHER" for p in found for e in p.edges)
        for path in found:
            assert path.nodes[0]["id"] == source and path.nodes[-1]["id"] == target
            for edge in path.edges:  # each edge is in the graph, in the direction the path says
                rows = store.query(f"MATCH (a)-[r:{edge['relation']}]->(b) WHERE a.id = $a AND b.id = $b "
                                   "RETURN count(*)", {"a": edge["from"], "b": edge["to"]}).rows
                assert rows[0][0] >= 1
            assert "-[" in path.text()
    brand = store.paths("P00001", "P00001", max_hops=2)
    assert brand == []
    with pytest.raises(InputError, match="max_hops"):
        store.paths("P00001", "P00003", max_hops=9)
