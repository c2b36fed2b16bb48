"""UCI Online Retail II → customers + products + orders + order_items (download it yourself)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, expect_columns, mode_per_key, read_csv
from shoplens.errors import InputError

COLUMNS = ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
STATUS_BY_PREFIX = {"C": "cancelled", "A": "adjustment"}  # invoice number prefixes, as documented by UCI


def build(files: Files) -> Frames:
    lines = _read_lines(files["lines"])
    return {"customers": _customers(lines), "products": _products(lines), "orders": _orders(lines),
            "order_items": _order_items(lines)}


def _read_lines(source: Path) -> pd.DataFrame:
    """All invoice lines as text, with ``line_no``: the position within its invoice's block of lines."""
    sheets = _read_excel(source) if source.suffix.lower() in EXCEL_SUFFIXES else [read_csv(source, COLUMNS)]
    lines = pd.concat([_numbered(sheet) for sheet in sheets], ignore_index=True)
    lines["Customer ID"] = lines["Customer ID"].str.replace(r"\.0$", "", regex=True)  # 13085.0 in some exports
    return lines


def _read_excel(source: Path) -> list[pd.DataFrame]:
    try:
        import openpyxl  # noqa: F401 - pandas reads .xlsx with it
    except ImportError:
        raise InputError("reading .xlsx needs the optional package openpyxl (pip install openpyxl); or export "
                         "the sheets to CSV and load that", file=str(source)) from None
    try:
        sheets = pd.read_excel(source, sheet_name=None, dtype=str)
    except (ValueError, OSError, KeyError) as exc:
        raise InputError(f"cannot read the workbook ({str(exc)[:200]})", file=str(source)) from None
    return [expect_columns(sheet, COLUMNS, source) for sheet in sheets.values()]


def _numbered(sheet: pd.DataFrame) -> pd.DataFrame:
    """Lines numbered within each contiguous block of an invoice, so that an invoice repeated in a later
    block (the sheets overlap) gets the same keys again and is reported as a duplicate, not added twice."""
    block = (sheet["Invoice"] != sheet["Invoice"].shift()).cumsum()
    return sheet.assign(line_no=sheet.groupby(block).cumcount() + 1)


def _customers(lines: pd.DataFrame) -> pd.DataFrame:
    first = lines.dropna(subset=["Customer ID"]).drop_duplicates("Customer ID")
    return pd.DataFrame({"customer_id": first["Customer ID"], "country": first["Country"]})


def _products(lines: pd.DataFrame) -> pd.DataFrame:
    codes = lines["StockCode"].dropna().drop_duplicates()
    sold = lines[pd.to_numeric(lines["Price"], errors="coerce").gt(0)]  # list price: prices actually charged
    return pd.DataFrame({
        "product_id": codes.to_numpy(),
        "title": codes.map(mode_per_key(lines, "StockCode", "Description")).to_numpy(),
        "price": codes.map(mode_per_key(sold, "StockCode", "Price")).to_numpy(), "currency": "GBP",
    })


def _orders(lines: pd.DataFrame) -> pd.DataFrame:
    orders = lines.groupby("Invoice", sort=False).agg(
        customer_id=("Customer ID", "first"), order_ts=("InvoiceDate", "first"), country=("Country", "first"))
    orders = orders.rename_axis("order_id").reset_index()
    prefix = orders["order_id"].str[:1].str.upper()
    return orders.assign(status=prefix.map(STATUS_BY_PREFIX).fillna("completed"))


def _order_items(lines: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"order_id": lines["Invoice"], "line_no": lines["line_no"],
                         "product_id": lines["StockCode"], "quantity": lines["Quantity"],
                         "unit_price": lines["Price"]})
