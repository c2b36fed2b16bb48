"""Query understanding (issue 11, item 4): the committed English and Chinese cases parse exactly (gate ≥ 90 %),
every rewrite is visible, behaviour mining finds the simulator's Chinese words for its English categories, and bad
input gets a clear answer."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError, NotFound
from shoplens.search.query import QueryParser, parse_accuracy, parsed_exactly

CASES_FILE = Path(__file__).with_name("query_cases.json")
GATE = 0.90


@pytest.fixture(scope="module")
def cases() -> dict:
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parser(cases: dict) -> QueryParser:
    return QueryParser().fit(pd.DataFrame(cases["catalog"]))


def test_cases_are_balanced(cases: dict) -> None:
    rows = cases["cases"]
    assert len(rows) >= 60
    for lang in ("en", "zh"):
        mine = [c for c in rows if c["lang"] == lang]
        assert len(mine) >= 30 and {c["split"] for c in mine} == {"dev", "test"}
    assert len({c["query"] for c in rows}) == len(rows)


@pytest.mark.parametrize("split", ["dev", "test"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gate_parse_accuracy(parser: QueryParser, cases: dict, split: str, lang: str) -> None:
    chosen = [c for c in cases["cases"] if c["split"] == split and c["lang"] == lang]
    wrong = [(c["query"], parser.parse(c["query"]).filters, parser.parse(c["query"]).category)
             for c in chosen if not parsed_exactly(parser.parse(c["query"]), c)]
    assert parse_accuracy(parser, chosen) >= GATE, wrong


def test_the_issues_examples(parser: QueryParser) -> None:
    en = parser.parse("red dress under 50")
    assert en.filters == {"price_max": 50.0, "colour": "red", "category": "Clothing > Dresses"}
    assert en.query == "red dress" and en.language == "en"
    zh = parser.parse("50元以下的红色连衣裙")
    assert zh.filters == {"price_max": 50.0, "colour": "红色", "category": "服装 > 连衣裙"}
    assert zh.query == "红色 连衣裙" and zh.language == "zh"
    assert parser.parse("100-200元 手机").filters == {"price_min": 100.0, "price_max": 200.0,
                                                     "category": "手机数码 > 手机"}


def test_every_rewrite_is_explained(parser: QueryParser) -> None:
    parsed = parser.parse("samsnug galaxy s10 case under $30")
    assert parsed.corrections == {"samsnug": "samsung"}
    assert parsed.query == "samsung galaxy s10 case"
    kinds = [r.kind for r in parsed.rewrites]
    assert kinds[:2] == ["price", "spelling"] and {"brand", "category", "synonym"} <= set(kinds)
    lines = parsed.explain()
    assert 'price: "under $30" → price ≤ 30' in lines and any('"samsnug" → "samsung"' in x for x in lines)
    assert parsed.synonyms == {"case": ["cover"]}
    assert json.loads(json.dumps(parsed.to_dict(), ensure_ascii=False))["explain"] == lines


def test_split_filters_for_the_index(parser: QueryParser) -> None:
    parsed = parser.parse("red dress under 50")
    assert parsed.split_filters() == ({"category": "Clothing > Dresses", "price_max": 50.0}, {"colour": "red"})
    hard, soft = parsed.split_filters({"price_max": 80, "colour": "blue"}, index_keys=("brand", "price_max"))
    assert hard == {"price_max": 80, "colour": "blue"} and soft == {"category": "Clothing > Dresses"}


@pytest.mark.parametrize(("text", "bounds"), [
    ("between 20 and 40 dollars", {"price_min": 20.0, "price_max": 40.0}),
    ("from 20 to 40", {"price_min": 20.0, "price_max": 40.0}),
    ("less than ¥100", {"price_max": 100.0}),
    ("< 50", {"price_max": 50.0}),
    ("over 1k", {"price_min": 1000.0}),
    ("200元以上", {"price_min": 200.0}),
    ("不超过300元", {"price_max": 300.0}),
    ("3000左右", {"price_min": 2400.0, "price_max": 3600.0}),
    ("５０元以内", {"price_max": 50.0}),  # full-width digits
    ("$50", {"price_min": 40.0, "price_max": 60.0}),
    ("usb 3-5", {}),  # a range without a currency or "between" is not a price
    ("galaxy s10", {}),
    ("5g phone", {}),
    ("under 30 inches", {}),  # a measure, not a price
    ("less than 5 kg", {}),
])
def test_price_phrases(parser: QueryParser, text: str, bounds: dict) -> None:
    got = {k: v for k, v in parser.parse(text).filters.items() if k.startswith("price")}
    assert got == bounds


def test_spelling_is_scaled_by_length_and_spares_real_words(parser: QueryParser) -> None:
    assert parser.parse("addidas").filters == {"brand": "Adidas"}       # one edit, 7 letters
    assert parser.parse("lululemmon").filters == {"brand": "Lululemon"}  # 10 letters allow two
    assert parser.parse("dell").filters == {"brand": "Dell"}
    assert parser.parse("del").corrections == {}                       # 3 letters: never corrected
    assert parser.parse("gift").corrections == {}                      # an English word the catalog lacks


def test_bluetooth_is_no_colour(parser: QueryParser) -> None:
    assert "colour" not in parser.parse("蓝牙耳机").filters
    assert parser.parse("蓝 连衣裙").filters.get("colour") == "蓝色"


def test_behaviour_mining_finds_chinese_words_for_english_categories(small_shop: sl.Workspace) -> None:
    """The simulator's shoppers also search in Chinese (one query per product, e.g. 连衣裙 for a dress); the catalog
    is English, so only their clicks can teach the parser what those words mean."""
    from shoplens.data.synth.events import ZH_TERMS
    from shoplens.data.synth.vocab import LEAVES

    parser = QueryParser().fit(small_shop)
    without = QueryParser(mine_behaviour=False).fit(small_shop)
    present = set(parser.categories_)
    pairs = [(term, leaf.path) for term, leaf in zip(ZH_TERMS, LEAVES, strict=True) if leaf.path in present]
    mined = sum(parser.parse(term).category == path for term, path in pairs)
    assert mined >= 0.6 * len(pairs), [(t, p, parser.parse(t).category) for t, p in pairs]
    assert sum(without.parse(term).category == path for term, path in pairs) == 0
    assert any(r.kind == "behaviour" for r in parser.parse(pairs[0][0]).rewrites) or mined < len(pairs)


def test_save_load_round_trip(parser: QueryParser, cases: dict, tmp_path: Path) -> None:
    loaded = QueryParser.load(parser.save(tmp_path / "parser"))
    assert loaded.get_params() == parser.get_params()
    for case in cases["cases"]:
        assert loaded.parse(case["query"]).to_dict() == parser.parse(case["query"]).to_dict()


def test_evaluate_records_beside_baseline(parser: QueryParser, cases: dict) -> None:
    records = parser.evaluate(cases["cases"], split="none")
    by_role = {r.role: r.metrics["parse_accuracy"] for r in records}
    assert by_role["ours"] >= GATE > by_role["baseline"]


@pytest.mark.parametrize("text", ["", "   ", '"red" dress:(*~)', "'; DROP TABLE products; --", "x" * 5000,
                                  "🙂🙂", "连衣裙" * 2000])
def test_odd_input_parses(parser: QueryParser, text: str) -> None:
    parsed = parser.parse(text)
    assert isinstance(parsed.filters, dict) and len(parsed.query.replace(" ", "")) <= 500
    if len(text) > 500:
        assert parsed.rewrites[0].kind == "truncate"


def test_bad_input_is_named(parser: QueryParser, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must be text"):
        parser.parse(None)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="not fitted"):
        QueryParser().parse("dress")
    with pytest.raises(InputError, match="title or a category"):
        QueryParser().fit(pd.DataFrame({"price": [1.0]}))
    with pytest.raises(NotFound, match="no query parser"):
        QueryParser.load(tmp_path)


def test_search_applies_what_the_parser_understood(cases: dict, tmp_path: Path) -> None:
    """The hook in Search.query: the parsed price and brand filter a real tantivy index; the caller's filters
    win; a parse that leaves nothing is relaxed to the caller's filters; understand=False opts out."""
    from shoplens.search import Search

    catalog = pd.DataFrame(cases["catalog"]).assign(attributes=lambda f: f["attributes"].map(json.dumps))
    search = Search(encoder=None).fit(catalog)
    page = search.query("red dress under 50", k=10)
    assert page.query == "red dress under 50" and page.understanding["filters"]["price_max"] == 50.0
    assert page.items and all(i["price"] <= 50 for i in page.items)
    assert page.items[0]["category"] == "Clothing > Dresses"
    assert 'price: "under 50" → price ≤ 50' in page.understanding["explain"]
    samsung = search.query("samsnug phone", k=10)
    assert samsung.items[0]["product_id"] == "E11" and samsung.understanding["corrections"] == {"samsnug": "samsung"}
    wider = search.query("red dress under 50", k=10, filters={"price_max": 100})
    assert {i["product_id"] for i in wider.items} >= {"E01", "E03"}          # the caller's bound wins
    relaxed = search.query("nike under $5", k=10)                            # nothing from Nike that cheap
    assert relaxed.understanding["relaxed"] and relaxed.items
    again = Search.load(search.save(tmp_path / "search"))
    assert again.query("50元以下的红色连衣裙").understanding == search.query("50元以下的红色连衣裙").understanding
    plain = Search(encoder=None, understand=False).fit(catalog).query("red dress under 50", k=10)
    assert plain.understanding is None and any(i["price"] > 50 for i in plain.items)
