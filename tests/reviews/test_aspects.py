"""Aspects: found in hand-written English and Chinese reviews, and recovered on a simulated shop whose true
aspect sentiments are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError
from shoplens.reviews.aspects import AspectModel, clauses_of, summarize, summary_sentence


@pytest.fixture(scope="module")
def model(shop: sl.Workspace) -> AspectModel:
    return AspectModel(workspace=shop).fit(shop)


HAND_WRITTEN = [
    ("The fabric feels cheap and the seams came apart. It also runs small, order a size up.",
     {"quality", "size_fit"}),
    ("Shipping took three weeks and the box arrived crushed.", {"delivery", "packaging"}),
    ("Great value for the price, and the colour is exactly as pictured!", {"value", "appearance"}),
    ("质量很好，做工精细，但是尺码偏小。", {"quality", "size_fit"}),
    ("物流太慢了，包装也破了，客服态度很差。", {"delivery", "packaging", "service"}),
    ("价格实惠，颜色和图片一样。", {"value", "appearance"}),
]


def test_clauses_split_at_punctuation_and_contrast() -> None:
    assert clauses_of("Lovely colour, but it runs small. 质量很好，但是尺码偏小") == \
        ["Lovely colour", "it runs small", "质量很好", "尺码偏小"]


def test_aspects_found_in_hand_written_bilingual_reviews(model: AspectModel) -> None:
    found = model.analyze([text for text, _ in HAND_WRITTEN])
    for (text, expected), aspects in zip(HAND_WRITTEN, found, strict=True):
        assert {a["aspect"] for a in aspects} == expected, text
        assert all(a["quote"] in text and a["sentiment"] in ("negative", "neutral", "positive") for a in aspects)
    assert model.terms_["size_fit"] and model.terms_["delivery"]  # words learned from this shop's reviews


def test_simulated_aspect_sentiments_are_recovered(model: AspectModel, shop: sl.Workspace) -> None:
    truth = pd.read_parquet(shop.path / "truth" / "review_aspects.parquet")
    mentions = model.mention_table(shop)
    sign = {"negative": -1, "neutral": 0, "positive": 1}
    found = (mentions.assign(s=mentions["sentiment"].map(sign)).groupby(["review_id", "aspect"])["s"]
             .agg(lambda s: s.mode()[0]).reset_index())
    both = truth.merge(found, on=["review_id", "aspect"])
    recall, precision = len(both) / len(truth), len(both) / len(found)
    assert recall >= 0.7 and precision >= 0.9, (recall, precision)
    polar = both[(both["sentiment"] != 0) & (both["s"] != 0)]
    agreement = (polar["sentiment"] == polar["s"]).mean()
    assert agreement >= 0.7, agreement  # chance is 0.5
    # per product and aspect, the net sentiment follows the truth
    products = shop.sql("SELECT review_id, product_id FROM reviews")
    true_net = (truth.merge(products, on="review_id").groupby(["product_id", "aspect"])["sentiment"]
                .agg(["mean", "size"]))
    summary = summarize(mentions, "product_id").set_index(["product_id", "aspect"])
    joined = summary.join(true_net, how="inner")
    joined = joined[joined["size"] >= 3]
    assert np.corrcoef(joined["net"], joined["mean"])[0, 1] >= 0.4


def test_summaries_have_counts_quotes_and_a_sentence(model: AspectModel, shop: sl.Workspace) -> None:
    mentions = model.mention_table(shop)
    summary = summarize(mentions, "category")
    row = summary.sort_values("mentions").iloc[-1]
    assert row["mentions"] == row["positive"] + row["neutral"] + row["negative"]
    assert len(row["positive_quotes"]) <= 2 and (row["positive_quotes"] or row["negative_quotes"])
    sentence = summary_sentence(summary[summary["category"] == row["category"]], model.terms_)
    assert sentence.startswith("Customers")


def test_save_load_and_errors(model: AspectModel, tmp_path) -> None:
    model.save(tmp_path / "aspects")
    loaded = AspectModel.load(tmp_path / "aspects")
    texts = [text for text, _ in HAND_WRITTEN]
    def strip(found: list[list[dict]]) -> list[list[tuple]]:
        return [[(a["aspect"], a["sentiment"], a["quote"]) for a in review] for review in found]

    assert strip(loaded.analyze(texts)) == strip(model.analyze(texts))
    with pytest.raises(InputError, match="too few"):
        AspectModel().fit(pd.DataFrame({"text": ["great"], "rating": [5]}))
