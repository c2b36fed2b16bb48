"""The product index on a real tantivy folder: fields and weights, filters, Chinese, hostile query text, dense."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError, NotFound
from shoplens.search.index import FIELDS, ProductIndex, analyze, query_terms

DOCS = pd.DataFrame({
    "product_id": ["P1", "P2", "P3", "P4"],
    "title": ["Red running shoes", "红色连衣裙", "Blue walking shoes", "Espresso machine"],
    "brand": ["Nike", "Zara", "Nike", "DeLonghi"],
    "category": ["Shoes > Running", "Clothing > Dresses", "Shoes > Walking", "Home > Kitchen"],
    "price": [80.0, 40.0, None, 199.0],
    "description": ["light and fast", "夏季 新款", "", "makes red crema"],
})


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ProductIndex:
    vectors = np.eye(4, 8, dtype=np.float32)
    return ProductIndex.build(DOCS, tmp_path_factory.mktemp("search") / "index", vectors={"toy": vectors})


def ids(index: ProductIndex, hits) -> list[str]:
    return index.products["product_id"].iloc[hits.rows].tolist()


def test_analyze_segments_chinese_stems_english_and_drops_syntax() -> None:
    assert analyze("Running Shoes: (red*)") == ["run", "shoe", "red"]
    assert {"红色", "连衣裙"} <= set(analyze("50元以下的红色连衣裙"))
    assert query_terms("shoes shoes SHOES") == ["shoe"]


def test_title_outweighs_description(index: ProductIndex) -> None:
    hits = index.lexical("red", k=10)
    assert ids(index, hits) == ["P1", "P4"]  # P1 has "red" in its title (weight 3), P4 only in its description
    assert hits.scores[0] > hits.scores[1]
    assert ids(index, index.lexical("red", weights={"description": 1.0})) == ["P4"]


def test_chinese_query_finds_chinese_product(index: ProductIndex) -> None:
    assert ids(index, index.lexical("红色的连衣裙")) == ["P2"]


@pytest.mark.parametrize("filters, expected", [
    ({"brand": "NIKE"}, {"P1", "P3"}),
    ({"category": "shoes"}, {"P1", "P3"}),
    ({"category": "Shoes > Running"}, {"P1"}),
    ({"price_max": 100}, {"P1"}),  # P3 has no price: a price filter leaves it out
    ({"price_min": 50, "brand": "nike"}, {"P1"}),
])
def test_filters_agree_between_lexical_and_mask(index: ProductIndex, filters: dict, expected: set) -> None:
    assert set(ids(index, index.lexical("shoes", filters=filters))) == expected
    keep = index.mask(filters)
    assert expected <= set(index.products["product_id"][keep])


@pytest.mark.parametrize("filters", [{"colour": "red"}, {"price_max": "cheap"}, {"price_min": 9, "price_max": 1},
                                     {"price_min": float("nan")}, ["brand"]])
def test_bad_filters_are_input_errors(index: ProductIndex, filters) -> None:
    with pytest.raises(InputError, match="filter"):
        index.lexical("shoes", filters=filters)


@pytest.mark.parametrize("text", ['"red', "title:red", "(red", "red*", "red~2", "' OR 1=1; DROP TABLE products; --",
                                  "x" * 5000, "red " * 2500, "", "   ", "!!!"])
def test_hostile_query_text_is_words_not_syntax(index: ProductIndex, text: str) -> None:
    hits = index.lexical(text, k=10)
    expected = ["P1", "P4"] if "red" in text.lower() and "x" * 50 not in text else []
    assert ids(index, hits) == expected


def test_field_scores_per_field(index: ProductIndex) -> None:
    rows = [3, 0, 1]
    scores = index.field_scores("red nike shoes", rows)
    assert scores.shape == (3, len(FIELDS))
    fields = list(FIELDS)
    assert scores[1, fields.index("title")] > 0 and scores[1, fields.index("brand")] > 0
    assert scores[0, fields.index("description")] > 0 and scores[0, fields.index("title")] == 0
    assert not scores[2].any()
    again = index.field_scores("red nike shoes", [0, 3, 0])  # repeated rows get the same scores
    np.testing.assert_array_equal(again, scores[[1, 0, 1]])


@pytest.mark.parametrize("text", ["red nike shoes", "红色连衣裙", "espresso crema", "shoes shoes walking"])
def test_field_scores_are_the_fields_bm25_as_tantivy_scores_it(index: ProductIndex, text: str) -> None:
    # the term-weight matrices must give what a one-field tantivy search gives (the ranker's features at fit
    # time and at query time come from the same function; --explain shows these numbers)
    rows = np.arange(len(index))
    scores = index.field_scores(text, rows)
    for j, field in enumerate(FIELDS):
        hits = index.lexical(text, k=10, weights={field: 1.0})
        expected = np.zeros(len(index), dtype=np.float32)
        expected[hits.rows] = hits.scores
        np.testing.assert_allclose(scores[:, j], expected, rtol=1e-4, atol=1e-6, err_msg=field)


def test_dense_exact_with_filters(index: ProductIndex) -> None:
    query = np.eye(1, 8, 2, dtype=np.float32)[0]
    assert ids(index, index.dense("toy", query, k=1)) == ["P3"]
    assert ids(index, index.dense("toy", query, k=4, filters={"brand": "zara"})) == ["P2"]
    with pytest.raises(NotFound, match="toy"):
        index.vectors("other")


def test_reopen_and_atomic_rebuild(index: ProductIndex, tmp_path: Path) -> None:
    again = ProductIndex.open(index.folder)
    assert ids(again, again.lexical("espresso")) == ["P4"]
    folder = tmp_path / "index"
    ProductIndex.build(DOCS, folder)
    with pytest.raises(InputError, match="repeat product_id"):
        ProductIndex.build(pd.concat([DOCS, DOCS]), folder)
    assert len(ProductIndex.open(folder)) == 4  # the failed rebuild left the old index in place
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
    with pytest.raises(NotFound, match="shoplens search build"):
        ProductIndex.open(tmp_path / "missing")
