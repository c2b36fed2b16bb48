"""The SQL analyses (files in ``analytics/sql/``) and how their parameters become fragments and values.

Every analysis is one query producing one table ``analytics_<name>``; a few read an earlier result
(``rfm_segments`` reads ``analytics_rfm``). The builders here return the queries in the order they must
run. Fragments put into the SQL text are built here from validated names only; user values (dates,
thresholds, step names) are bound as literals.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import jinja2
from sqlglot import exp

from shoplens.analytics.funnels import Funnel
from shoplens.engine.sql import PortableQuery, identifier, literal, render, template_environment
from shoplens.errors import InputError
from shoplens.schema import TABLES
from shoplens.views import VOID_STATUSES

REFUND_STATUSES = ("refunded", "returned")
GRAINS = ("day", "week", "month")
# Every SQL analysis, in an order that satisfies their dependencies.
SQL_ANALYSES = ("kpis_day", "kpis_week", "kpis_month", "rfm", "rfm_segments", "cohorts", "funnel_entities",
                "funnel", "funnel_times", "baskets", "basket_items", "pair_counts", "basket_lines", "clv_summary",
                "customer_features")
# Customer columns a breakdown may name directly (others: attributes.<key>).
CUSTOMER_COLUMNS = tuple(c.name for c in TABLES["customers"].columns if c.kind == "category")


@functools.cache
def environment() -> jinja2.Environment:
    from pathlib import Path

    env = template_environment(Path(__file__).parent / "sql")
    env.globals.update(void_statuses=_sql_list(VOID_STATUSES), refund_statuses=_sql_list(REFUND_STATUSES))
    return env


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(literal(v).sql("duckdb") for v in values)


def query(template: str, values: Mapping[str, Any] | None = None, *, name: str | None = None,
          **fragments: Any) -> PortableQuery:
    return render(environment(), template, values, fragments, name=name)


# -- builders -------------------------------------------------------------------------------------------
def kpis(grain: str = "day") -> list[PortableQuery]:
    if grain not in GRAINS:
        raise InputError(f"KPI grain {grain!r}: use {', '.join(GRAINS)}")
    return [query("kpis", name=f"kpis_{grain}", grain=grain)]


def rfm(as_of: dt.date | str | None = None) -> list[PortableQuery]:
    day = as_date(as_of, "as_of") if as_of is not None else None
    values = {"as_of": day} if day else {}
    return [query("rfm", values, has_as_of=day is not None), query("rfm_segments")]


def cohorts(breakdown: str | None = None) -> list[PortableQuery]:
    return [query("cohorts", segment=customer_breakdown(breakdown, "c"))]


def funnel(spec: Funnel) -> list[PortableQuery]:
    steps = [{"no": i + 1, "types": _sql_list(step.event_types), "optional": step.optional,
              "previous": spec.previous_required(i) if i else 0} for i, step in enumerate(spec.steps)]
    segment, needs_customers = funnel_breakdown(spec.breakdown)
    values: dict[str, Any] = {"window_us": int(spec.window_seconds * 1_000_000),
                              "gap_us": int(spec.session_gap_minutes * 60 * 1_000_000)}
    if spec.start:
        values["start_day"] = as_timestamp(spec.start, "start")
    if spec.end:
        values["end_day"] = as_timestamp(spec.end, "end")
    all_types = _sql_list(tuple(t for step in spec.steps for t in step.event_types))
    entities = query("funnel_entities", values, steps=steps, entity=spec.entity, segment=segment,
                     segment_needs_customers=needs_customers, all_types=all_types,
                     has_start=bool(spec.start), has_end=bool(spec.end))
    names = {f"name_{i + 1}": step.name for i, step in enumerate(spec.steps)}
    has_breakdown = spec.breakdown is not None
    return [entities, query("funnel", names, steps=steps, has_breakdown=has_breakdown),
            query("funnel_times", last=spec.last, has_breakdown=has_breakdown)]


def baskets(min_support: float = 0.01) -> list[PortableQuery]:
    if not 0 < min_support <= 1:
        raise InputError(f"min_support {min_support!r} must be a fraction in (0, 1]")
    values = {"min_support": float(min_support)}
    return [query("baskets"), query("basket_items", values), query("pair_counts", values)]


def clv_summary(end: dt.date | str | None = None, start: dt.date | str | None = None) -> list[PortableQuery]:
    """The BG/NBD summary of the purchases from ``start`` to ``end`` (inclusive; default: all of them)."""
    values: dict[str, Any] = {}
    if end is not None:
        values["end_day"] = as_date(end, "calibration end")
    if start is not None:
        values["start_day"] = as_date(start, "calibration start")
    return [query("clv_summary", values, has_start=start is not None, has_end=end is not None)]


def customer_features(cutoff: dt.date | str, horizon_end: dt.date | str) -> list[PortableQuery]:
    cut, end = as_date(cutoff, "cutoff"), as_date(horizon_end, "horizon end")
    if end <= cut:
        raise InputError(f"the label window must end after the cutoff ({end} ≤ {cut})")
    return [query("customer_features", {"cutoff": cut, "horizon_end": end})]


# -- breakdowns -----------------------------------------------------------------------------------------
def customer_breakdown(breakdown: str | None, alias: str) -> str:
    """SQL for a customer attribute: a column (country, city) or ``attributes.<key>``; ``'all'`` for none."""
    if breakdown is None or breakdown == "all":
        return "'all'"
    if breakdown.startswith("attributes."):
        return _json_value(f"{alias}.attributes", breakdown.split(".", 1)[1])
    if breakdown in CUSTOMER_COLUMNS:
        return f"{alias}.{breakdown}"
    raise InputError(f"breakdown {breakdown!r}: use a customer column ({', '.join(CUSTOMER_COLUMNS)}) or "
                     "attributes.<key>")


def funnel_breakdown(breakdown: str | None) -> tuple[str, bool]:
    """(SQL, whether it needs the customers table) for a funnel breakdown: a customer attribute or an event's
    ``properties.<key>`` (an entity's segment is the smallest value among its first-step events)."""
    if breakdown is not None and breakdown.startswith("properties."):
        return _json_value("e.properties", breakdown.split(".", 1)[1]), False
    sql = customer_breakdown(breakdown, "c")
    return sql, sql != "'all'"


def _json_value(column: str, key: str) -> str:
    path = exp.Literal.string(f"$.{identifier(key, 'JSON key')}").sql("duckdb")
    return f"json_extract_string({column}, {path})"


# -- values ---------------------------------------------------------------------------------------------
def as_date(value: dt.date | str, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise InputError(f"{what} {value!r}: use a date like 2024-12-31") from None


def as_timestamp(value: dt.datetime | dt.date | str, what: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        return dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{what} {value!r}: use a date or time like 2024-12-31 or 2024-12-31T08:00") from None
