"""Importing external knowledge: triples (head, relation, tail) and item ↔ entity links in RecBole's atomic-file
format (``recbole_ml100k_kg``: ``ml-100k.kg`` and ``ml-100k.link``), tab-separated with a typed header line::

    head_id:token   relation_id:token   tail_id:token
    m.04ctbw8       film.producer.film  m.0bln8

    item_id:token   entity_id:token
    476             m.08gjyx

Both files are read and checked whole first (a malformed line is an ``InputError`` naming the file and its line
number); only then is the graph changed, in a copy that is renamed into place, so nothing is ever half-imported.
Entities become ``Entity`` nodes, triples ``RELATED`` relations with the relation's name as a property, links
``LINKED_TO`` from the product (the item id is the product id) to its entity. Imports add up (a triple imported
twice is kept once) and survive ``shoplens graph build``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shoplens._files import replace_folder
from shoplens.errors import InputError
from shoplens.graph import sources
from shoplens.graph.folder import (
    DATABASE_FILE,
    IMPORTED_DIR,
    IMPORTED_LINKS,
    IMPORTED_TRIPLES,
    MANIFEST_FILE,
    graph_folder,
    imported_frames,
    read_manifest,
    require_built,
)

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

TRIPLE_FIELDS = ("head", "relation", "tail")
LINK_FIELDS = ("item", "entity")
ENTITY_TABLES = ("Entity", "RELATED", "LINKED_TO")


@dataclass
class ImportReport:
    """What an import added: triples and links read, the graph's totals after it, links left out because their
    item is not a product of the graph."""

    triples_read: int
    links_read: int
    entities: int
    relations: int
    links: int
    links_without_product: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def read_atomic(path: str | Path, fields: tuple[str, ...]) -> pd.DataFrame:
    """A RecBole atomic file whose header names ``fields`` in order (``head_id:token`` …), as text columns;
    every line must have exactly that many non-empty tab-separated values."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    rows: list[list[str]] = []
    with path.open(encoding="utf-8", errors="strict") as handle:
        try:
            header = handle.readline()
            _check_header(path, header, fields)
            for number, line in enumerate(handle, start=2):
                line = line.rstrip("\n").rstrip("\r")
                if not line.strip():
                    continue
                values = line.split("\t")
                if len(values) != len(fields) or not all(v.strip() for v in values):
                    raise InputError(f"expected {len(fields)} non-empty tab-separated values "
                                     f"({', '.join(fields)}), found {len(values)}: {line[:80]!r}",
                                     file=str(path), row=number)
                rows.append([v.strip() for v in values])
        except UnicodeDecodeError as error:
            raise InputError(f"not UTF-8 text ({error.reason})", file=str(path)) from None
    return pd.DataFrame(rows, columns=list(fields), dtype=object)


def _check_header(path: Path, header: str, fields: tuple[str, ...]) -> None:
    names = [part.split(":")[0].strip().lower() for part in header.rstrip("\r\n").split("\t")]
    wanted = [f"{f}_id" for f in fields]
    if names != wanted:
        example = "\t".join(f"{w}:token" for w in wanted)
        raise InputError(f"expected the header line {example!r}, found {header.strip()[:80]!r}", file=str(path),
                         row=1)


def import_triples(ws: Workspace, triples_path: str | Path, link_path: str | Path | None = None) -> ImportReport:
    """Add the triples (and item ↔ entity links) of RecBole atomic files to the workspace's built graph."""
    triples = read_atomic(triples_path, TRIPLE_FIELDS)
    links = read_atomic(link_path, LINK_FIELDS) if link_path is not None else pd.DataFrame(columns=LINK_FIELDS)
    target = require_built(graph_folder(ws))
    before = imported_frames(target)
    imported = (pd.concat([before[0], triples], ignore_index=True).drop_duplicates(ignore_index=True),
                pd.concat([before[1], links.rename(columns={"item": "item_id", "entity": "entity_id"})],
                          ignore_index=True).drop_duplicates(ignore_index=True))
    counts: dict[str, int] = {}

    def fill(staging: Path) -> None:
        shutil.copytree(target, staging, dirs_exist_ok=True)
        files = staging / "load"
        files.mkdir()
        written = sources.Written(files)
        with ws.connect() as con:
            sources.entities(con, written, imported)
        counts.update(_reload_entities(staging, written))
        shutil.rmtree(files)
        _save_imported(staging, imported)
        _update_manifest(staging, counts, imported)

    replace_folder(target, fill)
    products = _product_ids(ws)
    return ImportReport(triples_read=len(triples), links_read=len(links), entities=counts["Entity"],
                        relations=counts["RELATED"], links=counts["LINKED_TO"],
                        links_without_product=int((~links["item"].isin(products)).sum()))


def _reload_entities(folder: Path, written: sources.Written) -> dict[str, int]:
    """Replace the Entity part of the database in ``folder`` by the files ``written``."""
    import ladybug

    database = ladybug.Database(str(folder / DATABASE_FILE))
    try:
        connection = ladybug.Connection(database)
        connection.execute("MATCH (e:Entity) DETACH DELETE e")
        counts = {}
        for table in ENTITY_TABLES:
            path, rows = written.files[table]
            if rows:
                connection.execute(f"COPY {table} FROM '{path.as_posix()}'")
            counts[table] = rows
        connection.close()
    finally:
        database.close()
    return counts


def _save_imported(folder: Path, imported: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    (folder / IMPORTED_DIR).mkdir(exist_ok=True)
    imported[0].to_parquet(folder / IMPORTED_DIR / IMPORTED_TRIPLES, index=False)
    imported[1].to_parquet(folder / IMPORTED_DIR / IMPORTED_LINKS, index=False)


def _update_manifest(folder: Path, counts: dict[str, int], imported: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    manifest = read_manifest(folder)
    manifest["counts"].update(counts)
    manifest["imported"] = {"triples": len(imported[0]), "links": len(imported[1]),
                            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _product_ids(ws: Workspace) -> set[str]:
    return set(ws.sql("SELECT product_id FROM products WHERE product_id IS NOT NULL")["product_id"])

