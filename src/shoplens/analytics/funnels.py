"""Funnel definitions: ordered steps, each one or more event types (alternatives), some optional.

    Funnel.parse(["view", "cart=add_to_cart|checkout", "checkout?", "purchase"], window="1d")

A step string is ``[name=]type[|type…][?]``: ``|`` separates alternative event types (add-to-cart OR a
direct checkout, "buy now"), a trailing ``?`` makes the step optional (counted, never required). The
first and last steps are required, and no event type belongs to two steps, so one event never counts
twice. Event types are the canonical ones (``shoplens.schema.EVENT_TYPES``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shoplens.errors import InputError
from shoplens.schema import EVENT_TYPES

Entity = Literal["session", "customer"]
DEFAULT_STEPS = ("view", "cart=add_to_cart", "checkout?", "purchase")
DEFAULT_WINDOW = {"session": "1d", "customer": "7d"}
SESSION_GAP_MINUTES = 30
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.I)
UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class FunnelStep:
    """One step: a name, the event types that complete it (alternatives) and whether it may be skipped."""

    name: str
    event_types: tuple[str, ...]
    optional: bool = False

    @classmethod
    def parse(cls, text: str) -> FunnelStep:
        spec = text.strip()
        optional = spec.endswith("?")
        spec = spec.rstrip("?").strip()
        name, _, types = spec.rpartition("=")
        kinds = tuple(t.strip().lower() for t in types.split("|") if t.strip())
        if not kinds:
            raise InputError(f"funnel step {text!r}: name the event types, e.g. 'cart=add_to_cart|checkout'")
        unknown = [k for k in kinds if k not in EVENT_TYPES]
        if unknown:
            raise InputError(f"funnel step {text!r}: unknown event type {', '.join(map(repr, unknown))}; "
                             f"event types are {', '.join(EVENT_TYPES)}")
        return cls(name.strip() or " or ".join(kinds), kinds, optional)

    def label(self) -> str:
        return f"{self.name}={'|'.join(self.event_types)}" + ("?" if self.optional else "")


@dataclass(frozen=True)
class Funnel:
    """A funnel: steps, the conversion window from the first step, whose journeys (sessions or customers),
    a breakdown, the inactivity that ends a rebuilt session, and an optional period of events."""

    steps: tuple[FunnelStep, ...]
    window_seconds: float = 86400.0
    entity: Entity = "session"
    breakdown: str | None = None
    session_gap_minutes: float = SESSION_GAP_MINUTES
    start: str | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def parse(cls, steps: Sequence[str | FunnelStep] = DEFAULT_STEPS, *, window: str | float | None = None,
              entity: Entity = "session", breakdown: str | None = None,
              session_gap_minutes: float = SESSION_GAP_MINUTES, start: str | None = None,
              end: str | None = None) -> Funnel:
        if entity not in DEFAULT_WINDOW:
            raise InputError(f"funnel entity {entity!r}: use 'session' or 'customer'")
        parsed = tuple(s if isinstance(s, FunnelStep) else FunnelStep.parse(s) for s in steps)
        seconds = parse_duration(window if window is not None else DEFAULT_WINDOW[entity], "funnel window")
        return cls(parsed, seconds, entity, breakdown, session_gap_minutes, start, end)

    def check(self) -> None:
        if len(self.steps) < 2:
            raise InputError("a funnel needs at least two steps")
        if self.steps[0].optional or self.steps[-1].optional:
            raise InputError("the first and the last funnel steps cannot be optional")
        seen: dict[str, str] = {}
        for step in self.steps:
            for kind in step.event_types:
                if kind in seen:
                    raise InputError(f"event type {kind!r} is in two funnel steps ({seen[kind]!r} and "
                                     f"{step.name!r}); a step's event types must be its own")
                seen[kind] = step.name
        if len({s.name for s in self.steps}) != len(self.steps):
            raise InputError("funnel step names must differ")
        if self.window_seconds <= 0 or self.session_gap_minutes <= 0:
            raise InputError("the funnel window and the session gap must be positive")

    def previous_required(self, index: int) -> int:
        """1-based number of the required step before step ``index`` (0-based)."""
        for before in range(index - 1, -1, -1):
            if not self.steps[before].optional:
                return before + 1
        raise InputError("the first funnel step must be required")

    @property
    def last(self) -> int:
        return len(self.steps)


def parse_duration(value: str | float | int, what: str = "duration") -> float:
    """Seconds from ``90``, ``"30m"``, ``"2h"``, ``"1d"``, ``"1w"``."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = DURATION.match(str(value))
        if not match:
            raise InputError(f"{what} {value!r}: use seconds or a number with s, m, h, d or w (e.g. '1d')")
        seconds = float(match.group(1)) * UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise InputError(f"{what} {value!r} must be positive")
    return seconds
