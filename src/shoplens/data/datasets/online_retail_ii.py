"""UCI Online Retail II → customers + products + orders + order_items (download it yourself)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    DatasetInfo,
    Part,
    Reports,
    expect_columns,
    ingest_frame,
    locate,
    mode_per_key,
    read_csv,
)
from shoplens.errors import InputError
from shoplens.workspace import Workspace

FILES = ("online_retail_II.xlsx", "online_retail_II.csv", "online_retail_ii.csv")
COLUMNS = ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country")
TIMEZONE = "Europe/London"  # the shop's clock: InvoiceDate is UK local time
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
STATUS_BY_PREFIX = {"C": "cancelled", "A": "adjustment"}  # invoice number prefixes, as documented by UCI

INFO = DatasetInfo(
    name="online_retail_ii",
    description="Every invoice line of a UK-based online gift retailer (many customers are wholesalers) from "
                "2009-12-01 to 2011-12-09: invoice, stock code, description, quantity, date, unit price in GBP, "
                "customer and country; the canonical public transactions file (download it yourself)",
    url="https://archive.ics.uci.edu/dataset/502/online+retail+ii",
    licence="CC BY 4.0 (UCI Machine Learning Repository); cite Chen, Sain & Guo (2012)",
    parts=(
        Part("customers", "customers", FILES[0], None, "Customer ID → customer_id (its first Country → country)"),
        Part("products", "products", FILES[0], None,
             "StockCode → product_id, its most frequent Description → title, its most frequent positive "
             "Price → price, currency GBP"),
        Part("orders", "orders", FILES[0], None,
             "one order per Invoice → order_id: Customer ID → customer_id, first InvoiceDate (UK time) → "
             "order_ts, Country → country, status cancelled (C…) / adjustment (A…) / completed; n_items and "
             "total_amount derived from the lines"),
        Part("order_items", "order_items", FILES[0], None,
             "one line per row: Invoice → order_id, position within the invoice → line_no, StockCode → "
             "product_id, Quantity → quantity (negative on cancellations), Price → unit_price"),
    ),
    notes="The .xlsx (two sheets, 'Year 2009-2010' and 'Year 2010-2011', 1,067,371 lines) needs the optional "
          "package openpyxl and takes a minute or two to read; a CSV export of it loads in seconds. Lines "
          "without a Customer ID are guest purchases (customer_id empty). 'A' invoices adjust bad debt with a "
          "negative price: quarantined (unit_price below 0), as a price cannot be negative. An invoice whose "
          "lines appear again in a later sheet or block keeps its first lines; the repeats are quarantined as "
          "duplicate keys. Non-product stock codes (POST, M, D, BANK CHARGES, AMAZONFEE …) are kept as products.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    lines = _read_lines(source)
    customers, products, orders, order_items = _customers(lines), _products(lines), _orders(lines), _order_items(lines)
    return {
        "customers": ingest_frame(ws, "customers", customers, source, progress=progress),
        "products": ingest_frame(ws, "products", products, source, progress=progress),
        "orders": ingest_frame(ws, "orders", orders, source, progress=progress, tz=TIMEZONE),
        "order_items": ingest_frame(ws, "order_items", order_items, source, progress=progress),
    }


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
