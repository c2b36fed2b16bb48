"""The analyst's log of searches that found nothing or took long: counts per normalised query text, never who asked.

```python
from shoplens.search.querylog import QueryLog
log = QueryLog.of(ws)                      # ws/logs/search_queries.json
log.note("Red  DRESS", results=0, ms=12)   # in memory, microseconds: kept only when zero results or slow
log.flush()                                # merged into the file (the service does this after the response)
log.stats(kind="zero", top=20)             # [{"query": "red dress", "zero_results": 1, "slow": 0, ...}]
```

What is kept per query text (NFKC, lower case, one space, e-mail addresses and long digit runs masked, cut to
:data:`MAX_TEXT_CHARS`): how often it found nothing, how often it was slow (≥ ``slow_ms``), the last day (UTC) it
was seen and its recent durations (the last :data:`MS_KEPT`, for a median). No customer, session, key or address
is ever written: the log answers "what do shoppers look for that we do not have", not "who".

The file sits in ``ws/logs/`` and not in ``ws/search/``, which every index build replaces whole. It holds at most
``max_queries`` texts: past that, the least recently seen (then the rarest) go. Writing is best effort — a failed
write is logged and dropped, never raised into a search — and the service writes after the response is sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import re
import statistics
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from shoplens._files import replace_file
from shoplens.errors import InputError
from shoplens.search.words import normalize

LOG_FILE = "search_queries.json"
SLOW_MS = 250.0  # the speed gate's p99 is 100 ms on 50,000 products: 2.5 × that is worth a look
MAX_QUERIES = 2_000
MAX_TEXT_CHARS = 200
MS_KEPT = 25
KINDS = ("zero", "slow", "all")

log = logging.getLogger(__name__)

# Things a shopper may type that name a person: masked before anything is kept.
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_DIGITS = re.compile(r"(?:\d[\s\-./]?){7,}")  # phone, card, order numbers: 7 digits or more, spaced or not


def normalise_query(text: str) -> str:
    """The text a query is counted under: normalised like the index reads it, personal numbers masked, cut."""
    text = normalize(text)
    text = _EMAIL.sub("<email>", text)
    text = _DIGITS.sub(lambda m: "<number>" + (" " if m.group(0)[-1].isspace() else ""), text)
    return " ".join(text.split())[:MAX_TEXT_CHARS]


@dataclass
class _Counts:
    zero: int = 0
    slow: int = 0
    last_seen: str = ""
    ms: list[float] = field(default_factory=list)

    def add(self, other: _Counts) -> None:
        self.zero += other.zero
        self.slow += other.slow
        self.last_seen = max(self.last_seen, other.last_seen)
        self.ms = (self.ms + other.ms)[-MS_KEPT:]

    def to_json(self) -> dict[str, Any]:
        return {"zero": self.zero, "slow": self.slow, "last_seen": self.last_seen, "ms": self.ms}


@dataclass(eq=False)
class QueryLog:
    """Zero-result and slow searches of one workspace, counted by query text (see the module docstring)."""

    path: Path
    slow_ms: float = SLOW_MS
    max_queries: int = MAX_QUERIES
    _pending: dict[str, _Counts] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _open: ClassVar[dict[str, QueryLog]] = {}

    @classmethod
    def of(cls, ws: Any) -> QueryLog:
        """The workspace's log, one per folder in this process (so notes from concurrent requests meet)."""
        path = ws.dir("logs") / LOG_FILE
        return cls._open.setdefault(str(path.resolve()), cls(path))

    # -- writing ----------------------------------------------------------------------------------------------
    def note(self, text: str, *, results: int, ms: float, day: dt.date | None = None) -> bool:
        """Count one search in memory when it found nothing or was slow; whether it was kept. Cheap: the file is
        written by :meth:`flush`."""
        zero, slow = results == 0, ms >= self.slow_ms
        query = normalise_query(text) if zero or slow else ""
        if not query:
            return False
        seen = (day or dt.datetime.now(dt.UTC).date()).isoformat()
        with self._lock:
            if query not in self._pending and len(self._pending) >= self.max_queries:
                return False  # a flood of distinct texts between two flushes: memory stays bounded
            self._pending.setdefault(query, _Counts()).add(_Counts(int(zero), int(slow), seen, [round(ms, 1)]))
        return True

    def flush(self) -> int:
        """Merge what was noted into the file (under a lock, written whole); the number of texts merged. Best
        effort: an unwritable file is logged, and those notes are dropped."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self._locked() as counts:
                for query, add in pending.items():
                    counts.setdefault(query, _Counts()).add(add)
                self._bound(counts)
        except OSError as exc:
            log.warning("search query log %s not written (%s); %d texts dropped", self.path, exc, len(pending))
            return 0
        return len(pending)

    def _bound(self, counts: dict[str, _Counts]) -> None:
        if len(counts) <= self.max_queries:
            return
        ranked = sorted(counts, key=lambda q: (counts[q].last_seen, counts[q].zero + counts[q].slow), reverse=True)
        for query in ranked[self.max_queries:]:
            del counts[query]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, _Counts]]:
        """Read-modify-write under an exclusive lock on a lock file beside the log (several service workers)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(LOG_FILE + ".lock"), "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                counts = self._read()
                yield counts
                body = {"version": 1, "slow_ms": self.slow_ms,
                        "queries": {q: c.to_json() for q, c in sorted(counts.items())}}
                replace_file(self.path, json.dumps(body, ensure_ascii=False, indent=1) + "\n")
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, _Counts]:
        if not self.path.exists():
            return {}
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))["queries"]
            return {q: _Counts(int(c["zero"]), int(c["slow"]), str(c["last_seen"]), [float(v) for v in c["ms"]])
                    for q, c in stored.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A damaged log is counts only: start again rather than fail every search after it.
            log.warning("search query log %s unreadable (%s); starting a new one", self.path, exc)
            return {}

    # -- reading ----------------------------------------------------------------------------------------------
    def stats(self, kind: str = "all", top: int = 50) -> dict[str, Any]:
        """The most frequent texts of ``kind`` (``zero``: found nothing, ``slow``, ``all``), with the totals."""
        if kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not 1 <= int(top) <= MAX_QUERIES:
            raise InputError(f"top must be between 1 and {MAX_QUERIES}, got {top}")
        self.flush()
        counts = self._read()
        rows = [{"query": q, "zero_results": c.zero, "slow": c.slow, "last_seen": c.last_seen,
                 "median_ms": round(statistics.median(c.ms), 1) if c.ms else None}
                for q, c in counts.items()
                if kind == "all" or (c.zero if kind == "zero" else c.slow)]
        order = {"zero": "zero_results", "slow": "slow"}.get(kind)
        rows.sort(key=lambda r: (-(r[order] if order else r["zero_results"] + r["slow"]), r["query"]))
        return {"file": str(self.path), "slow_ms": self.slow_ms, "queries_logged": len(counts),
                "zero_results": sum(c.zero for c in counts.values()), "slow": sum(c.slow for c in counts.values()),
                "queries": rows[:top]}
