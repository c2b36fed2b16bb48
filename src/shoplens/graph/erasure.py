"""Erasing a customer from the product graph: their Customer node goes with its BOUGHT relations, and the
reviews they wrote leave the example review ids of MENTIONS. The graph is changed in a copy renamed into place
(a failure leaves it as it was, and ``shoplens forget`` can be run again). A later ``shoplens graph build``
reads the cleaned warehouse.

Deleting in LadybugDB only marks the rows deleted: the ids' bytes stay in the database file. So the cleaned copy is
exported (``EXPORT DATABASE`` writes live rows only) and imported into a new file, which holds no trace."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from shoplens._files import replace_folder
from shoplens.data.erasure import Cleaned, Erasure, cleaner, relative
from shoplens.graph.folder import DATABASE_FILE, graph_folder, is_built


@cleaner("files", "product graph")
def scrub_graph(erasure: Erasure) -> list[Cleaned]:
    folder = graph_folder(erasure.ws)
    if not is_built(folder):
        return []
    customers = sorted(erasure.subject.customer_ids)
    reviews = sorted(erasure.subject.review_ids)
    if not _holds(folder, customers, reviews):
        return []
    removed: list[int] = []

    def fill(staging: Path) -> None:
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        exported = staging / ".erasure-export"
        removed.append(_remove(staging, customers, reviews, exported))
        _reimport(staging, exported)

    replace_folder(folder, fill)
    return [Cleaned(relative(erasure.ws, folder), "removed customer", removed[0])]


def _holds(folder: Path, customers: list[str], reviews: list[str]) -> bool:
    import ladybug

    database = ladybug.Database(str(folder / DATABASE_FILE), read_only=True)
    try:
        connection = ladybug.Connection(database)
        found = connection.execute("MATCH (c:Customer) WHERE c.id IN $ids RETURN count(*)",
                                   {"ids": customers}).get_next()[0]
        quoted = _quoting(connection, reviews)
        connection.close()
    finally:
        database.close()
    return bool(found or quoted)


def _quoting(connection: Any, reviews: list[str]) -> list[tuple[str, str, list[str]]]:
    """MENTIONS relations whose example reviews include ``reviews``: (product, aspect, the other examples).
    Filtered here: LadybugDB 0.22 cannot bind a parameter inside a list lambda."""
    if not reviews:
        return []
    gone = set(reviews)
    result = connection.execute("MATCH (p:Product)-[m:MENTIONS]->(a:Aspect) RETURN p.id, a.id, m.example_review_ids")
    rows = []
    while result.has_next():
        product, aspect, examples = result.get_next()
        if gone & set(examples or []):
            rows.append((product, aspect, [e for e in examples if e not in gone]))
    return rows


def _remove(folder: Path, customers: list[str], reviews: list[str], exported: Path) -> int:
    """Delete the customers (and their relations) and their review ids, then export the live rows to ``exported``;
    returns how many customers went."""
    import ladybug

    database = ladybug.Database(str(folder / DATABASE_FILE))
    try:
        connection = ladybug.Connection(database)
        found = connection.execute("MATCH (c:Customer) WHERE c.id IN $ids RETURN count(*)",
                                   {"ids": customers}).get_next()[0]
        connection.execute("MATCH (c:Customer) WHERE c.id IN $ids DETACH DELETE c", {"ids": customers})
        for product, aspect, kept in _quoting(connection, reviews):
            connection.execute("MATCH (p:Product)-[m:MENTIONS]->(a:Aspect) WHERE p.id = $p AND a.id = $a "
                               "SET m.example_review_ids = $kept", {"p": product, "a": aspect, "kept": kept})
        connection.execute(f"EXPORT DATABASE {_literal(exported)} (format='parquet')")
        connection.close()
    finally:
        database.close()
    return int(found)


def _literal(path: Path) -> str:
    """A path as a Cypher string literal (EXPORT/IMPORT DATABASE take no parameters; the path is ours, not a
    user's, and quotes are escaped all the same)."""
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _reimport(folder: Path, exported: Path) -> None:
    """Replace the database file in ``folder`` by a new one imported from ``exported``, then drop the export."""
    import ladybug

    for stale in folder.glob(DATABASE_FILE + "*"):  # the file and its write-ahead log
        stale.unlink()
    database = ladybug.Database(str(folder / DATABASE_FILE))
    try:
        connection = ladybug.Connection(database)
        connection.execute(f"IMPORT DATABASE {_literal(exported)}")
        connection.close()
    finally:
        database.close()
    shutil.rmtree(exported)
