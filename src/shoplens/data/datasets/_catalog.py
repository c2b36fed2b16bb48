"""The catalogue of public datasets, read from catalog.toml: what each dataset is, its terms, what maps where
(:class:`DatasetInfo`), and how each part loads (:class:`PartLoad`). A part whose row names a reader (``read =
"csv"`` …) loads by its row alone: the file read so, columns mapped, converted or set to a constant. A part
without ``read`` is built by its dataset's function (the datasets that do more than map columns).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from shoplens.data.datasets._common import (
    DatasetInfo,
    Files,
    Frames,
    Part,
    Reports,
    ingest_frame,
    price_or_none,
    read_csv,
    read_fields,
    read_records,
    read_typed_csv,
    to_number,
)
from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.data.ingest import IngestReport
    from shoplens.workspace import Workspace

CATALOG_FILE = "catalog.toml"
DATASET_KEYS = frozenset({"description", "url", "licence", "notes", "files", "given_file", "parts"})
PART_KEYS = frozenset({"key", "table", "file", "rows", "maps"})  # the docs: Part
INGEST_KEYS = frozenset({"mapping", "tz", "ts_format"})  # passed to ws.ingest
LOAD_KEYS = frozenset({"from", "read", "columns"}) | INGEST_KEYS
Data = pd.DataFrame | pa.Table | Path  # what a part ingests: rows, or the file itself
Build = Callable[[Files], Frames]


# -- what a row may name: its reader and the converters of its columns ---------------------------------------
@dataclass(frozen=True)
class Reader:
    """A ``read = "…"`` of catalog.toml: how a part's file becomes a frame, and the options its row may give."""

    read: Callable[[Path, Mapping[str, Any], Sequence[str]], pd.DataFrame] | None  # None: ingest reads the file
    options: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()


def _text_csv(path: Path, options: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    return read_csv(path, columns, **({"sep": options["delimiter"]} if "delimiter" in options else {}))


def _typed_csv(path: Path, options: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    return read_typed_csv(path, columns, dtype_backend="numpy_nullable", **options)


def _python_literals(path: Path, options: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    """Records need not all have every field: a missing one is empty (so ``columns`` are not checked)."""
    return pd.DataFrame(read_records(path, parse=ast.literal_eval))


def _fields(path: Path, options: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    names = list(options["fields"])
    rows = read_fields(path, len(names), sep=options.get("delimiter"), encoding=options.get("encoding", "utf-8"))
    return pd.DataFrame(rows, columns=names)


READERS: dict[str, Reader] = {
    "file": Reader(None, frozenset({"delimiter", "header"})),  # CSV that ingest streams as it is
    "csv": Reader(_text_csv, frozenset({"delimiter"})),  # every value text, ingest parses it
    "typed_csv": Reader(_typed_csv, frozenset({"true_values", "false_values"})),  # numbers and booleans typed
    "python_literals": Reader(_python_literals),  # one Python-literal dict per line, plain or gzip
    "fields": Reader(_fields, frozenset({"fields", "delimiter", "encoding"}), frozenset({"fields"})),  # no header
}


def _price(values: pd.Series, source: Path) -> pd.Series:
    return values.map(price_or_none)


def _integer(values: pd.Series, source: Path) -> pd.Series:
    return values.astype("Int64")  # 1403852400 in a JSON extras column, not 1403852400.0


# ``to = "…"`` of a column: applied in the order given, to the source column (whose name an error gives)
CONVERTERS: dict[str, Callable[[pd.Series, Path], pd.Series]] = {
    "price": _price, "number": to_number, "integer": _integer}


# -- the rows, read ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A column of the frame a part's row builds: a source column (converted in order) or a constant."""

    source: str | None = None
    value: Any = None
    convert: tuple[str, ...] = ()

    def values(self, frame: pd.DataFrame, path: Path) -> Any:
        if self.source is None:
            return self.value
        if self.source not in frame:  # a field no record has (only readers that do not check columns get here)
            return None
        values = frame[self.source]
        for name in self.convert:
            values = CONVERTERS[name](values, path)
        return values


@dataclass(frozen=True)
class PartLoad:
    """How one part loads: its file (a role of the dataset's ``files``), the reader and its options, the columns
    of the frame it builds (none: the frame as read) and the options of its ingest."""

    key: str
    table: str
    source: str
    read: str | None  # a READERS name; None: the dataset's function builds the frame
    options: Mapping[str, Any]
    columns: Mapping[str, Column]
    ingest: Mapping[str, Any]

    @property
    def needed(self) -> list[str]:
        """The source columns the file must have."""
        if self.columns:
            return [c.source for c in self.columns.values() if c.source is not None]
        return [name for name, target in self.ingest.get("mapping", {}).items() if target]

    def read_from(self, path: Path) -> Data:
        """What ingest loads: the frame the row describes, or the file itself (``read = "file"``)."""
        if self.read is None:
            raise ValueError(f"part {self.key!r} is built by its dataset's function, it has no reader")
        reader = READERS[self.read]
        if reader.read is None:
            return path
        frame = reader.read(path, self.options, self.needed)
        if not self.columns:
            return frame
        return pd.DataFrame({name: c.values(frame, path) for name, c in self.columns.items()}, index=frame.index)

    def ingest_into(self, ws: Workspace, data: Data, path: Path, *, progress: bool) -> IngestReport:
        if isinstance(data, Path):
            return ws.ingest(self.table, data, progress=progress, **self.options, **self.ingest)
        return ingest_frame(ws, self.table, data, path, progress=progress, **self.ingest)


@dataclass(frozen=True)
class Loading:
    """How a dataset loads: its files by role (accepted names, the published one first), the role a path to a
    file stands for, and its parts in load order."""

    files: Mapping[str, tuple[str, ...]]
    given_file: str | None
    parts: tuple[PartLoad, ...]

    @property
    def built(self) -> tuple[str, ...]:
        """The parts the dataset's function builds."""
        return tuple(p.key for p in self.parts if p.read is None)

    def load(self, ws: Workspace, files: Files, build: Build | None, *, progress: bool) -> Reports:
        """Every part read (or built) first, so that bad input stops the load before anything is written;
        then ingested in order."""
        built = build(files) if build is not None else {}
        data = {p.key: built[p.key] if p.read is None else p.read_from(files[p.source]) for p in self.parts}
        return {p.key: p.ingest_into(ws, data[p.key], files[p.source], progress=progress) for p in self.parts}


# -- reading catalog.toml --------------------------------------------------------------------------------
class _Where:
    """Where in catalog.toml a value is, for errors that name it."""

    def __init__(self, source: str, *names: str) -> None:
        self.source, self.names = source, names

    def inside(self, name: str) -> _Where:
        return _Where(self.source, *self.names, name)

    def error(self, message: str) -> InputError:
        return InputError(f"{'.'.join(self.names)}: {message}", file=self.source)

    def check_keys(self, entry: Mapping[str, Any], allowed: frozenset[str], required: frozenset[str]) -> None:
        unknown, missing = sorted(set(entry) - allowed), sorted(required - set(entry))
        if unknown:
            raise self.error(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
        if missing:
            raise self.error(f"missing key {missing[0]!r}")


def read_catalog(text: str, source: str = CATALOG_FILE) -> dict[str, tuple[DatasetInfo, Loading]]:
    """Each dataset of the catalogue's text: its description and how it loads; an :class:`InputError` naming
    the dataset, part and key of anything the loaders could not follow."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=source) from None
    return {name: _dataset(name, entry, _Where(source, name)) for name, entry in table.items()}


def _dataset(name: str, entry: dict[str, Any], where: _Where) -> tuple[DatasetInfo, Loading]:
    where.check_keys(entry, DATASET_KEYS, DATASET_KEYS - {"notes", "given_file"})
    files = {role: tuple(names) for role, names in entry["files"].items()}
    only = next(iter(files)) if len(files) == 1 else None
    given = entry.get("given_file", only)
    if given is not None and given not in files:
        raise where.inside("given_file").error(f"{given!r} is not one of the files ({', '.join(files)})")
    parts = [_part(part, files, only, where.inside(f"parts[{i}]")) for i, part in enumerate(entry["parts"])]
    info = DatasetInfo(name=name, description=entry["description"], url=entry["url"], licence=entry["licence"],
                       parts=tuple(doc for doc, _ in parts), notes=entry.get("notes", ""))
    return info, Loading(files=files, given_file=given, parts=tuple(load for _, load in parts))


def _part(entry: dict[str, Any], files: Mapping[str, tuple[str, ...]], only: str | None,
          where: _Where) -> tuple[Part, PartLoad]:
    read = entry.get("read")
    if read is not None and read not in READERS:
        raise where.inside("read").error(f"no reader {read!r} (readers: {', '.join(READERS)})")
    reader_keys = READERS[read].options if read else frozenset()
    where.check_keys(entry, PART_KEYS | LOAD_KEYS | reader_keys,
                     PART_KEYS - {"rows"} | (READERS[read].required if read else frozenset()))
    source = entry.get("from", only)
    if source is None:
        raise where.error(f"missing key 'from': which of the files ({', '.join(files)})")
    if source not in files:
        raise where.inside("from").error(f"{source!r} is not one of the files ({', '.join(files)})")
    columns = {name: _column(spec, where.inside(f"columns.{name}")) for name, spec in entry.get("columns", {}).items()}
    _check_columns(read, columns, entry, where)
    doc = Part(entry["key"], entry["table"], entry["file"], entry.get("rows"), entry["maps"])
    return doc, PartLoad(key=entry["key"], table=entry["table"], source=source, read=read,
                         options={k: entry[k] for k in reader_keys if k in entry}, columns=columns,
                         ingest={k: entry[k] for k in INGEST_KEYS if k in entry})


def _column(spec: str | dict[str, Any], where: _Where) -> Column:
    """``"asin"`` (a source column), ``{ column = "rating", to = "number" }`` (converted; ``to`` may list several)
    or ``{ value = "USD" }`` (a constant)."""
    if isinstance(spec, str):
        return Column(source=spec)
    if "value" in spec:
        where.check_keys(spec, frozenset({"value"}), frozenset())
        return Column(value=spec["value"])
    where.check_keys(spec, frozenset({"column", "to"}), frozenset({"column"}))
    convert = (spec["to"],) if isinstance(spec.get("to"), str) else tuple(spec.get("to", ()))
    for name in convert:
        if name not in CONVERTERS:
            raise where.error(f"no converter {name!r} (converters: {', '.join(CONVERTERS)})")
    return Column(source=spec["column"], convert=convert)


def _check_columns(read: str | None, columns: Mapping[str, Column], entry: Mapping[str, Any], where: _Where) -> None:
    if columns and (read is None or READERS[read].read is None):
        raise where.error("columns need a reader that makes a frame (a function's part maps its own columns)")
    if columns and "mapping" in entry:
        raise where.error("give columns or mapping, not both")
    fields = entry.get("fields")
    unknown = [c.source for c in columns.values() if fields is not None and c.source not in (None, *fields)]
    if unknown:
        raise where.error(f"column {unknown[0]!r} is not one of the fields ({', '.join(fields)})")
