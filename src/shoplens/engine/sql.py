"""Analyses as SQL in a portable subset: written once in DuckDB's dialect, transpiled by SQLGlot for Spark.

A query file is a Jinja2 template (``{{ fragment }}`` for SQL pieces that shoplens itself builds and
validates, ``{% for %}`` for repeated CTEs such as funnel steps) with ``:name`` placeholders for values.
Values are never formatted into the text: SQLGlot replaces each placeholder with a typed literal.

A few functions mean the same on both engines but are spelled differently, and SQLGlot does not map them
(or maps them wrongly); the engines rewrite them (:func:`to_dialect`):

``shop_time(ts)``
    a naive UTC timestamp as the shop's local time (DuckDB ``timezone()``, Spark ``from_utc_timestamp``);
    the identity when the shop is in UTC, so the common case costs nothing.
``epoch_us(ts)``
    microseconds since the epoch (Spark ``unix_micros``).
``quantile_disc(x, p)``
    the exact discrete quantile. SQLGlot writes ``percentile_approx`` for Spark, which is not exact;
    Spark needs ``percentile_disc(p) WITHIN GROUP (ORDER BY x)``. Both engines then pick the smallest value
    whose cumulative share reaches ``p`` (the SQL standard's definition).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from shoplens.errors import InputError, ShoplensError

Dialect = Literal["duckdb", "spark"]
# Functions that would make a result approximate or engine-specific: refused in the Spark text.
NOT_EXACT = re.compile(r"\b(PERCENTILE_APPROX|APPROX_PERCENTILE|APPROX_COUNT_DISTINCT|APPROX_QUANTILE)\b", re.I)
Value = str | int | float | bool | dt.date | dt.datetime | None


@dataclass(frozen=True)
class PortableQuery:
    """One rendered analysis: its name and its syntax tree in DuckDB's dialect, values bound."""

    name: str
    tree: exp.Expression

    def tables(self) -> set[str]:
        """Names of the tables and views the query reads (CTE names left out)."""
        ctes = {cte.alias_or_name for cte in self.tree.find_all(exp.CTE)}
        return {t.name for t in self.tree.find_all(exp.Table) if t.name and t.name not in ctes}

    def sql(self, dialect: Dialect = "duckdb", timezone: str = "UTC") -> str:
        return to_dialect(self.tree, dialect, timezone)


def template_environment(folder: Path) -> jinja2.Environment:
    """Templates of one folder; ``_*.sql`` files hold shared macros (``{% import "_common.sql" as c %}``)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=True)


def render(env: jinja2.Environment, template: str, values: Mapping[str, Value] | None = None,
           fragments: Mapping[str, Any] | None = None, *, name: str | None = None) -> PortableQuery:
    """Render ``<template>.sql``: fragments into the text, then values into its ``:placeholders``. The
    query's ``name`` (its result is ``analytics_<name>``) defaults to the template's."""
    try:
        text = env.get_template(f"{template}.sql").render(**(fragments or {}))
    except jinja2.TemplateNotFound:
        raise ShoplensError(f"no SQL analysis {template!r} in {env.loader.searchpath}") from None  # type: ignore[union-attr]
    return parse(name or template, text, values)


def parse(name: str, text: str, values: Mapping[str, Value] | None = None) -> PortableQuery:
    """Parse portable SQL and bind ``values`` to its ``:placeholders`` (every one must be given)."""
    try:
        tree = sqlglot.parse_one(text, read="duckdb", error_level=ErrorLevel.RAISE)
    except ParseError as exc:
        raise ShoplensError(f"analysis {name!r}: its SQL does not parse ({str(exc).splitlines()[0]})") from None
    wanted = {p.name for p in tree.find_all(exp.Placeholder)}
    missing = sorted(wanted - set(values or {}))
    if missing:
        raise ShoplensError(f"analysis {name!r} needs a value for {', '.join(':' + m for m in missing)}")
    literals = {key: literal(value) for key, value in (values or {}).items() if key in wanted}
    return PortableQuery(name, exp.replace_placeholders(tree, **literals) if literals else tree)


def literal(value: Value) -> exp.Expression:
    """A typed SQL literal for a Python value (dates and timestamps cast, so both engines agree)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.datetime):
        naive = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return exp.cast(exp.Literal.string(naive.isoformat(sep=" ")), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(f"{value!r} is not a finite number")
        return exp.Literal.number(repr(value) if isinstance(value, float) else value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise InputError(f"cannot bind {type(value).__name__} {value!r} into SQL")


def to_dialect(tree: exp.Expression, dialect: Dialect, timezone: str = "UTC") -> str:
    """The SQL text for one engine, with the engine functions spelled its way."""
    rewritten = tree.copy().transform(lambda node: _engine_function(node, dialect, timezone))
    text = rewritten.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    if dialect == "spark" and NOT_EXACT.search(text):
        raise ShoplensError(f"the Spark SQL would use an approximate function ({NOT_EXACT.search(text).group(0)}); "
                            "analyses must be exact on both engines")
    return text


def _engine_function(node: exp.Expression, dialect: Dialect, timezone: str) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "shop_time":
            return _shop_time(_one_argument(node), dialect, timezone)
        if name == "epoch_us" and dialect == "spark":
            return exp.func("UNIX_MICROS", exp.cast(_one_argument(node), exp.DataType.build("TIMESTAMP")))
    if isinstance(node, exp.PercentileDisc) and dialect == "spark" and node.expression is not None:
        # rendered as text: SQLGlot's Spark generator turns WITHIN GROUP into percentile_approx
        column = node.this.sql(dialect="spark")
        share = node.expression.sql(dialect="spark")
        return exp.var(f"PERCENTILE_DISC({share}) WITHIN GROUP (ORDER BY {column})")
    return node


def _one_argument(node: exp.Anonymous) -> exp.Expression:
    if len(node.expressions) != 1:
        raise ShoplensError(f"{node.name}() takes one argument, got {len(node.expressions)}")
    return node.expressions[0]


def _shop_time(ts: exp.Expression, dialect: Dialect, timezone: str) -> exp.Expression:
    if timezone == "UTC":
        return ts
    zone = exp.Literal.string(timezone)
    if dialect == "spark":
        return exp.func("FROM_UTC_TIMESTAMP", ts, zone)
    # the session is in UTC, so the cast reads the naive value as UTC; timezone() gives the local wall time
    return exp.func("timezone", zone, exp.cast(ts, exp.DataType.build("TIMESTAMPTZ")))


def identifier(name: str, what: str = "name") -> str:
    """A validated SQL identifier or JSON key (letters, digits, '_'); anything else is refused."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name or ""):
        raise InputError(f"{what} {name!r}: use letters, digits and '_' (starting with a letter)")
    return name
