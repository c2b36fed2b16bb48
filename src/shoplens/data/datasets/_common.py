"""What every dataset loader shares: its description, finding its files, reading source-specific
formats into frames, and handing frames to ``ws.ingest`` (so validation, quarantine and privacy apply).
The rows of catalog.toml (see ``_catalog``) and the functions of the datasets that need more than a row use
the same helpers.

Conventions of all loaders (docs/datasets.md):
- ids the source gives (product, customer, order ids) are kept verbatim; keys the source lacks are
  synthesized by ingest (file hash + record number) or, where a table needs a real key (orders), made
  from the dataset's name and the record's position, so that they are stable across re-loads;
- text formats ingest cannot read as they are (whitespace-separated, Python literals, one basket per
  line …) are converted here into string columns, and ingest parses and validates the values;
- a record that cannot even be split into fields stops the load with an :class:`InputError` naming the
  file and line (the published files have none; a truncated download does).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.data.ingest import IngestReport
    from shoplens.workspace import Workspace

Reports = dict[str, "IngestReport"]  # part key → what its ingest did
Files = dict[str, Path]  # file role (catalog.toml's ``files``) → the file found
Frames = dict[str, pd.DataFrame | pa.Table]  # part key → the rows a dataset's function built for it


@dataclass(frozen=True)
class Part:
    """One ingest of a loader: the file it reads, the canonical table it fills and what maps where."""

    key: str  # the key of its report in the dict returned by ``load``
    table: str  # canonical table
    file: str  # the source file, as named in the published dataset
    rows: int | None  # rows read from the reference copy (../shared/data/README.md's counts where it gives one)
    maps: str  # what maps where, for the docs


@dataclass(frozen=True)
class DatasetInfo:
    """A public dataset shoplens can load: where it comes from, its terms and how it maps."""

    name: str
    description: str
    url: str
    licence: str
    parts: tuple[Part, ...]
    notes: str = ""  # quirks of the data and how the loader treats them

    @property
    def tables(self) -> tuple[str, ...]:
        """The canonical tables the loader fills, in load order."""
        return tuple(dict.fromkeys(p.table for p in self.parts))

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.file for p in self.parts))

    @property
    def expected_rows(self) -> dict[str, int]:
        """Rows each report reads from the published files (report key → rows)."""
        return {p.key: p.rows for p in self.parts if p.rows is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "url": self.url, "licence": self.licence,
                "tables": list(self.tables), "files": list(self.files), "expected_rows": self.expected_rows,
                "parts": [asdict(p) for p in self.parts], "notes": self.notes}


# -- finding the files --------------------------------------------------------------------------------
def _existing(path: str | Path, dataset: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"no such file or folder (dataset {dataset!r})", file=str(path))
    return path


def _find(folder: Path, names: Sequence[str]) -> Path | None:
    """The first of ``names`` present in ``folder`` (names compared without case)."""
    present = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for name in names:
        if name.lower() in present:
            return present[name.lower()]
    return None


def _missing(folder: Path, dataset: str, names: Sequence[str]) -> InputError:
    wanted = " or ".join(repr(n) for n in names)
    found = sorted(p.name for p in folder.iterdir())[:8]
    return InputError(f"dataset {dataset!r} expects the file {wanted} here; the folder holds: "
                      f"{', '.join(found) or 'nothing'}", file=str(folder))


def require(folder: Path, dataset: str, names: Sequence[str]) -> Path:
    """The first of ``names`` in ``folder``; an :class:`InputError` naming the expected file otherwise."""
    found = _find(folder, names)
    if found is None:
        raise _missing(folder, dataset, names)
    return found


def find_files(path: str | Path, dataset: str, files: Mapping[str, Sequence[str]], given: str | None) -> Files:
    """The files of a dataset by role (``files``: role → accepted names, the first one published), found in
    the folder ``path`` or beside the file ``path``. A path to a file is itself the file of role ``given`` (any
    name; the only file of a one-file dataset); a name may use a file found before it: ``{sequences.stem}``.
    Every file is found before anything loads, so a missing one leaves the workspace as it was."""
    path = _existing(path, dataset)
    folder = path if path.is_dir() else path.parent
    found: Files = {}
    for role, names in files.items():
        if role == given and path.is_file():
            found[role] = path
        else:
            found[role] = require(folder, dataset, [name.format(**found) for name in names])
    return found


# -- reading source-specific formats ------------------------------------------------------------------
def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    if gz:
        return gzip.open(path, "rt", encoding=encoding)  # type: ignore[return-value]
    return open(path, encoding=encoding)


def numbered_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number, line without its end) for every non-blank line; plain or gzip text."""
    try:
        with _open_text(path, encoding) as text:
            for number, line in enumerate(text, start=1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield number, line
    except UnicodeDecodeError as exc:
        raise InputError(f"bytes that are not valid {encoding} ({exc.reason})", file=str(path)) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"the compressed data end abruptly ({exc})", file=str(path)) from None


def read_records(path: Path, parse: Callable[[str], Any] = json.loads) -> list[dict[str, Any]]:
    """One object per line: JSON (default) or, with ``parse=ast.literal_eval``, Python literals."""
    records = []
    for number, line in numbered_lines(path):
        try:
            value = parse(line)
        except (ValueError, SyntaxError, RecursionError, MemoryError) as exc:
            raise InputError(f"not a parseable record ({str(exc)[:120]})", file=str(path), row=number) from None
        if not isinstance(value, dict):
            raise InputError(f"expected an object, found {type(value).__name__}", file=str(path), row=number)
        records.append(value)
    return records


def read_fields(path: Path, width: int | None = None, sep: str | None = None,
                encoding: str = "utf-8") -> list[list[str]]:
    """Lines split on ``sep`` (``None``: runs of whitespace); each must have ``width`` fields (``None``: as
    many as the first line)."""
    rows: list[list[str]] = []
    for number, line in numbered_lines(path, encoding):
        fields = line.split(sep)
        width = width or len(fields)
        if len(fields) != width:
            raise InputError(f"expected {width} fields, found {len(fields)}", file=str(path), row=number)
        rows.append(fields)
    return rows


def read_csv(path: Path, columns: Sequence[str] = (), **options: Any) -> pd.DataFrame:
    """``pandas.read_csv`` reading every column as text (ingest parses and checks the values) where only an
    empty field is missing (a title "NA" or "None" stays text); a clear :class:`InputError` when it fails
    or lacks one of ``columns``."""
    return read_typed_csv(path, columns, **{"dtype": str, "keep_default_na": False, "na_values": [""], **options})


def read_typed_csv(path: Path, columns: Sequence[str] = (), **options: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with the types pandas infers (for a JSON extras column that should hold numbers and
    booleans as they are); a clear :class:`InputError` when it fails or lacks one of ``columns``."""
    try:
        frame = pd.read_csv(path, **options)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the file ({str(exc)[:200]})", file=str(path)) from None
    return expect_columns(frame, columns, path)


def expect_columns(frame: pd.DataFrame, names: Sequence[str], source: Path) -> pd.DataFrame:
    """``frame`` when it has the columns ``names``; an :class:`InputError` naming the first missing one."""
    for name in names:
        if name not in frame.columns:
            raise InputError(f"expected a column {name!r}; the columns are: {', '.join(map(str, frame.columns))}",
                             file=str(source), column=name)
    return frame


def to_number(values: pd.Series, source: Path) -> pd.Series:
    """Text to numbers (whole numbers stay integers) for an attributes/properties field; an
    :class:`InputError` naming the row and column of a value that is not a number."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        row = int(bad.to_numpy().argmax()) + 1
        raise InputError(f"not a number: {values[bad].iloc[0]!r}", file=str(source), row=row, column=str(values.name))
    return numbers.astype("Int64") if (numbers.dropna() % 1 == 0).all() else numbers


def json_text(value: Any) -> str | None:
    """A value as JSON text for an ``attributes`` column; ``None`` for nothing or an empty container."""
    if value is None or (isinstance(value, (list, dict, str)) and not value):
        return None
    return json.dumps(value, ensure_ascii=False)


_AMOUNT = re.compile(r"\$?\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]+)?")


def price_or_none(value: Any) -> str | None:
    """A listed price as plain decimal text: ``'$1,299.00'`` → ``'1299.00'``. ``None`` when it is missing, zero
    (the Amazon crawls write 0 for "no price shown") or not one amount (a range, leaked HTML)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    match = _AMOUNT.fullmatch(str(value).strip())
    if match is None:
        return None
    text = match.group(1).replace(",", "") + (match.group(2) or "")
    return text if float(text) > 0 else None


def category_path(parts: Sequence[Any]) -> str | None:
    """``['A', 'B', 'C']`` → ``'A > B > C'``; missing parts are left out."""
    names = [str(p).strip() for p in parts if p is not None and not pd.isna(p) and str(p).strip()]
    return " > ".join(names) or None


def mode_per_key(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """The most frequent non-missing ``value`` of each ``key`` (ties: the smallest value), indexed by key."""
    counts = frame.dropna(subset=[value]).groupby([key, value], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[value]


# -- loading --------------------------------------------------------------------------------------------
def ingest_frame(ws: Workspace, table: str, frame: pd.DataFrame | pa.Table, source: Path, *, progress: bool = False,
                 **options: Any) -> IngestReport:
    """Load a frame built from ``source`` through ``ws.ingest`` (named after the file in the report)."""
    return ws.ingest(table, frame, name=source.name, progress=progress, **options)
