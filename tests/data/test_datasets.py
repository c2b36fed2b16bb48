"""Every dataset loader on the reference copies in ../shared/data: the rows read equal the counts published
in ../shared/data/README.md, read = loaded + quarantined for every report, and the quirks docs/datasets.md
describes are what the warehouse holds. Online Retail II is not in ../shared/data: its tests write a small
file in its format (never a sample of the real data)."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import shoplens as sl
from shoplens.data.datasets import DATASETS, Part, find_files, get_dataset, list_datasets, load_dataset
from shoplens.data.datasets._catalog import read_catalog
from shoplens.data.datasets._docs import generated_part, render
from shoplens.data.ingest import IngestReport
from shoplens.data.privacy import pseudonym
from shoplens.errors import InputError, NotFound
from tests.conftest import ROOT, shared_path


def load(name: str, ws: sl.Workspace, path: Path | None = None) -> dict[str, IngestReport]:
    """Load a dataset and check what holds for every report: the accounting and the registry's counts."""
    reports = load_dataset(name, ws, path or shared_path(name))
    info = DATASETS[name]
    assert list(reports) == [p.key for p in info.parts]
    for key, report in reports.items():
        assert report.read == report.loaded + report.quarantined, report
        if path is None:
            assert report.read == info.expected_rows[key], (key, report)
    return reports


def reads(reports: dict[str, IngestReport]) -> dict[str, int]:
    return {key: r.read for key, r in reports.items()}


def nothing_quarantined(reports: dict[str, IngestReport]) -> bool:
    return all(r.quarantined == 0 for r in reports.values())


def quarantined_reasons(ws: sl.Workspace, report: IngestReport) -> list[str]:
    return [row["reason"] for row in pq.read_table(ws.path / report.quarantine_file).to_pylist()]


def one(ws: sl.Workspace, query: str) -> Any:
    return ws.sql(query).iloc[0, 0]


# -- the reference copies: counts from ../shared/data/README.md ---------------------------------------------
def test_womens_clothing_reviews(workspace: sl.Workspace) -> None:
    reports = load("womens_clothing_reviews", workspace)
    assert reports["reviews"].read == 23_486 and nothing_quarantined(reports)
    # rows without review text are valid reviews with stars and an empty body
    assert one(workspace, "SELECT count(*) FROM reviews WHERE body IS NULL AND rating IS NOT NULL") == 845
    assert one(workspace, "SELECT count(DISTINCT product_id) FROM reviews") == reports["products"].read
    assert one(workspace, "SELECT category FROM products WHERE product_id = '1080'") == "General > Dresses > Dresses"
    # the other columns are kept in attributes: numbers typed, each review's own division / department / class
    assert reports["reviews"].ignored == []
    kept = workspace.sql("""SELECT count(*) FILTER (json_type(attributes->'age') = 'UBIGINT') AS age,
        count(*) FILTER (json_type(attributes->'positive_feedback_count') = 'UBIGINT') AS feedback,
        count(*) FILTER ((attributes->>'department') IS NOT NULL AND (attributes->>'class') IS NOT NULL) AS levels,
        count(*) FILTER (attributes->>'division' = 'General Petite') AS petite FROM reviews""").iloc[0].to_dict()
    assert kept == {"age": 23_486, "feedback": 23_486, "levels": 23_486 - 14, "petite": 8_120}
    first = one(workspace, "SELECT attributes FROM reviews WHERE review_id = '0'")
    assert json.loads(first) == {"age": 33, "positive_feedback_count": 0, "division": "Initmates",
                                 "department": "Intimate", "class": "Intimates"}


def test_online_shopping_10_cats(workspace: sl.Workspace) -> None:
    reports = load("online_shopping_10_cats", workspace)
    assert reports["reviews"].read == 62_774 and nothing_quarantined(reports)
    by_category = workspace.sql("SELECT source, count(*) AS n FROM reviews GROUP BY source").set_index("source")["n"]
    assert len(by_category) == 10 and by_category["酒店"] == 10_000
    assert one(workspace, "SELECT count(*) FROM reviews WHERE language = 'zh' AND label IN (0, 1)") == 62_774
    assert reports["reviews"].ignored == [] and reports["reviews"].extras == []  # cat, label, review: all mapped


def test_amazon_giftcards(workspace: sl.Workspace) -> None:
    reports = load("amazon_giftcards", workspace)
    assert (reports["reviews"].read, reports["products"].read) == (2_972, 1_547) and nothing_quarantined(reports)
    assert reports["reviews"].unlinked == {}  # every reviewed card is in the catalog
    assert one(workspace, "SELECT count(*) FROM products WHERE price IS NOT NULL") == 358  # '$25.00' …; rest empty
    assert one(workspace, "SELECT count(*) FROM kg_triples WHERE relation = 'also_view'") == 34_098
    # vote, style and image are kept in attributes
    kept = workspace.sql("""SELECT count(*) FILTER (json_type(attributes->'vote') = 'UBIGINT') AS vote,
        count(*) FILTER (attributes->'style'->>'Gift Amount' = '50') AS fifty,
        count(*) FILTER ((attributes->'style') IS NOT NULL) AS style,
        count(*) FILTER (json_array_length(attributes->'image') > 0) AS image FROM reviews""").iloc[0].to_dict()
    assert kept == {"vote": 208, "fifty": 315, "style": 864, "image": 12}


def test_amazon_giftcards_reviewer_names_are_pseudonymized(workspace: sl.Workspace) -> None:
    """reviewerName is personal data: the warehouse holds its keyed pseudonym, never the name."""
    load("amazon_giftcards", workspace)
    with gzip.open(shared_path("amazon_giftcards", "Gift_Cards_5.json.gz"), "rt", encoding="utf-8") as lines:
        names = {json.loads(line)["reviewerName"] for line in lines}
    stored = workspace.sql("SELECT attributes->>'reviewer_name' AS name, attributes::VARCHAR AS attributes "
                           "FROM reviews")
    keys = workspace.pii_keys()
    assert set(stored["name"]) == {pseudonym(name.strip(), keys) for name in names}
    assert not set(stored["name"]) & names
    # nor anywhere else in attributes (names of 4+ characters: a shorter one may be part of a URL)
    assert not any(f'"{name}"' in text for text in stored["attributes"] for name in names if len(name) >= 4)


def test_amazon_cellphones_catalog(workspace: sl.Workspace) -> None:
    reports = load("amazon_cellphones_catalog", workspace)
    assert reports["products"].read == 720 and nothing_quarantined(reports)
    # price 0 means "not shown": empty, never a zero price
    assert one(workspace, "SELECT count(*) FROM products WHERE price IS NULL") == 124
    assert one(workspace, "SELECT count(*) FROM products WHERE price = 0") == 0
    assert one(workspace, "SELECT count(*) FROM products WHERE attributes->>'original_price' IS NOT NULL") == 120


def test_amazon_qa(workspace: sl.Workspace) -> None:
    reports = load("amazon_qa", workspace)
    assert reports["qa"].read == 7_362 and nothing_quarantined(reports)
    assert one(workspace, "SELECT count(*) FROM qa WHERE source = 'product_qa' AND question IS NOT NULL "
                          "AND answer IS NOT NULL AND product_id IS NOT NULL") == 7_362
    # questionType, answerType (the yes/no label), answerTime and unixTime are kept in attributes
    assert reports["qa"].ignored == []
    types = workspace.sql("SELECT attributes->>'questionType' AS question, attributes->>'answerType' AS answer, "
                          "count(*) AS n FROM qa GROUP BY ALL")
    assert {(q, None if pd.isna(a) else a): n for q, a, n in types.itertuples(index=False)} == {
        ("yes/no", "Y"): 1_357, ("yes/no", "N"): 491, ("yes/no", "?"): 1_973, ("open-ended", None): 3_541}
    times = workspace.sql("""SELECT count(*) FILTER ((attributes->>'answerTime') IS NOT NULL) AS answer_time,
        count(*) FILTER (json_type(attributes->'unixTime') = 'UBIGINT') AS unix_time FROM qa""").iloc[0].to_dict()
    assert times == {"answer_time": 7_362, "unix_time": 7_362 - 336}


def test_cdnow(workspace: sl.Workspace) -> None:
    reports = load("cdnow", workspace)
    assert reads(reports) == {"customers": 23_570, "orders": 69_659} and nothing_quarantined(reports)
    span = workspace.sql("SELECT min(order_ts) AS first, max(order_ts) AS last FROM orders").iloc[0]
    assert str(span["first"])[:7] == "1997-01" and str(span["last"])[:7] == "1998-06"
    assert reports["orders"].unlinked == {}


def test_cdnow_sample_file(workspace: sl.Workspace) -> None:
    """The 2,357-customer sample of the BG/NBD paper loads from its file, with the master file's order ids."""
    reports = load("cdnow", workspace, shared_path("cdnow", "CDNOW_sample.txt"))
    assert reads(reports) == {"customers": 2_357, "orders": 6_919} and nothing_quarantined(reports)
    master = load("cdnow", workspace)  # the same purchases get the same order ids: replaced, not added
    assert master["orders"].replaced == 6_919 and workspace.counts()["orders"] == 69_659


def test_bakery_transactions(workspace: sl.Workspace) -> None:
    reports = load("bakery_transactions", workspace)
    assert reads(reports) == {"products": 95, "orders": 9_531, "order_items": 21_293}
    assert nothing_quarantined(reports)
    # 'NONE' is the till's placeholder: its lines are kept, the product says what it is
    assert one(workspace, "SELECT count(*) FROM order_items WHERE product_id = 'NONE'") == 786
    assert one(workspace, "SELECT attributes->>'placeholder' FROM products WHERE product_id = 'NONE'") == "true"
    # no prices in the source: order totals are unknown, not zero
    assert one(workspace, "SELECT count(*) FROM orders WHERE total_amount IS NULL AND n_items > 0") == 9_531
    span = workspace.sql("SELECT min(order_ts) AS first, max(order_ts) AS last FROM orders").iloc[0]
    assert str(span["first"])[:7] == "2016-10" and str(span["last"])[:7] == "2017-04"


def test_groceries_baskets(workspace: sl.Workspace) -> None:
    reports = load("groceries_baskets", workspace)
    assert reports["orders"].read == 9_835 and nothing_quarantined(reports)
    assert one(workspace, "SELECT n_items FROM orders WHERE order_id = 'groceries-1'") == 4


def test_online_shoppers_intention(workspace: sl.Workspace) -> None:
    reports = load("online_shoppers_intention", workspace)
    assert reports["sessions"].read == 12_330 and nothing_quarantined(reports)
    assert one(workspace, "SELECT count(*) FROM session_features WHERE purchased") == 1_908
    assert one(workspace, "SELECT sum(CAST(features->>'PageValues' AS DOUBLE)) > 0 FROM session_features")


def test_taobao_userbehavior_sample(workspace: sl.Workspace) -> None:
    reports = load("taobao_userbehavior_sample", workspace)
    assert reports["events"].read == 4_321 and nothing_quarantined(reports)
    assert one(workspace, "SELECT count(DISTINCT customer_id) FROM events") == 43
    kinds = workspace.sql("SELECT event_type, count(*) AS n FROM events GROUP BY 1").set_index("event_type")["n"]
    assert kinds.to_dict() == {"view": 3_926, "add_to_cart": 190, "wishlist": 128, "purchase": 77}
    assert str(one(workspace, "SELECT min(event_ts) FROM events"))[:4] == "2017"


def test_diginetica(workspace: sl.Workspace) -> None:
    reports = load("diginetica", workspace)
    purchases, categories, views = reports["order_items"], reports["products"], reports["views"]
    assert (purchases.read, categories.read, views.read) == (18_025, 184_047, 12_391) and nothing_quarantined(reports)
    assert reports["order_items"].unlinked == {} and reports["views"].unlinked == {}  # every item has a category
    assert one(workspace, "SELECT count(*) FROM events WHERE customer_id IS NULL") == 7_681  # user 'NA'


def test_movielens_100k(workspace: sl.Workspace) -> None:
    reports = load("movielens_100k", workspace)
    assert reads(reports) == {"products": 1_682, "customers": 943, "ratings": 100_000}
    assert nothing_quarantined(reports)
    assert one(workspace, "SELECT category FROM products WHERE product_id = '1'") == "Animation|Children's|Comedy"
    assert one(workspace, "SELECT min(n) FROM (SELECT count(*) AS n FROM ratings GROUP BY customer_id)") == 20
    zip_code = one(workspace, "SELECT attributes->>'zip_code' FROM customers WHERE customer_id = '1'")
    assert zip_code.startswith("p_")  # pseudonymized at ingest


def test_recbole_ml100k_kg(workspace: sl.Workspace) -> None:
    reports = load("recbole_ml100k_kg", workspace)
    assert reads(reports) == {"kg_triples": 91_631, "links": 1_598} and nothing_quarantined(reports)
    assert one(workspace, "SELECT count(DISTINCT head) FROM kg_triples WHERE relation = 'same_as'") == 1_598


def test_s3rec_amazon_seq(workspace: sl.Workspace) -> None:
    reports = load("s3rec_amazon_seq", workspace)
    assert reads(reports) == {"products": 12_101, "events": 198_502} and nothing_quarantined(reports)
    assert one(workspace, "SELECT count(DISTINCT customer_id) FROM events") == 22_363
    first = workspace.sql("SELECT product_id FROM events WHERE customer_id = '1' "
                          "ORDER BY CAST(properties->>'position' AS INT)")["product_id"].tolist()
    assert first == ["1", "2", "3", "4", "5"]


# Reference folders that fill no canonical table: benchmarks read them directly (CLINC150: intent routing).
NOT_SHOP_DATA = {"clinc150"}


def test_every_reference_folder_has_a_loader() -> None:
    folders = {p.name for p in shared_path().iterdir() if p.is_dir()} - NOT_SHOP_DATA
    assert folders | {"online_retail_ii"} == set(DATASETS)


def test_loading_again_changes_nothing(workspace: sl.Workspace) -> None:
    first = load("bakery_transactions", workspace)
    counts = workspace.counts()
    again = load("bakery_transactions", workspace)
    assert workspace.counts() == counts
    assert all(again[k].replaced == first[k].loaded for k in first)


# -- registry and errors --------------------------------------------------------------------------------------
def test_registry_describes_every_dataset() -> None:
    assert [d.name for d in list_datasets()] == sorted(DATASETS)
    for info in list_datasets():
        assert info.url and info.licence and info.description and info.tables
        assert info.to_dict()["name"] == info.name
    for name in ("movielens_100k", "amazon_giftcards", "taobao_userbehavior_sample", "diginetica"):
        assert "research" in DATASETS[name].licence


def test_unknown_dataset_lists_the_known_ones(workspace: sl.Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="movielens_100k"):
        load_dataset("movielens_1m", workspace, tmp_path)
    with pytest.raises(NotFound):
        get_dataset("nope")


@pytest.mark.parametrize(("name", "expected"), [
    ("movielens_100k", "u.data"), ("cdnow", "CDNOW_master.txt"), ("diginetica", "product-categories.csv"),
    ("online_retail_ii", "online_retail_II.xlsx"), ("s3rec_amazon_seq", "Beauty.txt"),
])
def test_a_folder_without_the_file_names_it(name: str, expected: str, workspace: sl.Workspace,
                                            tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not the data")
    with pytest.raises(InputError, match=expected):
        load_dataset(name, workspace, tmp_path)
    with pytest.raises(InputError, match="no such file or folder"):
        load_dataset(name, workspace, tmp_path / "missing")
    assert workspace.counts() == dict.fromkeys(workspace.counts(), 0)


def test_a_broken_line_names_file_and_line(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "CDNOW_master.txt"
    path.write_text(" 00001 19970101  1   11.77\n 00002 19970112  1\n")
    with pytest.raises(InputError, match=r"CDNOW_master\.txt, row 2: expected 4 fields, found 3"):
        load_dataset("cdnow", workspace, path)


# -- Online Retail II: a small file in its format, written here -------------------------------------------------
RETAIL_COLUMNS = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
RETAIL_LINES = [
    ["489434", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", "12", "2009-12-01 07:45:00", "6.95", "13085.0",
     "United Kingdom"],
    ["489434", "79323P", "PINK CHERRY LIGHTS", "12", "2009-12-01 07:45:00", "6.75", "13085.0", "United Kingdom"],
    ["489435", "85048", "GLASS BALL 20 LIGHTS", "2", "2009-12-01 07:46:00", "6.95", "", "United Kingdom"],
    ["C489449", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", "-1", "2009-12-01 10:33:00", "6.95", "16321.0",
     "Australia"],
    ["A506401", "B", "Adjust bad debt", "1", "2010-04-29 13:36:00", "-53594.36", "", "United Kingdom"],
]


def retail_frame(lines: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(lines, columns=RETAIL_COLUMNS)


def test_online_retail_ii_csv(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "online_retail_II.csv"
    retail_frame(RETAIL_LINES).to_csv(path, index=False)
    reports = load("online_retail_ii", workspace, tmp_path)
    assert reads(reports) == {"customers": 2, "products": 3, "orders": 4, "order_items": 5}
    # an 'A' invoice adjusts bad debt with a negative price: not a sale, quarantined with the reason
    assert reports["order_items"].quarantined == 1
    assert quarantined_reasons(workspace, reports["order_items"]) == [
        "unit_price: -53594.3600 is below the minimum 0"]
    orders = workspace.table("orders").set_index("order_id")
    assert orders.loc["489434", "customer_id"] == "13085" and float(orders.loc["489434", "total_amount"]) == 164.4
    assert orders.loc["C489449", "status"] == "cancelled" and float(orders.loc["C489449", "total_amount"]) == -6.95
    assert pd.isna(orders.loc["489435", "customer_id"])  # a guest purchase
    assert str(orders.loc["489434", "order_ts"]) == "2009-12-01 07:45:00"  # GMT in December
    title = one(workspace, "SELECT title FROM products WHERE product_id = '85048'")
    assert title == "15CM CHRISTMAS GLASS BALL 20 LIGHTS"  # the most frequent description


def test_online_retail_ii_xlsx_needs_openpyxl(workspace: sl.Workspace, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as on an install without the optional package
    path = tmp_path / "online_retail_II.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="needs the optional package openpyxl"):
        load_dataset("online_retail_ii", workspace, path)


def test_online_retail_ii_xlsx(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "online_retail_II.xlsx"
    if importlib.util.find_spec("openpyxl") is None:  # optional: without it, the test above is what holds
        return
    # two sheets like the original; invoice 489435 appears in both (the sheets overlap in time)
    with pd.ExcelWriter(path) as excel:
        retail_frame(RETAIL_LINES[:3]).to_excel(excel, sheet_name="Year 2009-2010", index=False)
        retail_frame(RETAIL_LINES[2:4]).to_excel(excel, sheet_name="Year 2010-2011", index=False)
    reports = load("online_retail_ii", workspace, path)
    assert reads(reports) == {"customers": 2, "products": 2, "orders": 3, "order_items": 5}
    assert quarantined_reasons(workspace, reports["order_items"]) == [
        "duplicate key (order_id=489435, line_no=1), first at row 3"]
    assert one(workspace, "SELECT n_items FROM orders WHERE order_id = '489435'") == 2


def test_bad_rows_in_a_users_copy_are_quarantined_with_reasons(workspace: sl.Workspace, tmp_path: Path) -> None:
    """A made-up file in Taobao's format: rows ingest cannot accept are accounted for, never dropped."""
    path = tmp_path / "UserBehavior.csv"
    path.write_text("7,100,55,pv,1511544070\n7,101,56,cart,1511544080\n7,102,57\n"
                    "8,100,55,click2,1511544090\n8,103,58,buy,yesterday\n")
    reports = load("taobao_userbehavior_sample", workspace, path)
    assert (reports["events"].read, reports["events"].loaded, reports["products"].read) == (5, 2, 3)
    reasons = quarantined_reasons(workspace, reports["events"])
    assert reasons[0] == "expected 5 fields, found 3"
    assert reasons[1].startswith("event_type: not one of view, search") and reasons[1].endswith('"click2"')
    assert reasons[2] == 'event_ts: not a timestamp between 1900 and 2100 in the format epoch_s "yesterday"'


def test_docs_say_what_the_catalogue_says() -> None:
    text = (ROOT / "docs" / "datasets.md").read_text(encoding="utf-8")
    assert generated_part(text) == render(list_datasets()), "python -m shoplens.data.datasets._docs docs/datasets.md"


# -- the table-driven loader (catalog.toml) -----------------------------------------------------------------------
def test_a_row_naming_a_column_the_file_lacks_names_file_and_column(workspace: sl.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "online_shopping_10_cats.csv"
    path.write_text("cat,label,text\n书籍,1,很好\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"online_shopping_10_cats\.csv, column 'review': expected a column 'review'; "
                                         r"the columns are: cat, label, text"):
        load_dataset("online_shopping_10_cats", workspace, path)
    assert workspace.counts() == dict.fromkeys(workspace.counts(), 0)


def test_a_file_path_finds_the_files_beside_it(tmp_path: Path) -> None:
    """A path to a file is that file where the dataset names it (given_file), whatever its name; the other files
    are found beside it, by names that may use it."""
    (tmp_path / "Toys.txt").write_text("1 2 3\n")
    (tmp_path / "Toys_item2attributes.json").write_text("{}")
    assert find_files("s3rec_amazon_seq", tmp_path / "Toys.txt") == {
        "sequences": tmp_path / "Toys.txt", "attributes": tmp_path / "Toys_item2attributes.json"}
    with pytest.raises(InputError, match=r"expects the file 'u\.data'"):  # MovieLens: a file path means its folder
        find_files("movielens_100k", tmp_path / "Toys.txt")


CATALOGUE = """
[shop]
description = "d"
url = "u"
licence = "l"
files.reviews = ["reviews.csv"]

[[shop.parts]]
key = "reviews"
table = "reviews"
file = "reviews.csv"
maps = "m"
"""


@pytest.mark.parametrize(("row", "message"), [
    ('read = "xlsx"', ".read: no reader 'xlsx'"),
    ('read = "csv"\nsep = ";"', ": unknown key 'sep'"),
    ('read = "fields"', ": missing key 'fields'"),
    ('from = "orders"', ".from: 'orders' is not one of the files (reviews)"),
    ('read = "csv"\ncolumns.body = { column = "text", to = "float" }', ".columns.body: no converter 'float'"),
    ('read = "csv"\ncolumns.body = { colum = "text" }', ".columns.body: unknown key 'colum'"),
    ('read = "file"\ncolumns.body = "text"', ": columns need a reader that makes a frame"),
    ('read = "csv"\ncolumns.body = "text"\nmapping.text = "body"', ": give columns or mapping"),
    ('read = "fields"\nfields = ["id", "text"]\ncolumns.body = "txt"', ": column 'txt' is not one of the fields"),
])
def test_a_catalogue_row_the_loader_cannot_follow_is_named(row: str, message: str) -> None:
    with pytest.raises(InputError, match=f"^catalog.toml: shop.parts\\[0\\]{re.escape(message)}"):
        read_catalog(CATALOGUE + row + "\n")


def test_a_catalogue_that_is_not_toml_says_where() -> None:
    with pytest.raises(InputError, match=r"^catalog\.toml: not valid TOML \(.*line 13"):
        read_catalog(CATALOGUE + "rows = \n")


def test_a_catalogue_row_reads_into_the_registry() -> None:
    row = 'read = "csv"\ncolumns.body = "text"\ncolumns.language = { value = "en" }\n'
    info, loading = read_catalog(CATALOGUE + row)["shop"]
    assert info.parts == (Part("reviews", "reviews", "reviews.csv", None, "m"),)
    assert loading.given_file == "reviews" and loading.parts[0].needed == ["text"] and loading.built == ()


# Rows and a hash of the sorted rows of each table a few quick loads fill: any change of what they load shows
# here. Left out: the ingest run, and keys ingest makes from the hash of a frame (its bytes name the pandas
# version). After a deliberate change, the failure prints the new values.
LOADED = {  # one for each reader: csv with converters, python_literals, typed_csv, file + csv, file + a function
    "amazon_cellphones_catalog": {"products": (720, "fb6a8efb60051c01")},
    "amazon_qa": {"qa": (7_362, "4e7c0c165b6c0950")},
    "online_shoppers_intention": {"session_features": (12_330, "9d751ca6b037e525")},
    "recbole_ml100k_kg": {"kg_triples": (93_229, "577cce695fbbe2f0")},
    "taobao_userbehavior_sample": {"events": (4_321, "fcd7446038e5b400"), "products": (3_276, "fe59c53ad109f403")},
}


def loaded_rows(ws: sl.Workspace, reports: dict[str, IngestReport]) -> dict[str, tuple[int, str]]:
    out = {}
    for table in sorted({r.table for r in reports.values()}):
        skip = {"_ingest_run", *(k for r in reports.values() if r.table == table for k in r.synthesized)}
        columns = [c for c in ws.sql(f'SELECT * FROM "{table}" LIMIT 0').columns if c not in skip]
        rows = ws.sql(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)} FROM \"{table}\"")
        text = "\n".join(sorted(repr(tuple(row)) for row in rows.itertuples(index=False)))
        out[table] = (len(rows), hashlib.sha256(text.encode()).hexdigest()[:16])
    return out


@pytest.mark.parametrize("name", sorted(LOADED))
def test_what_quick_loads_put_in_the_warehouse(name: str, workspace: sl.Workspace) -> None:
    (workspace.path / "secrets" / "pii.key").write_text("1" * 64 + "\n" + "2" * 64 + "\n", encoding="ascii")
    assert loaded_rows(workspace, load(name, workspace)) == LOADED[name]
