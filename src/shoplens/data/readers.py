"""Streaming readers for ingest: CSV (any delimiter and encoding), JSON lines, Parquet, data frames.

Every reader yields :class:`SourceBatch` es: an Arrow table of the source's own columns plus ``__row``
(the 1-based record number in the source, header and blank lines excluded) and the records it could
not parse (:class:`Reject`), in order. Each reader counts the bytes it consumes (for the progress bar)
and hashes them (keys of key-less sources are derived from the file hash and record number).

CSV has two paths: a fast one (Arrow's multi-threaded parser) used while every record parses, and an
exact one (Python's csv module) that the caller restarts from scratch with when the fast one meets a
record it cannot parse, so that every rejected record is reported with its record number. Plain UTF-8
files may skip both: :meth:`CsvSource.duckdb_reader` gives the ``read_csv`` call with which DuckDB reads
the whole file in the same dialect (ingest's fastest path, which also falls back to these readers).
"""

from __future__ import annotations

import ast
import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from shoplens.data.checks import literal
from shoplens.errors import InputError

ROW = "__row"
SAMPLE_BYTES = 256 * 1024
DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024
BATCH_ROWS = 200_000
SCAN_BYTES = 1 << 16  # chunks of the scan before DuckDB's reader: array operations run fastest in the CPU cache
DELIMITERS = (",", "\t", ";", "|")
FORMATS = ("csv", "jsonl", "pylines", "parquet")  # pylines: one Python-literal dict per line (Amazon Q&A)

ProgressFn = Callable[[int], None]


@dataclass
class Reject:
    """A record the reader could not parse."""

    row: int
    reason: str
    raw: str | None = None


@dataclass
class SourceBatch:
    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    fallback_rows: list[int] = field(default_factory=list)  # records read with the fallback encoding


def numbered(batch: pa.RecordBatch, first_row: int) -> pa.Table:
    """The batch as a table with its 1-based record numbers in ``__row``, starting after ``first_row``."""
    numbers = np.arange(first_row + 1, first_row + batch.num_rows + 1, dtype=np.int64)
    # from the buffer: pa.array(numpy array) imports pandas (a second or more) to look for pandas types
    rows = pa.Array.from_buffers(pa.int64(), len(numbers), [None, pa.py_buffer(numbers)])
    return _binary_as_text(pa.Table.from_batches([batch])).append_column(ROW, rows)


def _binary_as_text(table: pa.Table) -> pa.Table:
    """Binary columns (Parquet BYTE_ARRAY without a string annotation) as UTF-8 text; bytes that are not
    UTF-8 become U+FFFD rather than failing the file."""
    for i, field_ in enumerate(table.schema):
        if pa.types.is_binary(field_.type) or pa.types.is_large_binary(field_.type):
            column = table.column(i)
            try:
                text = column.cast(pa.string())
            except pa.ArrowInvalid:
                text = pa.array([None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()],
                                pa.string())
            table = table.set_column(i, field_.name, text)
    return table


class FastPathFailed(Exception):
    """The fast CSV parser met a record it cannot handle; restart on the exact path."""


class _CountingReader(io.RawIOBase):
    """Wraps a binary file: counts and hashes the bytes read, reports progress."""

    def __init__(self, raw: io.BufferedReader, on_bytes: ProgressFn | None) -> None:
        self._raw = raw
        self._on_bytes = on_bytes
        self.hasher = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n:
            self.hasher.update(memoryview(buffer)[:n])
            self.count += n
            if self._on_bytes:
                self._on_bytes(n)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def detect_format(path: Path, declared: str | None) -> str:
    if declared:
        declared = declared.lower()
        if declared in ("json", "ndjson"):
            declared = "jsonl"
        if declared not in FORMATS:
            raise InputError(f"unknown format {declared!r}; use one of {', '.join(FORMATS)}", file=str(path))
        return declared
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_sample(path: Path, gz: bool) -> bytes:
    """The first bytes of the (decompressed) file; a truncated gzip still gives what it holds."""
    with open(path, "rb") as f:
        if not gz:
            return f.read(SAMPLE_BYTES)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = b""
        try:
            while len(out) < SAMPLE_BYTES:
                chunk = f.read(64 * 1024)
                if not chunk:
                    break
                out += inflater.decompress(chunk, SAMPLE_BYTES - len(out))
        except zlib.error as exc:
            raise InputError(f"not readable as gzip ({exc})", file=str(path)) from None
        return out


def detect_encoding(sample: bytes, file: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 by BOM, else what charset-normalizer finds (GBK, Latin-1 …)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and len(sample) == SAMPLE_BYTES:
            return "utf-8"  # a character cut in two by the sample's end
    matches = list(from_bytes(sample[: 64 * 1024]))
    if not matches:
        raise InputError("cannot tell the text encoding (not UTF-8, GBK or Latin-1); pass --encoding", file=file)
    names = [codecs.lookup(m.encoding).name for m in matches]
    if names[0] in ("gbk", "gb2312", "hz", "gb18030"):
        return "gb18030"  # a superset of GBK and GB2312
    # Western European text fits several single-byte code pages equally well; Windows-1252 (a superset of
    # the printable Latin-1) is by far the most common in shop exports.
    if "cp1252" in names or names[0] in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252" if _decodes(sample, "cp1252") else "latin-1"
    return names[0]


# A file may mix UTF-8 lines with lines in a single-byte Western code page (two systems writing to one
# export): it is read as UTF-8, each record that is not valid UTF-8 in the code page (counted by ingest).
FALLBACK_ENCODINGS = {"cp1252": "Windows-1252", "latin-1": "Latin-1"}
MIN_LETTER_SHARE = 0.8  # of the non-ASCII characters of the non-UTF-8 lines, read in the code page
_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")


def choose_encodings(sample: bytes, file: str, declared: str | None) -> tuple[str, str | None]:
    """The file's encoding and the fallback for records that are not valid in it (``None``: no fallback).

    A declared encoding, or a byte-order mark, is taken at its word. Otherwise a sample holding both valid
    UTF-8 lines with non-ASCII characters and lines that are not UTF-8 but read as Western letters in
    Windows-1252 (or Latin-1) is a mixed file: UTF-8 first (a Latin-1 line is almost never valid UTF-8), the
    code page for the records that are not. Else the whole file has the one encoding :func:`detect_encoding`
    finds."""
    if declared:
        return text_encoding(declared), None
    if not sample.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        fallback = _mixed_with(sample)
        if fallback:
            return "utf-8", fallback
    return detect_encoding(sample, file), None


def _mixed_with(sample: bytes) -> str | None:
    """The code page of the sample's non-UTF-8 lines when it also holds non-ASCII UTF-8 lines, else ``None``."""
    lines = sample.split(b"\n")
    if len(sample) == SAMPLE_BYTES:
        lines = lines[:-1]  # the last line of a full sample may be cut inside a character
    other, utf8 = [], False
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            other.append(line)
    if not (utf8 and other):
        return None
    raw = b"\n".join(other)
    encoding = "cp1252" if _decodes(raw, "cp1252") else "latin-1"
    # Western text in a code page has accented letters alone between ASCII ones ("Malmö": a run of one byte)
    # that read as letters; double-byte text (GB2312) comes in runs of two bytes per character, many of which
    # read as symbols ("±±¾©"): not a mix
    runs = [len(run) for run in _HIGH_RUNS.findall(raw)]
    high = [c for c in raw.decode(encoding) if ord(c) > 127]
    western = (any(n % 2 for n in runs)
               and sum(c.isalpha() for c in high) >= MIN_LETTER_SHARE * len(high))
    return encoding if western else None


def redecode(text: str, fallback: str) -> str | None:
    """Text read with ``surrogateescape`` whose undecodable bytes are decoded again with ``fallback``; ``None``
    when the fallback cannot decode them either."""
    if not _SURROGATES.search(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode(fallback)
    except UnicodeDecodeError:
        return None


def _either(encoding: str, fallback: str | None) -> str:
    return f"{encoding} or {fallback}" if fallback else encoding


def text_encoding(name: str) -> str:
    """``name`` when Python decodes text with it (``base64`` and the like are not text encodings)."""
    try:
        b"a".decode(name)  # an empty input would not even look the codec up
    except UnicodeDecodeError:
        pass  # a text encoding for which one byte is too short (UTF-16, UTF-32)
    except LookupError:
        raise InputError(f"unknown text encoding {name!r}; e.g. utf-8, cp1252, gb18030, utf-16") from None
    return name


DELIMITER_PATTERN = r'^[\x01-\x09\x0b\x0c\x0e-\x21\x23-\x7f]$'  # one ASCII character: no NUL, line break or quote


def check_delimiter(delimiter: str) -> str:
    """``delimiter`` when the CSV readers can split on it (Arrow's reads ASCII delimiters only)."""
    if not re.fullmatch(DELIMITER_PATTERN, delimiter):
        raise InputError(f"delimiter {delimiter!r}: give one ASCII character other than a quote or a line break, "
                         "e.g. ';' or '|'")
    return delimiter


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields most consistently."""
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _clean_header(names: list[str], file: str) -> list[str]:
    cleaned = []
    for i, name in enumerate(names, start=1):
        name = name.strip().lstrip("\ufeff").strip()
        cleaned.append(name or f"column_{i}")
    seen: set[str] = set()
    dupes = sorted({n for n in cleaned if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise InputError(f"the header repeats column names: {', '.join(dupes)}", file=file, row=0)
    return cleaned


_SURROGATES = re.compile("[\udc80-\udcff]")


def _undecodable_column(fields: list[str], columns: list[str]) -> str | None:
    """The first column whose value holds bytes the encoding could not decode, if any."""
    if not _SURROGATES.search("".join(fields)):
        return None
    for i, value in enumerate(fields):
        if _SURROGATES.search(value):
            return columns[i] if i < len(columns) else f"field {i + 1}"
    return None


def _printable(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text)


def _duckdb_lenient(delimiter: bytes) -> re.Pattern[bytes]:
    """Where DuckDB's CSV reader accepts a record that Python's csv module reads otherwise, even in strict mode:
    spaces between a delimiter or line end and a quote are dropped (``1, "a"`` and ``"a" ,2``: Python keeps them),
    and empty fields beyond the header's width are dropped (``1,2,`` or ``1,2,""`` under a two-column header: Python
    sees three fields and rejects the record). Found without parsing, so also where such bytes sit inside a quoted
    value, or end a record whose last field is legitimately empty: such files are left to the other readers."""
    ends = rb"[\r\n" + delimiter + rb"]"
    return re.compile(ends + rb'[ ]+"|"[ ]+' + ends + rb"|" + delimiter + rb'(?:"")?[\r\n]')


_QUOTE, _SPACE = ord('"'), ord(" ")


def _may_be_lenient(text: bytes, delimiter: int) -> bool:
    """Whether ``text`` may hold a match of :func:`_duckdb_lenient` — a space beside a quote, a delimiter (with or
    without ``""``) before a line end — found with array operations (the bytes before each line end; the space
    test only where a space occurs at all), so that the regular expression (some hundred MB/s) runs only on the
    parts of a file that may match and a clean file is scanned at memory speed."""
    data = np.frombuffer(text, np.uint8)
    if b" " in text:
        quote, space = data == _QUOTE, data == _SPACE
        if (quote[1:] & space[:-1]).any() or (quote[:-1] & space[1:]).any():
            return True
    ends = np.flatnonzero(data == ord("\n"))
    if b"\r" in text:
        ends = np.concatenate([ends, np.flatnonzero(data == ord("\r"))])
    ends = ends[ends > 0]
    if (data[ends - 1] == delimiter).any():
        return True
    ends = ends[ends > 2]
    return bool(((data[ends - 1] == _QUOTE) & (data[ends - 2] == _QUOTE) & (data[ends - 3] == delimiter)).any())


class CsvSource:
    """A delimited text file, optionally gzip-compressed."""

    format = "csv"

    def __init__(self, path: Path, *, delimiter: str | None = None, encoding: str | None = None,
                 header: bool = True, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        self.path = path
        self.name = str(path)
        self.total_bytes = path.stat().st_size
        self.gz = _is_gzip(path)
        self.max_record_bytes = max_record_bytes
        self.file_hash: str | None = None
        sample = _read_sample(path, self.gz)
        if not sample.strip():
            raise InputError("the file is empty", file=self.name)
        self.encoding, self.fallback = choose_encodings(sample, self.name, encoding)
        text = sample.decode(self.encoding, errors="replace")
        lines = text.splitlines()[:50]
        if len(sample) == SAMPLE_BYTES and len(lines) > 1:
            lines = lines[:-1]  # the last line of a sample may be cut short
        if not lines or not lines[0].strip():
            raise InputError("the first line is empty; expected a header", file=self.name, row=0)
        self.delimiter = check_delimiter(delimiter) if delimiter else detect_delimiter(lines)
        first = next(csv.reader([lines[0]], delimiter=self.delimiter))
        self.header = header
        self.columns = _clean_header(first, self.name) if header else [f"column_{i}" for i in range(1, len(first) + 1)]

    def duckdb_reader(self) -> str | None:
        """SQL for DuckDB's ``read_csv`` of the whole file, every column as text, when DuckDB reads it exactly as
        :meth:`_exact` does (same records, same values, empty fields NULL); ``None`` when only the Python readers
        can. Reads the file once to tell (and sets :attr:`file_hash`).

        Only UTF-8 files with one encoding and at least two columns qualify: DuckDB decodes nothing else, and
        it reads a blank line of a one-column file as a record. DuckDB's reader is strict where Python's is
        lenient (a stray quote, a ragged record, bytes that are not UTF-8): it then raises, and the caller
        falls back. Where it is lenient and Python's is not (:func:`_duckdb_lenient`), the file is left to the
        other readers."""
        if self.encoding not in ("utf-8", "utf-8-sig") or self.fallback is not None or len(self.columns) < 2:
            return None
        if self.delimiter == " " or not self._hash_and_scan():
            return None
        columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in self.columns)
        # Everything explicit, nothing sniffed: auto_detect would guess a comment character or skip lines.
        return (f"read_csv({literal(str(self.path))}, columns={{{columns}}}, header={str(self.header).lower()}, "
                f"delim={literal(self.delimiter)}, quote='\"', escape='\"', comment='', skip=0, auto_detect=false, "
                f"strict_mode=true, null_padding=false, ignore_errors=false, max_line_size={self.max_record_bytes}, "
                f"compression={literal('gzip' if self.gz else 'none')})")

    def _hash_and_scan(self) -> bool:
        """Hash the file's bytes (into :attr:`file_hash`); whether its text is free of what DuckDB's reader reads
        otherwise than Python's (see :func:`_duckdb_lenient`)."""
        delimiter = self.delimiter.encode("ascii")
        lenient = _duckdb_lenient(re.escape(delimiter))
        counter, stream = self._open_binary(None)
        carry = b"\n"  # the file starts at a line start
        try:
            while chunk := stream.read(SCAN_BYTES):
                text = carry + chunk
                if _may_be_lenient(text, delimiter[0]) and lenient.search(text):
                    return False
                # the trailing spaces and four bytes before them: a match may span two chunks
                carry = text[-(len(text) - len(text.rstrip(b" ")) + 4):]
        except (EOFError, OSError, zlib.error):
            return False  # a broken gzip: the other readers say where
        finally:
            stream.close()
        if lenient.search(carry + b"\n"):  # the file ends at a line end
            return False
        self.file_hash = counter.hasher.hexdigest()
        return True

    def _open_binary(self, on_bytes: ProgressFn | None) -> tuple[_CountingReader, io.IOBase]:
        counter = _CountingReader(open(self.path, "rb"), on_bytes)  # noqa: SIM115 - closed by the caller
        stream: io.IOBase = gzip.GzipFile(fileobj=counter) if self.gz else io.BufferedReader(counter, 1 << 20)
        return counter, stream

    def batches(self, on_bytes: ProgressFn | None = None, fast: bool = True) -> Iterator[SourceBatch]:
        # Arrow decodes the whole file with one encoding: a file with a fallback needs the exact path
        return self._fast(on_bytes) if fast and self.fallback is None else self._exact(on_bytes)

    def _fast(self, on_bytes: ProgressFn | None) -> Iterator[SourceBatch]:
        counter, stream = self._open_binary(on_bytes)
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=self.columns, skip_rows=1 if self.header else 0,
                    block_size=min(16 << 20, self.max_record_bytes), encoding=self.encoding.replace("-sig", "")),
                # no invalid-row handler: the first bad record raises and the exact path takes over
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in self.columns}, strings_can_be_null=True,
                    null_values=[""], quoted_strings_can_be_null=True),
            )
            row = 0
            for batch in reader:
                n = batch.num_rows
                table = numbered(batch, row)
                row += n
                yield SourceBatch(table)
        except (pa.ArrowException, UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
            raise FastPathFailed(str(exc)) from exc
        finally:
            stream.close()
        self.file_hash = counter.hasher.hexdigest()

    def _exact(self, on_bytes: ProgressFn | None) -> Iterator[SourceBatch]:
        counter, stream = self._open_binary(on_bytes)
        csv.field_size_limit(self.max_record_bytes)
        # Undecodable bytes become lone surrogates, so the record holding them is quarantined, not the file.
        text = io.TextIOWrapper(stream, encoding=self.encoding, errors="surrogateescape", newline="")  # type: ignore[arg-type]
        reader = csv.reader(text, delimiter=self.delimiter)
        width = len(self.columns)
        rows: list[list[str]] = []
        numbers: list[int] = []
        rejects: list[Reject] = []
        fallback_rows: list[int] = []
        record = 0
        started = not self.header
        try:
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    record += 1
                    rejects.append(Reject(record, f"unparseable record ending on line {reader.line_num}: {exc}"))
                    continue
                if not fields:
                    continue  # blank line: not a record
                if not started:
                    started = True
                    continue
                record += 1
                undecodable = _undecodable_column(fields, self.columns)
                if undecodable is not None and self.fallback:
                    redecoded = [redecode(value, self.fallback) for value in fields]
                    if None not in redecoded:
                        fields, undecodable = redecoded, None  # type: ignore[assignment]
                        fallback_rows.append(record)
                if undecodable is not None:
                    reason = f"{undecodable}: bytes that are not valid {_either(self.encoding, self.fallback)}"
                    rejects.append(Reject(record, reason, _printable(self.delimiter.join(fields))[:2000]))
                    continue
                if len(fields) != width:
                    rejects.append(Reject(record, f"expected {width} fields, found {len(fields)}",
                                          self.delimiter.join(fields)[:2000]))
                    continue
                rows.append(fields)
                numbers.append(record)
                if len(rows) >= BATCH_ROWS:
                    yield self._batch(rows, numbers, rejects, fallback_rows)
                    rows, numbers, rejects, fallback_rows = [], [], [], []
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(f"the compressed data end abruptly after row {record} ({exc})", file=self.name) from None
        except UnicodeDecodeError as exc:  # what surrogateescape cannot carry (UTF-16/32 out of range)
            raise InputError(f"not valid {self.encoding} text after row {record} ({exc.reason})",
                             file=self.name) from None
        finally:
            text.close()
        if rows or rejects:
            yield self._batch(rows, numbers, rejects, fallback_rows)
        self.file_hash = counter.hasher.hexdigest()

    def _batch(self, rows: list[list[str]], numbers: list[int], rejects: list[Reject],
               fallback_rows: list[int]) -> SourceBatch:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.columns]
        arrays = [pa.array([v if v != "" else None for v in col], pa.string()) for col in columns]
        table = pa.Table.from_arrays([*arrays, pa.array(numbers, pa.int64())], names=[*self.columns, ROW])
        return SourceBatch(table, rejects, fallback_rows)


def _json_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def records_to_batch(records: list[dict[str, Any]], numbers: list[int], rejects: list[Reject],
                     fallback_rows: list[int] | None = None) -> SourceBatch:
    """Arrow batch of string columns (the union of the records' keys, in first-seen order)."""
    names: dict[str, None] = {}
    for rec in records:
        names.update(dict.fromkeys(rec))
    arrays = [pa.array([_json_value(rec.get(n)) for rec in records], pa.string()) for n in names]
    table = pa.Table.from_arrays([*arrays, pa.array(numbers, pa.int64())], names=[*names, ROW])
    return SourceBatch(table, rejects, fallback_rows or [])


class JsonLinesSource:
    """One JSON object per line (plain or gzip); a file holding one JSON array is read whole."""

    format = "jsonl"
    columns = None  # known only while reading

    def __init__(self, path: Path, *, python_literals: bool = False, encoding: str | None = None) -> None:
        self.path = path
        self.name = str(path)
        self.total_bytes = path.stat().st_size
        self.gz = _is_gzip(path)
        self.python_literals = python_literals
        self.file_hash: str | None = None
        sample = _read_sample(path, self.gz)
        if not sample.strip():
            raise InputError("the file is empty", file=self.name)
        self.encoding, self.fallback = choose_encodings(sample, self.name, encoding)
        self.is_array = sample.lstrip().startswith(b"[")

    def batches(self, on_bytes: ProgressFn | None = None, fast: bool = True) -> Iterator[SourceBatch]:
        counter = _CountingReader(open(self.path, "rb"), on_bytes)  # noqa: SIM115 - closed below
        stream = gzip.GzipFile(fileobj=counter) if self.gz else io.BufferedReader(counter, 1 << 20)
        text = io.TextIOWrapper(stream, encoding=self.encoding, errors="surrogateescape")  # type: ignore[arg-type]
        try:
            if self.is_array:
                yield from self._array(text)
            else:
                yield from self._lines(text)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(f"the compressed data end abruptly ({exc})", file=self.name) from None
        except UnicodeDecodeError as exc:  # what surrogateescape cannot carry (UTF-16/32 out of range)
            raise InputError(f"not valid {self.encoding} text ({exc.reason})", file=self.name) from None
        finally:
            text.close()
        self.file_hash = counter.hasher.hexdigest()

    def _parse(self, line: str) -> Any:
        return ast.literal_eval(line) if self.python_literals else json.loads(line)

    def _lines(self, text: io.TextIOWrapper) -> Iterator[SourceBatch]:
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        rejects: list[Reject] = []
        fallback_rows: list[int] = []
        record = 0
        for line in text:
            if not line.strip():
                continue
            record += 1
            if _SURROGATES.search(line):
                redecoded = redecode(line, self.fallback) if self.fallback else None
                if redecoded is None:
                    rejects.append(Reject(record, f"bytes that are not valid {_either(self.encoding, self.fallback)}",
                                          _printable(line)[:2000]))
                    continue
                line = redecoded
                fallback_rows.append(record)
            try:
                value = self._parse(line)
            except (ValueError, SyntaxError, RecursionError, MemoryError) as exc:
                rejects.append(Reject(record, f"not valid JSON: {str(exc)[:200]}", line[:2000]))
                continue
            if not isinstance(value, dict):
                rejects.append(Reject(record, f"expected a JSON object, found {type(value).__name__}", line[:2000]))
                continue
            records.append(value)
            numbers.append(record)
            if len(records) >= BATCH_ROWS // 4:
                yield records_to_batch(records, numbers, rejects, fallback_rows)
                records, numbers, rejects, fallback_rows = [], [], [], []
        if records or rejects:
            yield records_to_batch(records, numbers, rejects, fallback_rows)

    def _array(self, text: io.TextIOWrapper) -> Iterator[SourceBatch]:
        try:
            values = json.load(text)
        except ValueError as exc:
            raise InputError(f"not valid JSON ({exc})", file=self.name) from None
        if not isinstance(values, list):
            raise InputError("expected JSON lines or one JSON array of objects", file=self.name)
        records, numbers, rejects = [], [], []
        for i, value in enumerate(values, start=1):
            if isinstance(value, dict):
                records.append(value)
                numbers.append(i)
            else:
                reason = f"expected a JSON object, found {type(value).__name__}"
                rejects.append(Reject(i, reason, json.dumps(value)[:2000]))
        for i, start in enumerate(range(0, max(len(records), 1), BATCH_ROWS)):
            yield records_to_batch(records[start:start + BATCH_ROWS], numbers[start:start + BATCH_ROWS],
                                   rejects if i == 0 else [])


class ParquetSource:
    format = "parquet"
    fallback = None  # typed values, nothing to decode

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.total_bytes = path.stat().st_size
        self.file_hash: str | None = None
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"not a readable Parquet file ({exc})", file=self.name) from None
        self.columns = self._file.schema_arrow.names

    def batches(self, on_bytes: ProgressFn | None = None, fast: bool = True) -> Iterator[SourceBatch]:
        hasher = hashlib.sha256()
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                hasher.update(chunk)
        self.file_hash = hasher.hexdigest()
        total_rows = max(self._file.metadata.num_rows, 1)
        row = 0
        try:
            for batch in self._file.iter_batches(batch_size=BATCH_ROWS):
                n = batch.num_rows
                table = numbered(batch, row)
                row += n
                if on_bytes:
                    on_bytes(int(self.total_bytes * n / total_rows))
                yield SourceBatch(table)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"the Parquet data cannot be read after row {row} ({exc})", file=self.name) from None


class FrameSource:
    """A pandas DataFrame or an Arrow table handed over in Python."""

    format = "frame"
    fallback = None

    def __init__(self, frame: Any, name: str | None = None) -> None:
        if isinstance(frame, pa.Table):
            table = frame
        elif isinstance(frame, pa.RecordBatch):
            table = pa.Table.from_batches([frame])
        else:
            try:
                table = pa.Table.from_pandas(frame, preserve_index=False)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise InputError(f"cannot convert the data frame to Arrow ({exc})", file=name or "<frame>") from None
        self.table = table
        self.name = name or "<frame>"
        self.columns = table.column_names
        self.total_bytes = max(table.nbytes, 1)
        self.file_hash: str | None = None

    def batches(self, on_bytes: ProgressFn | None = None, fast: bool = True) -> Iterator[SourceBatch]:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, self.table.schema) as writer:
            writer.write_table(self.table)
        self.file_hash = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
        row = 0
        for batch in self.table.to_batches(max_chunksize=BATCH_ROWS):
            n = batch.num_rows
            table = numbered(batch, row)
            row += n
            if on_bytes:
                on_bytes(batch.nbytes)
            yield SourceBatch(table)


Source = CsvSource | JsonLinesSource | ParquetSource | FrameSource


def open_source(source: Any, *, format: str | None = None, delimiter: str | None = None,
                encoding: str | None = None, header: bool = True, name: str | None = None,
                max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Source:
    """The reader for a path (format from ``format`` or the file name) or an in-memory frame."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError("no such file", file=str(path))
        if path.is_dir():
            raise InputError("is a folder, not a file", file=str(path))
        if path.stat().st_size == 0:
            raise InputError("the file is empty", file=str(path))
        kind = detect_format(path, format)
        if kind == "parquet":
            return ParquetSource(path)
        if kind in ("jsonl", "pylines"):
            return JsonLinesSource(path, encoding=encoding, python_literals=kind == "pylines")
        return CsvSource(path, delimiter=delimiter, encoding=encoding, header=header,
                         max_record_bytes=max_record_bytes)
    return FrameSource(source, name=name)
