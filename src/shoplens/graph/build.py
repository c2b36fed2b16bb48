"""Building the graph: warehouse → Parquet files → ``COPY`` into a new LadybugDB database → renamed into place.

The build writes every node and relation table as a Parquet file (DuckDB writes most of them directly) into a
staging folder inside the workspace, creates the schema in a fresh database there, bulk-loads each file with
one ``COPY`` and only then renames the folder into ``graph/`` (:func:`shoplens._files.replace_folder`): a reader
sees the old graph or the new one, and a failed build leaves the old one usable. Building twice from the same
warehouse gives the same graph.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from shoplens._files import replace_folder
from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.graph import schema, sources
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
from shoplens.progress import progress_bar

if TYPE_CHECKING:
    from shoplens.graph.store import GraphStore
    from shoplens.workspace import Workspace

def create_database(folder: Path, written: sources.Written, *, threads: int = 0) -> dict[str, int]:
    """A new database in ``folder`` with the schema, every written file loaded by ``COPY``; row counts."""
    import ladybug

    database = ladybug.Database(str(folder / DATABASE_FILE), max_num_threads=threads)
    try:
        connection = ladybug.Connection(database)
        for table in (*schema.NODES, *schema.RELS):
            connection.execute(table.ddl())
        counts = {}
        for table in (*schema.NODE_NAMES, *schema.REL_NAMES):  # nodes before the relations that join them
            path, rows = written.files.get(table, (None, 0))
            if path is not None and rows:
                connection.execute(f"COPY {table} FROM '{path.as_posix()}'")
            counts[table] = rows
        connection.close()
    finally:
        database.close()
    return counts


@dataclass(eq=False, repr=False)
class ProductGraph(Estimator):
    """The product knowledge graph of a workspace (``graph/`` in it), built from the warehouse.

    ``similar_k`` nearest products by text embedding (``encoder``, a packaged name of :mod:`shoplens.text`;
    ``None`` leaves SIMILAR_TO out); VIEWED_TOGETHER keeps pairs viewed together in at least
    ``min_view_sessions`` sessions, each product's ``view_top_k`` strongest."""

    registry_name: ClassVar[str] = ""  # the graph lives in the workspace's graph/ folder, not in the registry
    capability: ClassVar[str] = "graph"

    similar_k: int = 10
    encoder: str | None = "minilm"
    _: KW_ONLY
    min_view_sessions: int = 2
    view_top_k: int = 20
    threads: int = 0  # LadybugDB's threads for the load (0: all cores)

    # -- building -------------------------------------------------------------------------------------
    def fit(self, data: Workspace, *, progress: bool = False, target: Path | None = None) -> ProductGraph:
        """Build the graph of workspace ``data`` into ``target`` (default ``graph/`` in the workspace)."""
        self._check_params()
        target = Path(target) if target is not None else graph_folder(data)
        imported = imported_frames(target)  # kept across rebuilds
        started = time.perf_counter()
        self.timings_: dict[str, float] = {}
        self.written_: dict[str, int] = {}

        def fill(staging: Path) -> None:
            files = staging / "load"
            files.mkdir()
            written = sources.Written(files)
            self._write_sources(data, written, imported, progress)
            clock = time.perf_counter()
            self.counts_ = create_database(staging, written, threads=self.threads)
            self.timings_["load"] = round(time.perf_counter() - clock, 3)
            self.missing_ = dict(written.missing)
            _keep_imported(staging, imported)
            shutil.rmtree(files)
            self._write_manifest(data, staging, time.perf_counter() - started, imported)

        replace_folder(target, fill)
        self.path_ = target
        return self

    def _check_params(self) -> None:
        for name in ("similar_k", "min_view_sessions", "view_top_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "similar_k" else 1):
                raise InputError(f"ProductGraph {name}={value!r}: expected a whole number ≥ "
                                 f"{0 if name == 'similar_k' else 1}")

    def _steps(self, imported: tuple[pd.DataFrame, pd.DataFrame]) -> list[tuple[str, Callable[..., None]]]:
        steps: list[tuple[str, Callable[..., None]]] = [
            ("catalog", sources.catalog), ("attributes", sources.attributes), ("purchases", sources.purchases),
            ("bought together", sources.bought_together),
            ("viewed together", lambda con, w: sources.viewed_together(con, w, self.min_view_sessions,
                                                                       self.view_top_k)),
            ("also bought", sources.also_bought), ("aspects", sources.aspects), ("questions", sources.questions),
            ("entities", lambda con, w: sources.entities(con, w, imported)),
        ]
        return steps

    def _write_sources(self, ws: Workspace, written: sources.Written, imported: tuple[pd.DataFrame, pd.DataFrame],
                       progress: bool) -> None:
        steps = self._steps(imported)
        similar = self.encoder is not None and self.similar_k > 0
        with progress_bar("building the product graph", len(steps) + similar + 1, enabled=progress,
                          unit="steps") as bar, ws.connect() as con:
            for name, write in steps:
                clock = time.perf_counter()
                write(con, written)
                self.timings_[name] = round(time.perf_counter() - clock, 3)
                bar.advance()
            texts = sources.product_texts(con) if similar else None
        if texts is not None:
            clock = time.perf_counter()
            self._similar(ws, written, texts, progress)
            self.timings_["similar"] = round(time.perf_counter() - clock, 3)
        elif self.encoder is None:
            written.missing["SIMILAR_TO"] = "no encoder chosen (encoder=None)"

    def _similar(self, ws: Workspace, written: sources.Written, texts: pd.DataFrame, progress: bool) -> None:
        from shoplens.text import load_encoder

        if len(texts) < 2:
            written.missing["SIMILAR_TO"] = "fewer than two products"
            return
        vectors = load_encoder(self.encoder, workspace=ws).encode(texts["text"].fillna("").tolist(),
                                                                  show_progress=progress)
        sources.similar(written, texts["product_id"].to_numpy(dtype=object), vectors, self.similar_k)

    def _write_manifest(self, ws: Workspace, folder: Path, seconds: float,
                        imported: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        self.manifest_ = {
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "seconds": round(seconds, 3),
            "data_fingerprint": ws.data_fingerprint(), "params": self.card_params(), "counts": self.counts_,
            "missing": self.missing_, "timings": self.timings_,
        }
        if len(imported[0]) or len(imported[1]):
            self.manifest_["imported"] = {"triples": len(imported[0]), "links": len(imported[1])}
        (folder / MANIFEST_FILE).write_text(json.dumps(self.manifest_, indent=2), encoding="utf-8")

    # -- the verbs ------------------------------------------------------------------------------------
    def store(self) -> GraphStore:
        """A read-only view of the built graph (queries, neighbours, paths, stats)."""
        from shoplens.graph.store import GraphStore

        self._check_fitted()
        return GraphStore(self.path_)

    def query(self, cypher: str, params: dict[str, Any] | None = None, **limits: Any) -> Any:
        with self.store() as store:
            return store.query(cypher, params, **limits)

    def neighbours(self, product_id: str, **options: Any) -> pd.DataFrame:
        with self.store() as store:
            return store.neighbours(product_id, **options)

    def paths(self, source: str, target: str, max_hops: int = 3, **options: Any) -> list[Any]:
        with self.store() as store:
            return store.paths(source, target, max_hops, **options)

    def stats(self) -> dict[str, Any]:
        with self.store() as store:
            return store.stats()

    def _check_fitted(self) -> None:
        if not hasattr(self, "path_"):
            raise NotFound("the product graph is not built yet; call fit(workspace) first")
        require_built(self.path_)

    # -- persistence and evaluation ---------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """A copy of the built graph folder at ``path`` (written whole, then renamed into place)."""
        self._check_fitted()
        source = self.path_

        def fill(staging: Path) -> None:
            shutil.copytree(source, staging, dirs_exist_ok=True)

        return replace_folder(Path(path), fill)

    @classmethod
    def load(cls, path: str | Path) -> ProductGraph:
        folder = require_built(Path(path))
        manifest = read_manifest(folder)
        model = cls.from_saved_params(manifest.get("params", {}))
        model.path_, model.manifest_ = folder, manifest
        model.counts_, model.missing_ = manifest["counts"], manifest.get("missing", {})
        model.timings_ = manifest.get("timings", {})
        return model

    @classmethod
    def open(cls, ws: Workspace) -> ProductGraph:
        """The workspace's built graph (``NotFound`` when none was built)."""
        return cls.load(graph_folder(ws))

    def evaluate(self, data: Workspace, *, dataset: str | None = None, n_products: int = 200,
                 seed: int = 0, **protocol: Any) -> list[Any]:
        """The two-hop question "which categories are the products bought together with P in?" asked of the
        graph (Cypher) and of the warehouse (DuckDB SQL joins) for ``n_products`` random products: both must
        give the same answers; latency p50/p99 of each (see :mod:`shoplens.graph.speed`)."""
        from shoplens.graph.speed import two_hop_records

        self._check_fitted()
        return two_hop_records(self, data, dataset=dataset, n_products=n_products, seed=seed, **protocol)


def _keep_imported(staging: Path, imported: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    if len(imported[0]) or len(imported[1]):
        folder = staging / IMPORTED_DIR
        folder.mkdir(exist_ok=True)
        imported[0].to_parquet(folder / IMPORTED_TRIPLES, index=False)
        imported[1].to_parquet(folder / IMPORTED_LINKS, index=False)
