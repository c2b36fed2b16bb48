"""Answers kept in memory: the JSON bytes of a read, served again while what it was computed from is unchanged.

A read's answer depends on the warehouse's data and, for some, on a served model's files or the product graph's.
Each answer is stored under the **generation** of the warehouse it was read from (``serve.keeper``: a number that
changes whenever the warehouse could have been written — an ingest, a run, an erasure, live events) and a key
naming the endpoint, its normalised parameters, and the model version's signature or the graph's stamp where the
answer uses them. A new generation drops every answer of the previous ones, so an erased customer never comes
back from memory; without a generation (a writer holds the warehouse) nothing is stored or served.

The bytes are exactly what FastAPI would send for the same response model (``model_dump_json(by_alias=True)``,
FastAPI's own fast path), so a cached answer and a computed one are the same answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel

MIB = 1024 * 1024
MAX_BYTES = 32 * MIB  # the answers kept at most (least recently used dropped first): within the soak gate's 10 % growth
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """One answer as sent: its JSON body and the headers that go with it (``X-Model-Version`` …)."""

    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, model: BaseModel, headers: Mapping[str, str] | None = None) -> Answer:
        return cls(model.model_dump_json(by_alias=True).encode("utf-8"), tuple((headers or {}).items()))

    def response(self) -> Response:
        return Response(self.body, media_type="application/json", headers=dict(self.headers))


class AnswerCache:
    """Answers by (generation, key), at most ``max_bytes`` of them; one per app, shared by its threads."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._derived: dict[Hashable, Any] = {}
        self._bytes = 0
        self._generation = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, generation: int | None, key: Hashable) -> Answer | None:
        with self._lock:
            if generation is None or not self._at(generation):
                return None
            answer = self._answers.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, generation: int | None, key: Hashable, answer: Answer) -> None:
        """Keep ``answer`` (read under ``generation``) unless a later generation has begun meanwhile."""
        size = len(answer.body)
        with self._lock:
            if generation is None or not self._at(generation) or size > self.max_bytes:
                return
            previous = self._answers.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._answers[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body)

    def derived(self, generation: int | None, key: Hashable, build: Callable[[], T]) -> T:
        """Something many answers are computed from (every customer's praised aspects, say), built once per
        generation: kept until the next one begins, like the answers; built each time without a generation."""
        with self._lock:
            if generation is not None and self._at(generation) and key in self._derived:
                return self._derived[key]
        value = build()
        with self._lock:
            if generation is not None and self._at(generation):
                self._derived[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._derived.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._answers)

    def _at(self, generation: int) -> bool:
        """Whether ``generation`` is the current one; a later one drops every answer first (lock held)."""
        if generation > self._generation:
            self._answers.clear()
            self._derived.clear()
            self._bytes = 0
            self._generation = generation
        return generation == self._generation
