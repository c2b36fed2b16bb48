"""Reading the built graph: Cypher queries on a read-only connection, a product's neighbours, the paths between
two products, and counts.

Safety, in three layers: the database is opened read-only (LadybugDB itself refuses writes), write clauses are
refused before the query reaches it with a message that names the clause, and every query runs with a row limit
and a time limit (the connection's query timeout). User values travel as parameters (``$name``), never pasted
into the text of a query; the few queries this module writes itself take only names from the schema.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.graph import schema
from shoplens.graph.folder import DATABASE_FILE, graph_folder, read_manifest, require_built

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 100_000
DEFAULT_TIMEOUT_S = 10.0
# Clauses that write, load files or change the database: refused whatever the database would say.
WRITE_CLAUSES = ("CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "COPY", "ALTER", "INSTALL", "LOAD",
                 "ATTACH", "USE", "EXPORT", "IMPORT", "CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK")
# Built-in procedures that only read the catalog; any other CALL is refused.
READ_PROCEDURES = frozenset({"show_tables", "table_info", "show_connection", "db_version", "show_functions",
                             "current_setting", "show_indexes"})
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/", re.S)
_WRITE = re.compile(r"(?<![\w.$])(" + "|".join(WRITE_CLAUSES) + r")(?![\w])", re.I)
_CALL = re.compile(r"(?<![\w.$])CALL\s+(\w+)", re.I)

# A product's neighbourhood: relation, direction seen from the product, the other end's table, how the other end
# is named and what orders the neighbours of this relation (strongest first).
NEIGHBOURHOOD = (
    ("IN_CATEGORY", "out", "Category", "o.name", "o.id"),
    ("MADE_BY", "out", "Brand", "o.id", "o.id"),
    ("HAS_ATTRIBUTE", "out", "Attribute", "o.id", "o.id"),
    ("BOUGHT_TOGETHER", "out", "Product", "o.title", "r.orders DESC, r.lift DESC"),
    ("ALSO_BOUGHT", "out", "Product", "o.title", "o.id"),
    ("VIEWED_TOGETHER", "out", "Product", "o.title", "r.sessions DESC"),
    ("SIMILAR_TO", "out", "Product", "o.title", "r.cosine DESC"),
    ("MENTIONS", "out", "Aspect", "o.id", "r.reviews DESC"),
    ("ABOUT", "in", "Question", "o.question", "o.id"),
    ("LINKED_TO", "out", "Entity", "o.id", "o.id"),
)
# Relations a path between two products may use: customers are left out (they would link everything, and a
# path is shown to people).
PATH_RELS = tuple(r.name for r in schema.RELS if r.name != "BOUGHT")


class QueryTimeout(InputError):
    """A query ran past its time limit (the service answers 408)."""


class WriteRefused(InputError):
    """A query that would write (or load files) on the read-only graph."""


@dataclass
class QueryResult:
    """Rows of a query (at most the row limit; ``truncated`` says whether more were there)."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    seconds: float
    limit: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": [[_plain(v) for v in row] for row in self.rows],
                "truncated": self.truncated, "row_limit": self.limit, "seconds": round(self.seconds, 4)}


@dataclass
class GraphPath:
    """One path between two nodes: its nodes (table, id, name) and its edges (relation, from, to, properties)."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hops(self) -> int:
        return len(self.edges)

    def text(self) -> str:
        """``P1 -[BOUGHT_TOGETHER]-> P2 <-[MADE_BY]- …`` with each node's name."""
        parts = [_node_text(self.nodes[0])]
        for position, (edge, node) in enumerate(zip(self.edges, self.nodes[1:], strict=True)):
            forward = edge["from"] == self.nodes[position]["id"]
            parts.append(f" -[{edge['relation']}]-> " if forward else f" <-[{edge['relation']}]- ")
            parts.append(_node_text(node))
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"hops": self.hops, "nodes": self.nodes, "edges": self.edges, "text": self.text()}


def _node_text(node: dict[str, Any]) -> str:
    name = node.get("name")
    return f"{node['table']} {node['id']}" + (f" ({name})" if name and name != node["id"] else "")


def check_read_only(cypher: str) -> None:
    """Refuse a query with a write clause or a procedure that is not a catalog read (strings and comments,
    where such words may appear harmlessly, are left out of the check)."""
    if not isinstance(cypher, str) or not cypher.strip():
        raise InputError("the query is empty: give a Cypher query such as MATCH (p:Product) RETURN p.id LIMIT 5")
    bare = _STRINGS.sub("''", cypher)
    found = _WRITE.search(bare)
    if found:
        raise WriteRefused(f"the graph is read-only: {found.group(1).upper()} is refused (queries may only read; "
                           "rebuild with `shoplens graph build` or `shoplens graph import-triples`)")
    for call in _CALL.finditer(bare):
        if call.group(1).lower() not in READ_PROCEDURES:
            raise WriteRefused(f"the graph is read-only: CALL {call.group(1)} is refused; procedures allowed: "
                               f"{', '.join(sorted(READ_PROCEDURES))}")


def check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict) or not all(isinstance(k, str) and k for k in params):
        raise InputError("query parameters must be a mapping of names to values")
    for name, value in params.items():
        if not _is_value(value):
            raise InputError(f"query parameter {name!r}: {type(value).__name__} is not a value (use text, numbers, "
                             "booleans, null or lists of them)")
    return dict(params)


def _is_value(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_value(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def _plain(value: Any) -> Any:
    """A value as JSON has it (timestamps as ISO text; nodes and relations without internal ids)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k.lower() not in ("_id", "_src", "_dst")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class GraphStore:
    """A read-only connection to a built graph (``folder`` = the workspace's ``graph/``). Use as a context
    manager, or call :meth:`close`."""

    def __init__(self, folder: str | Path, *, row_limit: int = DEFAULT_ROW_LIMIT,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        import ladybug

        self.folder = require_built(Path(folder))
        self.row_limit, self.timeout_s = _check_limit(row_limit), _check_timeout(timeout_s)
        self._database = ladybug.Database(str(self.folder / DATABASE_FILE), read_only=True)
        self._connection = ladybug.Connection(self._database)

    @classmethod
    def of(cls, ws: Workspace, **limits: Any) -> GraphStore:
        """The workspace's graph (``GraphNotBuilt`` when none was built), with ``row_limit``/``timeout_s``."""
        return cls(graph_folder(ws), **limits)

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()
        self._database.close()

    # -- Cypher ---------------------------------------------------------------------------------------
    def query(self, cypher: str, params: dict[str, Any] | None = None, *, limit: int | None = None,
              timeout_s: float | None = None) -> QueryResult:
        """Run a read-only Cypher query with bound ``params``: at most ``limit`` rows, at most ``timeout_s``."""
        check_read_only(cypher)
        return self._run(cypher, check_params(params), _check_limit(self.row_limit if limit is None else limit),
                         _check_timeout(self.timeout_s if timeout_s is None else timeout_s))

    def _run(self, cypher: str, params: dict[str, Any], limit: int, timeout_s: float) -> QueryResult:
        self._connection.set_query_timeout(max(1, int(timeout_s * 1000)))
        started = time.perf_counter()
        try:
            result = self._connection.execute(cypher, params)
            columns = result.get_column_names()
            rows = []
            while result.has_next() and len(rows) < limit:
                rows.append(result.get_next())
            truncated = result.has_next()
            result.close()
        except RuntimeError as error:
            raise _user_error(error, timeout_s) from None
        except (ValueError, TypeError, OverflowError) as error:  # a parameter LadybugDB cannot convert
            raise InputError(f"query parameters: {error}") from None
        return QueryResult(columns, rows, truncated, time.perf_counter() - started, limit)

    # -- products -------------------------------------------------------------------------------------
    def require_product(self, product_id: str) -> dict[str, Any]:
        rows = self._run("MATCH (p:Product) WHERE p.id = $id RETURN p.id, p.title, p.brand, p.category, p.price",
                         {"id": str(product_id)}, 1, self.timeout_s).rows
        if not rows:
            raise NotFound(f"unknown product {product_id!r}: it is not in the graph")
        return dict(zip(("product_id", "title", "brand", "category", "price"), rows[0], strict=True))

    def neighbours(self, product_id: str, *, relations: list[str] | None = None, k: int = 10) -> pd.DataFrame:
        """The product's neighbours: per relation (``relations``, default all) its ``k`` strongest, with the
        relation's properties; customers are counted, not listed."""
        self.require_product(product_id)
        chosen = _check_relations(relations)
        rows: list[dict[str, Any]] = []
        for relation, direction, table, name, order in NEIGHBOURHOOD:
            if relation not in chosen:
                continue
            pattern = (f"(p:Product)-[r:{relation}]->(o:{table})" if direction == "out"
                       else f"(p:Product)<-[r:{relation}]-(o:{table})")
            result = self._run(f"MATCH {pattern} WHERE p.id = $id RETURN o.id, {name}, r ORDER BY {order}, o.id "
                               "LIMIT $k", {"id": str(product_id), "k": int(k)}, int(k), self.timeout_s)
            rows += [{"relation": relation, "direction": direction, "table": table, "id": other, "name": label,
                      "properties": _plain(_own(props))} for other, label, props in result.rows]
        if "BOUGHT" in chosen:
            rows += self._buyers(product_id)
        return pd.DataFrame(rows, columns=["relation", "direction", "table", "id", "name", "properties"])

    def _buyers(self, product_id: str) -> list[dict[str, Any]]:
        customers, orders = self._run("MATCH (c:Customer)-[b:BOUGHT]->(p:Product) WHERE p.id = $id "
                                      "RETURN count(c), sum(b.orders)", {"id": str(product_id)}, 1,
                                      self.timeout_s).rows[0]
        if not customers:
            return []
        return [{"relation": "BOUGHT", "direction": "in", "table": "Customer", "id": None,
                 "name": f"{customers} customers", "properties": {"customers": customers, "orders": orders}}]

    def paths(self, source: str, target: str, max_hops: int = 3, *, limit: int = 5,
              relations: list[str] | None = None) -> list[GraphPath]:
        """The shortest paths (at most ``max_hops`` edges, either direction) from product ``source`` to product
        ``target`` over ``relations`` (default: every relation but BOUGHT), at most ``limit``."""
        if not 1 <= int(max_hops) <= 6:
            raise InputError(f"max_hops {max_hops!r}: use 1 to 6")
        self.require_product(source)
        self.require_product(target)
        if source == target:
            return []
        names = [r for r in _check_relations(relations or list(PATH_RELS)) if r != "BOUGHT"]
        cypher = (f"MATCH p = (a:Product)-[:{'|'.join(names)}* ALL SHORTEST 1..{int(max_hops)}]-(b:Product) "
                  "WHERE a.id = $a AND b.id = $b RETURN nodes(p), rels(p) LIMIT $n")
        result = self._run(cypher, {"a": str(source), "b": str(target), "n": int(limit)}, int(limit), self.timeout_s)
        return [_path(nodes, rels) for nodes, rels in result.rows]

    # -- what is there --------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Nodes and relations per table (counted now), when and how the graph was built, what was missing."""
        manifest = read_manifest(self.folder)
        nodes = {n: self._count(f"MATCH (x:{n}) RETURN count(*)") for n in schema.NODE_NAMES}
        rels = {r: self._count(f"MATCH ()-[x:{r}]->() RETURN count(*)") for r in schema.REL_NAMES}
        return {"folder": str(self.folder), "built_at": manifest["built_at"], "build_seconds": manifest["seconds"],
                "data_fingerprint": manifest["data_fingerprint"], "nodes": nodes, "relations": rels,
                "missing": manifest.get("missing", {}), "imported": manifest.get("imported", {})}

    def _count(self, cypher: str) -> int:
        return int(self._run(cypher, {}, 1, self.timeout_s).rows[0][0])


def _own(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if not k.startswith("_")}


def _path(nodes: list[dict[str, Any]], rels: list[dict[str, Any]]) -> GraphPath:
    """A path as LadybugDB returns it (nodes and relations as dicts with internal ``_ID``, ``_LABEL``, ``_SRC``,
    ``_DST`` keys, and every table's properties, unused ones null) in plain terms."""
    nodes = [{k.lower() if k.startswith("_") else k: v for k, v in n.items()} for n in nodes]
    rels = [{k.lower() if k.startswith("_") else k: v for k, v in r.items()} for r in rels]
    key = {(n["_id"]["table"], n["_id"]["offset"]): n["id"] for n in nodes}
    shown = [{"table": n["_label"], "id": n["id"],
              "name": n.get("title") or n.get("question") or n.get("name") or n["id"]} for n in nodes]
    edges = [{"relation": r["_label"], "from": key[(r["_src"]["table"], r["_src"]["offset"])],
              "to": key[(r["_dst"]["table"], r["_dst"]["offset"])],
              "properties": {k: _plain(v) for k, v in _own(r).items() if v is not None}} for r in rels]
    return GraphPath(shown, edges)


def _check_relations(relations: list[str] | None) -> list[str]:
    if relations is None:
        return [*schema.REL_NAMES]
    unknown = [r for r in relations if r not in schema.REL_NAMES]
    if unknown:
        raise InputError(f"unknown relation {', '.join(map(repr, unknown))}; relations are "
                         f"{', '.join(schema.REL_NAMES)}")
    return list(relations)


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_ROW_LIMIT:
        raise InputError(f"row limit {limit!r}: use a whole number from 1 to {MAX_ROW_LIMIT:,}")
    return limit


def _check_timeout(seconds: float) -> float:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= 600:
        raise InputError(f"time limit {seconds!r}: use seconds above 0 and at most 600")
    return float(seconds)


def _user_error(error: RuntimeError, timeout_s: float) -> ShoplensError:
    """LadybugDB's exception as the user's error: a time-out, or the parser's/binder's own message."""
    message = str(error).strip()
    if message.rstrip(".") == "Interrupted":
        return QueryTimeout(f"the query ran past its time limit of {timeout_s:g} s and was stopped; narrow it "
                            "(a LIMIT, fewer hops) or raise the limit")
    if "read-only" in message:
        return WriteRefused(f"the graph is read-only: {message}")
    return InputError(f"Cypher: {message}")
