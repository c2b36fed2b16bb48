"""Privacy: no raw e-mail address or phone number reaches the warehouse or the quarantine."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq

import shoplens as sl
from shoplens.data.privacy import EMAIL_RE, looks_personal, mask_text, pseudonym

EMAILS = ["ann.lee@example.com", "bob+shop@mail.example.org", "张伟@例子.公司", "c.d@x.co"]
PHONES = ["+44 20 7946 0958", "(555) 123-4567", "13812345678"]

CUSTOMERS = """customer_id,email,phone,Full Name,street address,country,signup_ts
C1,ann.lee@example.com,+44 20 7946 0958,Ann Lee,1 High St,UK,2023-01-01
C2,bob+shop@mail.example.org,(555) 123-4567,Bob Stone,2 Main Rd,US,2023-02-01
C3,c.d@x.co,13812345678,Chen Di,3 Long Ave,CN,not a date
"""
ORDERS = """order_id,customer_id,order_ts,total_amount
O1,ann.lee@example.com,2024-01-01,10
O2,C2,2024-01-02,20
O3,bob+shop@mail.example.org,2024-01-03,oops
O4,(555) 123-4567,2024-01-04,5
"""
REVIEWS = """review_id,customer_id,product_id,rating,body
R1,C1,P1,5,"Great! Mail me at ann.lee@example.com or call +44 20 7946 0958"
R2,c.d@x.co,P1,1,"太差了 联系我 13812345678"
R3,C2,P2,9,"bad rating, write to bob+shop@mail.example.org"
"""


def string_values_in_warehouse(ws: sl.Workspace) -> list[str]:
    values: list[str] = []
    with ws.connect() as con:
        columns = con.execute("""SELECT table_name, column_name FROM information_schema.columns
                                 WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema = 'main'""").fetchall()
        for table, column in columns:
            values += [str(v[0]) for v in con.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
                       .fetchall()]
    return values


def string_values_in_quarantine(ws: sl.Workspace) -> list[str]:
    values: list[str] = []
    for path in Path(ws.dir("quarantine")).rglob("*.parquet"):
        for row in pq.read_table(path).to_pylist():
            values += [str(v) for v in row.values() if v is not None]
    return values


def ingest_all(ws: sl.Workspace, tmp_path: Path, **options) -> None:
    for table, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("reviews", REVIEWS)):
        path = tmp_path / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        ws.ingest(table, path, **options)


def test_no_raw_email_or_phone_reaches_warehouse_or_quarantine(workspace: sl.Workspace, tmp_path: Path) -> None:
    ingest_all(workspace, tmp_path)
    stored = string_values_in_warehouse(workspace) + string_values_in_quarantine(workspace)
    assert string_values_in_quarantine(workspace), "the test data must produce quarantined rows"
    text = "\n".join(stored)
    for secret in EMAILS + PHONES + ["Ann Lee", "1 High St"]:
        assert secret not in text, f"{secret!r} reached the warehouse or the quarantine"
    assert not [v for v in stored if EMAIL_RE.search(v)]


def test_pseudonyms_are_consistent_across_tables(workspace: sl.Workspace, tmp_path: Path) -> None:
    ingest_all(workspace, tmp_path)
    keys = workspace.pii_keys()
    orders = workspace.table("orders").set_index("order_id")
    assert orders.loc["O1", "customer_id"] == pseudonym("ann.lee@example.com", keys)
    assert orders.loc["O2", "customer_id"] == "C2"  # ordinary ids stay usable
    assert orders.loc["O4", "customer_id"] == pseudonym("(555) 123-4567", keys)
    review = workspace.table("reviews").set_index("review_id")
    assert review.loc["R2", "customer_id"] == pseudonym("c.d@x.co", keys)
    assert review.loc["R1", "body"] == "Great! Mail me at [email] or call [phone]"
    assert "[phone]" in review.loc["R2", "body"]
    attributes = workspace.table("customers").set_index("customer_id").loc["C1", "attributes"]
    assert pseudonym("Ann Lee", keys) in attributes  # names pseudonymized, not dropped


def test_keep_pii_opts_out(workspace: sl.Workspace, tmp_path: Path) -> None:
    ingest_all(workspace, tmp_path, keep_pii=True)
    assert "ann.lee@example.com" in "\n".join(string_values_in_warehouse(workspace))


def test_forget_erases_a_customer(workspace: sl.Workspace, tmp_path: Path) -> None:
    ingest_all(workspace, tmp_path)
    # Bob is C2 in the customer file, and his e-mail is the customer id of order O3 (quarantined: "oops")
    affected = workspace.forget("bob+shop@mail.example.org").counts()
    assert {k: v for k, v in affected.items() if k.startswith("warehouse") or k == "quarantine"} == {
        "warehouse/customers": 1, "warehouse/reviews": 0, "warehouse/ratings": 0, "warehouse/orders": 1,
        "warehouse/events": 0, "warehouse/session_features": 0, "warehouse.duckdb": 1,
        "quarantine": 2}  # O2 unlinked; O3 and R3 (rating 9) dropped from the quarantine
    assert "C2" not in set(workspace.table("orders")["customer_id"].dropna())
    assert workspace.table("customers").query("customer_id == 'C2'").empty
    assert workspace.forget("C1").counts()["warehouse/reviews"] == 1
    erasures = workspace.sql("SELECT customer_key FROM erasures")
    assert len(erasures) == 2 and not erasures["customer_key"].isin(["C1", "C2"]).any()  # pseudonyms only


def test_masking_helpers() -> None:
    assert mask_text("write to a.b@c.de or 555-123-4567 before 2017-04-09") == \
        "write to [email] or [phone] before 2017-04-09"
    assert looks_personal(" ann@x.org ") and looks_personal("+1 555 123 4567")
    assert not looks_personal("12346") and not looks_personal("C42")
    assert re.fullmatch(r"p_[0-9a-f]{20}", pseudonym("x", ("k1", "k2")))
