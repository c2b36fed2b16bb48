"""The canonical tables of the warehouse (DESIGN.md, "Canonical tables").

One declaration serves three purposes: the DDL of the warehouse, the validation rules of ingest
and the documentation (`shoplens datasets schema`). Only key columns are required in a source;
every other column may be absent or empty.

Conventions (docs/decisions.md):
- timestamps are stored as naive ``TIMESTAMP`` values meaning UTC; they are bucketed into days in the
  shop's timezone by the views;
- unit prices are ``DECIMAL(18,4)``, amounts ``DECIMAL(18,2)``;
- key uniqueness is enforced by ingest (upsert on key), not by a DuckDB index, so that a table of
  tens of millions of rows loads in bounded memory;
- every table carries its lineage: ``_ingest_run`` (the run that loaded the row) and ``_source_row``
  (the 1-based record number in the source, header excluded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shoplens.errors import NotFound

Kind = Literal["id", "text", "category", "timestamp", "money", "price", "int", "float", "bool", "json"]

# DuckDB type of each kind of column.
DUCKDB_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "category": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(18,2)",
    "price": "DECIMAL(18,4)",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "json": "JSON",
}

EVENT_TYPES = ("view", "search", "add_to_cart", "remove_from_cart", "wishlist", "checkout", "purchase")
EVENT_ALIASES = (
    ("pv", "view"), ("page_view", "view"), ("pageview", "view"), ("detail", "view"), ("product_view", "view"),
    ("click", "view"), ("cart", "add_to_cart"), ("addtocart", "add_to_cart"), ("add", "add_to_cart"),
    ("add to cart", "add_to_cart"), ("remove", "remove_from_cart"), ("removefromcart", "remove_from_cart"),
    ("fav", "wishlist"), ("favorite", "wishlist"), ("favourite", "wishlist"), ("buy", "purchase"),
    ("transaction", "purchase"), ("order", "purchase"), ("begin_checkout", "checkout"),
)
QA_SOURCES = ("faq", "product_qa", "policy")
QA_ALIASES = (("product", "product_qa"), ("qa", "product_qa"), ("question", "product_qa"), ("policies", "policy"))


@dataclass(frozen=True)
class Column:
    """One canonical column and the rule ingest applies to it."""

    name: str
    kind: Kind
    doc: str = ""
    min: float | None = None  # inclusive lower bound, checked at ingest
    max: float | None = None  # inclusive upper bound
    choices: tuple[str, ...] | None = None  # allowed values (after lower-casing)
    free_text: bool = False  # e-mail addresses and phone numbers inside are masked at ingest
    # may hold personal identifiers (an e-mail as customer id): pseudonymized with the workspace's keyed
    # hash when its values look like e-mail addresses or phone numbers
    pii: bool = False
    synonyms: tuple[str, ...] = ()  # source column names mapped here automatically
    aliases: tuple[tuple[str, str], ...] = ()  # source value -> canonical value, for choices

    @property
    def sql_type(self) -> str:
        return DUCKDB_TYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """A canonical table: its key, columns, links to other tables and the column for extras."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str = ""
    links: dict[str, str] = field(default_factory=dict)  # column -> "table.column" it references
    extras_column: str | None = None  # unmapped source columns are kept here as JSON
    # key columns that ingest may synthesize when the source has none (file hash + record number,
    # or the line number within a group for line_no)
    synthesizable_key: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


LINEAGE_COLUMNS = (("_ingest_run", "VARCHAR"), ("_source_row", "BIGINT"))


def _c(name: str, kind: Kind, doc: str = "", **kw) -> Column:
    return Column(name, kind, doc, **kw)


CUSTOMERS = Table(
    "customers",
    key=("customer_id",),
    doc="One row per customer. Names, e-mails, phones and addresses are pseudonymized at ingest.",
    columns=(
        _c("customer_id", "id", "Customer key", pii=True,
           synonyms=("customer", "customerid", "customer_id", "user_id", "userid", "user", "client_id",
                     "reviewer_id", "visitor_id", "buyer_id")),
        _c("signup_ts", "timestamp", "When the customer signed up (UTC)",
           synonyms=("signup", "signup_date", "created_at", "registered", "first_seen")),
        _c("country", "category", "Country name or ISO code"),
        _c("city", "category", "City"),
        _c("attributes", "json", "Other source columns, as JSON (PII pseudonymized)"),
    ),
    extras_column="attributes",
    synthesizable_key=False,
)

PRODUCTS = Table(
    "products",
    key=("product_id",),
    doc="The catalog.",
    columns=(
        _c("product_id", "id", "Product key",
           synonyms=("product", "productid", "item_id", "itemid", "item", "sku", "asin", "stockcode",
                     "stock_code", "article_id")),
        _c("title", "text", "Product title", free_text=True, synonyms=("name", "product_name", "item_name")),
        _c("description", "text", "Long description", free_text=True, synonyms=("desc", "details")),
        _c("brand", "category", "Brand", synonyms=("manufacturer", "vendor")),
        _c("category", "category", "Category path 'A > B > C'", synonyms=("category_path", "cat", "department")),
        _c("price", "price", "Current list price", min=0, synonyms=("list_price", "unit_price", "unitprice")),
        _c("cost", "price", "Unit cost (optional)", min=0, synonyms=("unit_cost", "cogs")),
        _c("currency", "category", "ISO 4217 currency code"),
        _c("attributes", "json", "Other source columns, as JSON"),
    ),
    extras_column="attributes",
    synthesizable_key=False,
)

ORDERS = Table(
    "orders",
    key=("order_id",),
    doc="One row per order. total_amount is negative for a refund/return order.",
    columns=(
        _c("order_id", "id", "Order key",
           synonyms=("order", "orderid", "invoice", "invoiceno", "invoice_no", "transaction", "transaction_id",
                     "basket_id")),
        _c("customer_id", "id", "Customer who placed it", pii=True, synonyms=CUSTOMERS.columns[0].synonyms),
        _c("order_ts", "timestamp", "When it was placed (UTC)",
           synonyms=("order_date", "orderdate", "invoicedate", "invoice_date", "date", "timestamp", "ts",
                     "created_at", "order_time")),
        _c("status", "category", "completed, cancelled, refunded …"),
        _c("channel", "category", "web, app, store …"),
        _c("country", "category", "Shipping country"),
        _c("total_amount", "money", "Order total; negative for returns",
           synonyms=("total", "amount", "revenue", "dollar_value", "order_total", "value")),
        _c("n_items", "int", "Units in the order (derived from order_items when present)",
           synonyms=("items", "quantity", "number_of_items", "units")),
    ),
    links={"customer_id": "customers.customer_id"},
    synthesizable_key=False,
)

ORDER_ITEMS = Table(
    "order_items",
    key=("order_id", "line_no"),
    doc="Order lines. A negative quantity is a returned line (documented convention, not an error).",
    columns=(
        _c("order_id", "id", "Order key", synonyms=ORDERS.columns[0].synonyms),
        _c("line_no", "int", "Line number within the order (synthesized in file order when absent)",
           min=0, synonyms=("line", "line_number", "position")),
        _c("product_id", "id", "Product key", synonyms=PRODUCTS.columns[0].synonyms),
        _c("quantity", "int", "Units; negative for a return", synonyms=("qty", "units", "count")),
        _c("unit_price", "price", "Price per unit before the line discount (paid: quantity × unit_price − discount)",
           min=0,
           synonyms=("price", "unitprice", "unit_cost_price")),
        _c("discount", "price", "Discount per line (absolute)", min=0),
    ),
    links={"order_id": "orders.order_id", "product_id": "products.product_id"},
)

EVENTS = Table(
    "events",
    key=("event_id",),
    doc="Click-stream events. Sessions are rebuilt from 30 minutes of inactivity when session_id is empty.",
    columns=(
        _c("event_id", "id", "Event key (synthesized from file hash and record when absent)"),
        _c("session_id", "id", "Session key", synonyms=("session", "sessionid")),
        _c("customer_id", "id", "Customer, when known", pii=True, synonyms=CUSTOMERS.columns[0].synonyms),
        _c("product_id", "id", "Product, when the event concerns one", synonyms=PRODUCTS.columns[0].synonyms),
        _c("event_type", "category", "One of " + ", ".join(EVENT_TYPES), choices=EVENT_TYPES, aliases=EVENT_ALIASES,
           synonyms=("type", "event", "action", "behavior_type", "behaviour_type")),
        _c("event_ts", "timestamp", "When it happened (UTC)", synonyms=("timestamp", "ts", "time", "event_time")),
        _c("query", "text", "Search query text", free_text=True, synonyms=("search_query", "search_term")),
        _c("properties", "json", "Other source columns, as JSON"),
    ),
    extras_column="properties",
    links={"product_id": "products.product_id"},
)

REVIEWS = Table(
    "reviews",
    key=("review_id",),
    doc="Product reviews. label is a sentiment label given by the source (e.g. 0/1), source names it.",
    columns=(
        _c("review_id", "id", "Review key (synthesized from file hash and record when absent)"),
        _c("product_id", "id", "Reviewed product", synonyms=PRODUCTS.columns[0].synonyms),
        _c("customer_id", "id", "Reviewer, when known", pii=True, synonyms=CUSTOMERS.columns[0].synonyms),
        _c("rating", "int", "Stars 1–5", min=1, max=5, synonyms=("stars", "score", "overall", "star_rating")),
        _c("title", "text", "Review title", free_text=True, synonyms=("summary", "headline")),
        _c("body", "text", "Review text", free_text=True,
           synonyms=("text", "review", "review_text", "reviewtext", "content", "comment")),
        _c("review_ts", "timestamp", "When it was written (UTC)", synonyms=("date", "review_date", "timestamp")),
        _c("language", "category", "ISO 639-1 code (detected when absent)", synonyms=("lang",)),
        _c("verified", "bool", "Verified purchase", synonyms=("verified_purchase",)),
        _c("label", "int", "Sentiment label given by the source", synonyms=("sentiment", "polarity")),
        _c("source", "category", "Where the label/review came from"),
        _c("attributes", "json", "Other source columns (helpful votes, reviewer age …), as JSON"),
    ),
    extras_column="attributes",
    links={"product_id": "products.product_id"},
)

QA = Table(
    "qa",
    key=("qa_id",),
    doc="Questions and answers: FAQ entries, product Q&A, policies.",
    columns=(
        _c("qa_id", "id", "Key (synthesized from file hash and record when absent)"),
        _c("product_id", "id", "Product, for product Q&A", synonyms=PRODUCTS.columns[0].synonyms),
        _c("question", "text", "Question", free_text=True, synonyms=("q", "query")),
        _c("answer", "text", "Answer", free_text=True, synonyms=("a", "response")),
        _c("source", "category", "faq, product_qa or policy", choices=QA_SOURCES, aliases=QA_ALIASES),
        _c("attributes", "json", "Other source columns (answer type, question type …), as JSON"),
    ),
    extras_column="attributes",
)

INVENTORY = Table(
    "inventory",
    key=("product_id", "ts"),
    doc="Stock snapshots (optional input to inventory planning).",
    columns=(
        _c("product_id", "id", "Product", synonyms=PRODUCTS.columns[0].synonyms),
        _c("ts", "timestamp", "Snapshot time (UTC)", synonyms=("date", "timestamp", "snapshot_ts")),
        _c("on_hand", "int", "Units on hand", min=0, synonyms=("stock", "qty_on_hand")),
        _c("on_order", "int", "Units on order", min=0),
        _c("lead_time_days", "float", "Supplier lead time in days", min=0, synonyms=("lead_time",)),
    ),
    links={"product_id": "products.product_id"},
    synthesizable_key=False,
)

RATINGS = Table(
    "ratings",
    key=("customer_id", "product_id"),
    doc="Explicit ratings without text (e.g. MovieLens).",
    columns=(
        _c("customer_id", "id", "Who rated", pii=True, synonyms=CUSTOMERS.columns[0].synonyms),
        _c("product_id", "id", "What was rated", synonyms=PRODUCTS.columns[0].synonyms),
        _c("rating", "float", "The rating", synonyms=("stars", "score")),
        _c("rating_ts", "timestamp", "When (UTC)", synonyms=("timestamp", "ts", "date")),
    ),
    synthesizable_key=False,
)

KG_TRIPLES = Table(
    "kg_triples",
    key=("head", "relation", "tail"),
    doc="Knowledge-graph triples (head, relation, tail).",
    columns=(
        _c("head", "id", "Subject entity"),
        _c("relation", "category", "Relation name"),
        _c("tail", "id", "Object entity"),
    ),
    synthesizable_key=False,
)

SESSION_FEATURES = Table(
    "session_features",
    key=("session_id",),
    doc="Aggregated sessions (one row per session) with a purchase outcome.",
    columns=(
        _c("session_id", "id", "Session key (synthesized from file hash and record when absent)"),
        _c("customer_id", "id", "Customer, when known", pii=True),
        _c("session_start", "timestamp", "Start of the session (UTC), when known"),
        _c("purchased", "bool", "Whether the session ended in a purchase", synonyms=("revenue", "converted")),
        _c("features", "json", "Aggregated features of the session, as JSON"),
    ),
    extras_column="features",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS, EVENTS, REVIEWS, QA, INVENTORY, RATINGS, KG_TRIPLES,
              SESSION_FEATURES)
}


def get_table(name: str) -> Table:
    """The canonical table called ``name``, or a clear error listing the valid names."""
    try:
        return TABLES[name]
    except KeyError:
        raise NotFound(f"unknown table {name!r}; canonical tables are: {', '.join(TABLES)}") from None


def create_table_sql(table: Table) -> str:
    """DDL for one canonical table: types, NOT NULL keys and CHECK constraints for ranges and choices."""
    lines = []
    for col in table.columns:
        parts = [f'"{col.name}" {col.sql_type}']
        if col.name in table.key:
            parts.append("NOT NULL")
        checks = []
        if col.min is not None:
            checks.append(f'"{col.name}" >= {col.min:g}')
        if col.max is not None:
            checks.append(f'"{col.name}" <= {col.max:g}')
        if col.choices:
            allowed = ", ".join(f"'{v}'" for v in col.choices)
            checks.append(f'"{col.name}" IN ({allowed})')
        if checks:
            parts.append(f"CHECK ({' AND '.join(checks)})")
        lines.append(" ".join(parts))
    lines += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    body = ",\n  ".join(lines)
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  {body}\n)'


# -- meta tables: what ingest and erasure record about themselves -------------------------------------------------
META_SQL = [
    """CREATE TABLE IF NOT EXISTS ingest_runs (
        run_id VARCHAR PRIMARY KEY, "table" VARCHAR NOT NULL, source VARCHAR, file_hash VARCHAR,
        started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, "read" BIGINT, loaded BIGINT,
        quarantined BIGINT, inserted BIGINT, replaced BIGINT, unlinked JSON, quarantine_file VARCHAR,
        message VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS erasures (
        erased_at TIMESTAMP, customer_key VARCHAR, rows_deleted JSON)""",
]
# Columns added to ingest_runs since schema 1 (ingest applies this too, for workspaces made before it)
INGEST_RUNS_UPGRADE = "ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS fallback_decoded BIGINT"
META_SQL.append(INGEST_RUNS_UPGRADE)
# One row per batch of events appended through the REST API (POST /api/v1/events), written in the batch's own
# transaction: the events of batch_id are in ``events`` (``_ingest_run = batch_id``) exactly when this row is.
EVENT_BATCHES_SQL = """CREATE TABLE IF NOT EXISTS event_batches (
    batch_id VARCHAR PRIMARY KEY, received_at TIMESTAMP, committed_at TIMESTAMP, "events" BIGINT, accepted BIGINT,
    duplicates BIGINT, key_id VARCHAR)"""
META_SQL.append(EVENT_BATCHES_SQL)
