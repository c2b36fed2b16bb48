"""A period of the shop's calendar days (the dashboard's ``from``/``to`` filter): both days included, either
side open. Orders, events and reviews are stored with UTC timestamps, so a period becomes UTC bounds in the
shop's timezone; day columns (``daily_sales.day``) are already the shop's days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shoplens.errors import InputError


def _day(text: str | None, name: str) -> dt.date | None:
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{name} {text!r} is not a date: use YYYY-MM-DD, e.g. 2024-03-31") from None


@dataclass(frozen=True)
class Period:
    start: dt.date | None = None  # the first day, or open
    end: dt.date | None = None  # the last day (included), or open

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period:
        """From the ``from`` and ``to`` of an address (ISO dates; empty = open); a period that ends before it
        starts is refused."""
        first, last = _day(start, "from"), _day(end, "to")
        if first and last and first > last:
            raise InputError(f"the period ends ({last}) before it starts ({first})")
        return cls(first, last)

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    def label(self) -> str:
        if self.start and self.end:
            return f"{self.start} to {self.end}"
        if self.start:
            return f"from {self.start}"
        return f"up to {self.end}" if self.end else "all time"

    def slug(self) -> str:
        """For file names: ``2024-03-01_2024-05-31``, ``from-2024-03-01``, ``all-time``."""
        return self.label().replace(" to ", "_").replace(" ", "-")

    def utc_bounds(self, timezone: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[start, end) as naive UTC timestamps: the shop's midnight of the first day and of the day after the
        last (the way the warehouse stores time)."""
        zone = ZoneInfo(timezone)

        def midnight(day: dt.date | None) -> dt.datetime | None:
            if day is None:
                return None
            local = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            return local.astimezone(dt.UTC).replace(tzinfo=None)

        return midnight(self.start), midnight(self.end + dt.timedelta(days=1) if self.end else None)

    def timestamps(self, column: str, timezone: str) -> tuple[str, list[dt.datetime]]:
        """A SQL condition (with its parameters) keeping the UTC timestamps of ``column`` in the period."""
        start, end = self.utc_bounds(timezone)
        parts = [(f"{column} >= ?", start), (f"{column} < ?", end)]
        kept = [(sql, value) for sql, value in parts if value is not None]
        return " AND ".join(sql for sql, _ in kept) or "TRUE", [value for _, value in kept]

    def days(self, column: str) -> tuple[str, list[dt.date]]:
        """A SQL condition (with its parameters) keeping the shop-day dates of ``column`` in the period."""
        parts = [(f"{column} >= ?", self.start), (f"{column} <= ?", self.end)]
        kept = [(sql, value) for sql, value in parts if value is not None]
        return " AND ".join(sql for sql, _ in kept) or "TRUE", [value for _, value in kept]


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA timezone; a clear error otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown timezone {name!r} (use an IANA name such as 'Europe/Berlin' or 'UTC')") from None
    return name
