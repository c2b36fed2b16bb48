"""The tables a dashboard page shows, described once: the page renders them (``_tables.html``) and
``<page>/<table>.csv`` writes the same rows, so a download is exactly what the analyst sees.

Cells are formatted here by their column's kind: money with the shop's currency (:func:`shoplens.formats.money`),
products by title with the id in the cell's ``title`` (shown on hover), shares as percentages. The CSV keeps the
raw values (a product column writes its id and its title).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shoplens.formats import NOT_KNOWN, finite, money
from shoplens.serve.warehouse import jsonable

Kind = Literal["text", "int", "number", "signed_number", "money", "signed_money", "percent", "signed_percent",
               "product", "month", "day", "yes", "quotes"]
NUMERIC = frozenset({"int", "number", "signed_number", "money", "signed_money", "percent", "signed_percent"})
TITLE = "title"  # the row key holding a product's title, next to its id


@dataclass(frozen=True)
class Column:
    key: str  # the row's key, and the CSV column
    label: str  # the header people read
    kind: Kind = "text"
    digits: int = 2
    tone: str = ""  # quotes: positive or negative (the colour)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass(frozen=True)
class DataTable:
    """Rows (dicts) and the columns shown, in order. ``row_key`` names the column whose value marks each row
    (``<tr data-<row_key>=…>``) for links and tests; ``currency`` is the shop's, for money columns."""

    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    currency: str = ""
    row_key: str | None = None
    row_attr: str | None = None  # the data attribute's name when it differs from row_key

    @property
    def attr(self) -> str | None:
        return self.row_attr or self.row_key

    def text(self, row: Mapping[str, Any], column: Column) -> str:
        """The cell as people read it."""
        return cell_text(row.get(column.key), column, self.currency, row.get(TITLE))

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)  # RFC 4180: CRLF between records
        writer.writerow(self.csv_header())
        for row in self.rows:
            writer.writerow([csv_value(v) for v in self.csv_values(row)])
        return out.getvalue()

    def csv_header(self) -> list[str]:
        return [name for c in self.columns for name in ((c.key, TITLE) if c.kind == "product" else (c.key,))]

    def csv_values(self, row: Mapping[str, Any]) -> list[Any]:
        values: list[Any] = []
        for column in self.columns:
            values.append(row.get(column.key))
            if column.kind == "product":
                values.append(row.get(TITLE))
        return values


def cell_text(value: Any, column: Column, currency: str, title: str | None = None) -> str:
    kind = column.kind
    if kind == "product":
        return str(title or value or NOT_KNOWN)
    if kind == "quotes":
        return " | ".join(value or [])
    if kind in NUMERIC:
        return _number(value, column, currency)
    if kind in ("month", "day"):
        text = str(jsonable(value) or "")
        return text[:7] if kind == "month" else text[:10]
    if kind == "yes":
        return "yes" if value else ""
    return NOT_KNOWN if value is None else str(value)


def _number(value: Any, column: Column, currency: str) -> str:
    number = finite(value)
    if number is None:
        return NOT_KNOWN
    kind, digits = column.kind, column.digits
    if kind in ("money", "signed_money"):
        return money(number, currency, digits=digits, signed=kind == "signed_money")
    if kind in ("percent", "signed_percent"):
        return f"{number:{'+' if kind == 'signed_percent' else ''}.{digits}%}"
    if kind == "int":
        return f"{round(number):,}"
    return f"{number:{'+' if kind == 'signed_number' else ''},.{digits}f}"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any) -> Any:
    """A raw value for the CSV: numbers unformatted, dates in ISO 8601, lists joined with ' | ', unknown empty.
    Text that a spreadsheet would run as a formula (customers write the reviews quoted) starts with ``'``."""
    if isinstance(value, (list, tuple)):
        value = " | ".join(map(str, value))
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (float, decimal.Decimal)) and finite(value) is None:
        return ""
    return "" if value is None else jsonable(value)


def with_titles(rows: list[dict[str, Any]], titles: Mapping[str, str], key: str) -> list[dict[str, Any]]:
    """The rows with each product's title under ``title`` (its id when it has none)."""
    return [{**row, TITLE: titles.get(str(row.get(key)), str(row.get(key)))} for row in rows]


def slug(text: str) -> str:
    """For file names: lower case, letters, digits and '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "shop"
