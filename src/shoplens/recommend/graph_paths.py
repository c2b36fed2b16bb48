"""Explanations that name a path in the product graph: when the workspace has a built graph, a customer's
recommendation says how it is connected to what the customer bought, and carries that path as data.

```python
from shoplens.recommend import api, graph_paths
frame = model.recommend("C000042", k=5)
frame = graph_paths.explain_with_graph(ws, frame, "C000042")   # reason and path, where the graph has one
frame.loc[0, "reason"]   # "bought together with 'Ribbed Mug' in 41 orders"
frame.loc[0, "path"]     # [{"source": {"table": "Customer", "id": "C000042"}, "relation": "BOUGHT", …}, …]
```

Every path starts at the customer: ``Customer -BOUGHT-> product you bought``, then one or two edges to the
recommended product. The kinds, strongest evidence first (the first that connects a recommendation wins):

- ``bought_together``: ``H -BOUGHT_TOGETHER-> R`` — "bought together with 'H' in 41 orders";
- ``also_bought``: ``H -ALSO_BOUGHT-> R`` (catalog ``also_buy``) — "customers who bought 'H' also bought it";
- ``praised_aspect``: ``H -MENTIONS-> aspect <-MENTIONS- R``, where the customer's own review of H was positive
  about the aspect and R's reviews are positive on the whole — "also about 'fit', which you praised in 'H'";
- ``viewed_together``: ``H -VIEWED_TOGETHER-> R`` — "viewed together with 'H' in 12 sessions";
- ``same_brand``: ``H -MADE_BY-> brand <-MADE_BY- R`` — "same brand as 'H' that you bought (Calstead)";
- ``similar``: ``H -SIMILAR_TO-> R`` (text embedding neighbours) — "similar to 'H' that you bought";
- ``same_category``: ``H -IN_CATEGORY-> category <-IN_CATEGORY- R`` — "in the same category as 'H' …".

Each edge of a path is given in its stored direction (``source -relation-> target``, node table and id each),
so ``MATCH (a:<table>)-[:<relation>]->(b:<table>) WHERE a.id = … AND b.id = …`` finds it in the graph. A
recommendation with no path keeps the model's own reason ("because you bought …", "popular in …") and a null
path; without a graph the frame is returned as it was. Every value reaches the graph as a bound parameter.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shoplens.recommend.data import ITEM, run_sql

if TYPE_CHECKING:
    from shoplens.graph import GraphStore

log = logging.getLogger(__name__)

PATH_COLUMN = "path"
# The customer's positive aspect mentions in their own reviews (the reviews capability's aspect model).
PRAISED_SQL = """
SELECT DISTINCT m.product_id, m.aspect FROM reviews_aspect_mentions m JOIN reviews r USING (review_id)
WHERE r.customer_id = ? AND m.sentiment = 'positive' AND m.aspect IS NOT NULL
"""


@dataclass(frozen=True)
class PathRule:
    """One kind of path: ``H -relation-> R`` (``via`` None, the relation ``e``) or ``H -e:relation-> X
    <-f:relation- R`` (``via`` the table of X); ``condition`` keeps only the relations that are evidence (a pair
    bought together less often than chance is not); ``strength`` orders the candidates of one recommendation,
    strongest first; ``properties`` are the relation's properties carried in the path (and named in the
    sentence)."""

    kind: str
    relation: str
    via: str | None
    strength: str
    properties: tuple[str, ...] = ()
    condition: str = "true"


RULES = (
    # lift first: "bought together with the shop's best seller" is true of everything and explains nothing
    PathRule("bought_together", "BOUGHT_TOGETHER", None, "e.lift", ("orders", "lift"), "e.lift > 1"),
    PathRule("also_bought", "ALSO_BOUGHT", None, "b.orders"),
    PathRule("praised_aspect", "MENTIONS", "Aspect", "f.mean_sentiment", ("reviews", "mean_sentiment"),
             "f.mean_sentiment > 0"),
    PathRule("viewed_together", "VIEWED_TOGETHER", None, "e.sessions", ("sessions", "source")),
    PathRule("same_brand", "MADE_BY", "Brand", "b.orders"),
    PathRule("similar", "SIMILAR_TO", None, "e.cosine", ("cosine",)),
    PathRule("same_category", "IN_CATEGORY", "Category", "b.orders"),
)


def rule_query(rule: PathRule) -> str:
    """The Cypher of one rule: the customer's purchases H connected to the recommended products R. Only names
    from :data:`RULES` are written into it; the customer and the products are parameters."""
    if rule.via is None:
        pattern = f"(c:Customer)-[b:BOUGHT]->(h:Product)-[e:{rule.relation}]->(r:Product)"
        middle = "NULL, NULL"
        props = ", ".join(f"e.{p}" for p in rule.properties) or "NULL"
    else:
        pattern = (f"(c:Customer)-[b:BOUGHT]->(h:Product)-[e:{rule.relation}]->(x:{rule.via})"
                   f"<-[f:{rule.relation}]-(r:Product)")
        middle = "x.id, " + ("x.name" if rule.via == "Category" else "x.id")
        props = ", ".join(f"f.{p}" for p in rule.properties) or "NULL"
    return (f"MATCH {pattern} WHERE c.id = $customer AND r.id IN $items AND h.id <> r.id AND {rule.condition} "
            f"RETURN r.id, h.id, h.title, {middle}, b.orders, {props} "
            f"ORDER BY r.id, {rule.strength} DESC, b.last_time DESC, h.id")


@dataclass
class Found:
    """The path chosen for one recommended product."""

    kind: str
    reason: str
    path: list[dict[str, Any]]


def graph_reasons(store: GraphStore, customer_id: str, product_ids: list[str],
                  praised: set[tuple[str, str]] | None = None, *,
                  rules: tuple[PathRule, ...] = RULES) -> dict[str, Found]:
    """For each recommended product (``product_ids``) that the graph connects to the customer's purchases, the
    path of the first of ``rules`` that connects it (its strongest) and its sentence. ``praised`` holds the
    customer's (product, aspect) praises; without them the ``praised_aspect`` rule finds nothing."""
    found: dict[str, Found] = {}
    for rule in rules:
        left = [p for p in product_ids if p not in found]
        if not left:
            break
        if rule.kind == "praised_aspect" and not praised:
            continue
        rows = store.query(rule_query(rule), {"customer": str(customer_id), "items": left},
                           limit=max(1_000, 50 * len(left))).rows
        for row in rows:
            chosen = _found(rule, str(customer_id), row, praised or set())
            if chosen is not None and row[0] not in found:
                found[row[0]] = chosen
    return found


def _found(rule: PathRule, customer_id: str, row: list[Any], praised: set[tuple[str, str]]) -> Found | None:
    item, bought, title, via_id, via_name, orders, *values = row
    properties = {name: value for name, value in zip(rule.properties, values, strict=False) if value is not None}
    if rule.kind == "praised_aspect" and (bought, via_id) not in praised:
        return None  # the customer's own review of H did not praise this aspect
    start = [_edge(("Customer", customer_id, None), "BOUGHT", ("Product", bought, title), {"orders": orders})]
    if rule.via is None:
        path = [*start, _edge(("Product", bought, title), rule.relation, ("Product", item, None), properties)]
    else:
        middle = (rule.via, via_id, via_name)
        path = [*start, _edge(("Product", bought, title), rule.relation, middle, {}),
                _edge(("Product", item, None), rule.relation, middle, properties)]
    return Found(rule.kind, sentence(rule.kind, _quoted(title, bought), via_name, properties), path)


def _edge(source: tuple[str, str, str | None], relation: str, target: tuple[str, str, str | None],
          properties: dict[str, Any]) -> dict[str, Any]:
    return {"source": _node(*source), "relation": relation, "target": _node(*target),
            "properties": {k: _number(v) for k, v in properties.items()}}


def _node(table: str, node_id: str, name: str | None) -> dict[str, Any]:
    return {"table": table, "id": str(node_id), "name": name or str(node_id)}


def _number(value: Any) -> Any:
    return round(float(value), 4) if isinstance(value, float) else value


def _quoted(title: str | None, product_id: str) -> str:
    return f"'{title}'" if title else f"product {product_id}"


def sentence(kind: str, bought: str, via: str | None, properties: dict[str, Any]) -> str:
    """The explanation of one path, in words."""
    if kind == "bought_together":
        orders = int(properties.get("orders") or 0)
        return f"bought together with {bought} in {orders:,} order{'s' if orders != 1 else ''}"
    if kind == "also_bought":
        return f"customers who bought {bought} also bought it"
    if kind == "praised_aspect":
        return f"also about '{str(via).replace('_', '/')}', which you praised in {bought}"
    if kind == "viewed_together":
        sessions = int(properties.get("sessions") or 0)
        if not sessions:  # catalog also_view: no session count
            return f"customers who viewed {bought} also viewed it"
        return f"viewed together with {bought} in {sessions:,} session{'s' if sessions != 1 else ''}"
    if kind == "same_brand":
        return f"same brand as {bought} that you bought ({via})"
    if kind == "similar":
        return f"similar to {bought} that you bought"
    if kind == "same_category":
        return f"in the same category ({via}) as {bought} that you bought"
    raise ValueError(f"unknown kind of path {kind!r}")


# -- on a workspace ---------------------------------------------------------------------------------------------
def praised_aspects(source: Any, customer_id: str) -> set[tuple[str, str]]:
    """(product, aspect) pairs the customer praised in their own reviews (empty without the aspect model's
    mentions or a customer column on reviews)."""
    import duckdb

    try:
        frame = run_sql(source, PRAISED_SQL, [str(customer_id)])
    except duckdb.CatalogException:  # the aspect model has not run, or reviews name no customer
        return set()
    return set(zip(frame["product_id"].astype(str), frame["aspect"].astype(str), strict=True))


def praised_by_customer(source: Any) -> dict[str, set[tuple[str, str]]]:
    """:func:`praised_aspects` of every customer at once (one query instead of one per customer: the service keeps
    it while the warehouse is unchanged); customers without praises are absent."""
    import duckdb

    query = PRAISED_SQL.replace("r.customer_id = ?", "r.customer_id IS NOT NULL").replace(
        "SELECT DISTINCT m.product_id", "SELECT DISTINCT r.customer_id, m.product_id")
    try:
        frame = run_sql(source, query)
    except duckdb.CatalogException:  # as praised_aspects: no aspect mentions, or reviews name no customer
        return {}
    praised: dict[str, set[tuple[str, str]]] = {}
    for customer, product, aspect in zip(frame["customer_id"].astype(str), frame["product_id"].astype(str),
                                         frame["aspect"].astype(str), strict=True):
        praised.setdefault(customer, set()).add((product, aspect))
    return praised


def explain_with_graph(ws: Any, frame: pd.DataFrame, customer_id: str, *, source: Any = None,
                       praised: set[tuple[str, str]] | None = None) -> pd.DataFrame:
    """``frame`` (a customer's recommendations) with graph explanations: ``reason`` says the path where one
    exists, ``path`` holds it and ``path_kind`` names its kind (null elsewhere). Without a built graph,
    ``frame`` unchanged. ``source`` is an open warehouse connection to read the customer's praises with
    (default: the workspace); ``praised``: those praises, read already (``praised_by_customer``).

    An explanation never costs the recommendation: a graph that cannot be read (being swapped, damaged, a
    query past its time limit) leaves the model's reasons, with a warning in the log."""
    from shoplens.errors import ShoplensError

    if frame.empty or not has_graph(ws):
        return frame
    if praised is None:
        praised = praised_aspects(ws if source is None else source, customer_id)
    try:
        with open_store(ws) as store:
            if store is None:
                return frame
            found = graph_reasons(store, customer_id, frame[ITEM].astype(str).tolist(), praised)
    except (ShoplensError, RuntimeError, OSError) as problem:  # LadybugDB: RuntimeError for a file it cannot read
        log.warning("graph explanations skipped for this request: %s", problem)
        return frame
    out = frame.copy()
    chosen = [found.get(str(p)) for p in out[ITEM]]
    before = out["reason"] if "reason" in out.columns else pd.Series("", index=out.index)
    out["reason"] = [f.reason if f else r for f, r in zip(chosen, before, strict=True)]
    out["path_kind"] = [f.kind if f else None for f in chosen]
    out[PATH_COLUMN] = [f.path if f else None for f in chosen]
    return out


def has_graph(ws: Any) -> bool:
    from shoplens.graph.folder import graph_folder, is_built

    return is_built(graph_folder(ws))


Stamp = tuple[tuple[int, int], ...]


def graph_stamp(ws: Any) -> Stamp | None:
    """What names the graph that explanations are read from now: the inode and write time of its manifest and
    database files (a build or an erasure swaps them in); None without a built graph. An answer explained with
    the graph is the same answer while this is the same."""
    from shoplens.graph.folder import DATABASE_FILE, MANIFEST_FILE, graph_folder

    folder = graph_folder(ws)
    try:
        return _stamp((folder / MANIFEST_FILE, folder / DATABASE_FILE))
    except FileNotFoundError:
        return None


def _stamp(files: tuple[Path, ...]) -> Stamp:
    return tuple((s.st_ino, s.st_mtime_ns) for s in (f.stat() for f in files))


# -- one open graph per process ---------------------------------------------------------------------------------
# Opening the database costs about 0.1 s: the open store is kept per graph folder, and opened again when a build
# or an erasure swapped a new graph in (the manifest's or the database's file changed). One query at a time per
# store: a connection is not shared between threads.
_STORES: dict[str, tuple[tuple[tuple[int, int], ...], GraphStore, threading.Lock]] = {}
_STORES_LOCK = threading.Lock()


@contextlib.contextmanager
def open_store(ws: Any) -> Iterator[GraphStore | None]:
    """The workspace's graph, open and held for this caller; None when no graph is built (or the graph extra is
    not installed)."""
    from shoplens.graph.folder import DATABASE_FILE, MANIFEST_FILE, graph_folder, is_built

    folder = graph_folder(ws)
    if not is_built(folder):
        yield None
        return
    try:
        store, lock = _cached(folder, (folder / MANIFEST_FILE, folder / DATABASE_FILE))
    except ImportError as missing:  # the graph extra (ladybug) is not installed: explanations stay as they were
        log.warning("graph explanations are off: %s", missing)
        yield None
        return
    with lock:
        yield store


def _cached(folder: Path, files: tuple[Path, ...]) -> tuple[GraphStore, threading.Lock]:
    from shoplens.graph import GraphStore

    stamp = _stamp(files)
    key = str(folder.resolve())
    with _STORES_LOCK:
        cached = _STORES.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        if cached is not None:  # dropped first: a graph that fails to open is tried again by the next request
            del _STORES[key]
            with cached[2]:
                cached[1].close()
        # LadybugDB's default threads per query: one thread used less CPU per explanation alone (7.8 vs 11.5 ms
        # per customer on the mid-size shop) but, behind this store's lock, served fewer requests under load
        # (docs/decisions.md, 2026-12-07); a connection per thread is the next step
        store, lock = GraphStore(folder), threading.Lock()
        _STORES[key] = (stamp, store, lock)
        return store, lock


def close_stores() -> None:
    """Close every graph kept open (tests, and before a workspace's folder is removed)."""
    with _STORES_LOCK:
        for _, store, lock in _STORES.values():
            with lock:
                store.close()
        _STORES.clear()
