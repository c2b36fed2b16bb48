"""What ``shoplens run`` remembers between runs, so that a rerun redoes only what changed (docs/operations.md,
"Incremental runs").

For each step of the last runs that ended ``ok``: the fingerprint of its inputs — each warehouse table it reads
(row count and a hash of every row's content, lineage columns left out), the deployed version of each model it
reads, the files it reads —, its parameters (profile, engine, the shop's timezone) and the code version (a hash of
shoplens' own source); when it ran, its summary, the JSON outputs later steps read from it, and the row counts its
result was *built on* (``basis``: what a step that reuses its model instead of retraining it keeps from the run that
trained it, so that many small days add up to a retrain). Kept in ``reports/run-state.json``, replaced whole after
every step (a run cut short keeps what its finished steps recorded).

A step names what it reads with ``reads=`` in :func:`shoplens.pipeline.step`: a table name (``"reviews"``), a
model (``"model:search-encoder"``: its ``DEPLOYED`` version) or a file or folder of the workspace
(``"file:assistant/policies"``: names, sizes and content hashes).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens._files import replace_file
from shoplens.errors import InputError

if TYPE_CHECKING:
    import duckdb

    from shoplens.workspace import Workspace

STATE_FILE = "run-state.json"  # in the workspace's reports/
MODEL_PREFIX = "model:"
FILE_PREFIX = "file:"
ABSENT = "absent"


@dataclass(frozen=True)
class Input:
    """One input of a step as it is now: ``rows`` for a table (0 when absent), ``digest`` of its content."""

    rows: int
    digest: str


@dataclass
class StepState:
    """A step's record after an ``ok`` run (see the module's docstring)."""

    fingerprint: str
    inputs: dict[str, dict[str, Any]]
    finished_at: str
    summary: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    basis: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> StepState:
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        return cls(**known)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of every Python and SQL file of the installed package (its version included, in ``__init__.py``): a
    changed line of code makes every step run again (what the code computes may have changed)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".sql") and p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def table_input(con: duckdb.DuckDBPyConnection, name: str) -> Input:
    """Row count and content hash of a warehouse table or view (lineage columns, named ``_…``, left out: the same
    rows ingested again are the same input). The hash is a sum over rows, so row order does not count."""
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position", [name]).fetchall()]
    if not columns:
        return Input(0, ABSENT)
    values = ", ".join(f'"{c}"' for c in columns if not c.startswith("_")) or "1"
    rows, total = con.execute(f'SELECT count(*), sum(hash({values})::HUGEINT) FROM "{name}"').fetchone()
    return Input(int(rows), f"{int(total or 0) & (2 ** 64 - 1):016x}.{len(columns)}")


def model_input(ws: Workspace, name: str) -> Input:
    pointer = ws.path / "models" / name / "DEPLOYED"
    return Input(0, pointer.read_text(encoding="utf-8").strip() if pointer.exists() else ABSENT)


def file_input(ws: Workspace, relative: str) -> Input:
    """A file or every file under a folder of the workspace: names and content hashes."""
    target = ws.path / relative
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else \
        [target] if target.is_file() else []
    if not files:
        return Input(0, ABSENT)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ws.path)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return Input(len(files), digest.hexdigest()[:16])


def read_inputs(ws: Workspace, reads: tuple[str, ...], cache: dict[str, Input] | None = None) -> dict[str, Input]:
    """The current state of each input named in ``reads``; tables found in ``cache`` are taken from it (a run
    caches the canonical tables, which no step writes)."""
    cache = {} if cache is None else cache
    out: dict[str, Input] = {}
    tables = [r for r in reads if not r.startswith((MODEL_PREFIX, FILE_PREFIX))]
    missing = [t for t in tables if t not in cache]
    if missing:
        with ws.connect() as con:
            for name in missing:
                out[name] = table_input(con, name)
    for name in reads:
        if name in cache:
            out[name] = cache[name]
        elif name.startswith(MODEL_PREFIX):
            out[name] = model_input(ws, name.removeprefix(MODEL_PREFIX))
        elif name.startswith(FILE_PREFIX):
            out[name] = file_input(ws, name.removeprefix(FILE_PREFIX))
    return out


def fingerprint(inputs: dict[str, Input], params: dict[str, Any]) -> str:
    body = json.dumps({"inputs": {k: asdict(v) for k, v in sorted(inputs.items())}, "params": params,
                       "code": code_version()}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def as_json(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples as lists; what JSON cannot hold as text)."""
    return json.loads(json.dumps(value, default=str))


def json_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """The outputs that survive a round trip through JSON (versions, flags); objects (a fitted model) are left out."""
    kept = {}
    for key, value in outputs.items():
        try:
            if json.loads(json.dumps(value)) == value:
                kept[key] = value
        except (TypeError, ValueError):
            continue
    return kept


class RunState:
    """The workspace's step records (``reports/run-state.json``)."""

    def __init__(self, ws: Workspace) -> None:
        self.path = ws.dir("reports") / STATE_FILE
        self.steps: dict[str, StepState] = {}
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise InputError(f"not valid JSON ({exc}); delete it or run with --full-rerun",
                                 file=str(self.path)) from None
            self.steps = {key: StepState.from_dict(value) for key, value in raw.get("steps", {}).items()}

    def get(self, key: str) -> StepState | None:
        return self.steps.get(key)

    def put(self, key: str, state: StepState) -> None:
        self.steps[key] = state
        replace_file(self.path, json.dumps({"steps": {k: asdict(v) for k, v in self.steps.items()}}, indent=1,
                                           default=str))


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
