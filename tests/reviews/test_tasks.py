"""The stored splits: indices only, reproducible from the published files, the protocol of issue 4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError, NotFound
from shoplens.reviews.tasks import (
    CATEGORY_NAMES,
    SPLIT_NAMES,
    leave_one_category_out,
    load_categories,
    load_giftcards,
    load_task,
    make_split,
    read_source,
    stored_split,
)
from tests.conftest import shared_path


def test_womens_clothing_split_is_stored_and_reproducible() -> None:
    path = shared_path("womens_clothing_reviews")
    source = read_source("womens_clothing_reviews", path)
    assert len(source) == 23_486 - 845  # rows without review text are left out
    split = stored_split("womens_clothing_reviews")
    recreated = make_split(source["rating"].astype(int).to_numpy())
    for name in SPLIT_NAMES:
        np.testing.assert_array_equal(split[name], source["row"].to_numpy()[recreated[name]])
    sizes = {name: len(split[name]) for name in SPLIT_NAMES}
    assert sizes == {"train": 18_112, "validation": 2_264, "test": 2_265}
    assert not set(split["train"]) & set(split["test"]) and not set(split["validation"]) & set(split["test"])


def test_task_labels_and_text() -> None:
    path = shared_path("womens_clothing_reviews")
    stars = load_task("womens_clothing_5star", path)
    binary = load_task("womens_clothing_binary", path)
    three = load_task("womens_clothing_3class", path)
    assert sorted(stars["label"].unique()) == [0, 1, 2, 3, 4]
    assert len(binary) == (stars["label"] != 2).sum() and set(binary["label"]) == {0, 1}
    assert set(binary["row"]) <= set(stars["row"])  # the same split minus the 3-star rows
    merged = binary.merge(stars, on="row", suffixes=("", "_stars"))
    assert (merged["split"] == merged["split_stars"]).all()
    assert (merged["label"] == (merged["label_stars"] >= 3)).all()
    assert three["label"].value_counts().to_dict() == {2: 17_448, 1: 2_823, 0: 2_370}
    raw = pd.read_csv(path / "womens_clothing_ecommerce_reviews.csv")
    by_row = stars.set_index("row")["text"]
    titled = raw[raw["Title"].notna() & raw["Review Text"].notna()].index[0]
    assert by_row[titled] == f"{raw.at[titled, 'Title']}. {raw.at[titled, 'Review Text']}"
    untitled = raw[raw["Title"].isna() & raw["Review Text"].notna()].index[0]
    assert by_row[untitled] == raw.at[untitled, "Review Text"]


def test_chinese_split() -> None:
    frame = load_task("online_shopping_10_cats", shared_path("online_shopping_10_cats"))
    assert len(frame) == 62_774
    shares = frame.groupby("split")["label"].mean()
    assert np.allclose(shares, frame["label"].mean(), atol=0.01)  # stratified by label
    assert frame["split"].value_counts().to_dict() == {"train": 50_219, "validation": 6_277, "test": 6_278}


def test_leave_one_category_out_folds_never_see_the_held_out_category_or_test_rows() -> None:
    frame = load_categories(shared_path("online_shopping_10_cats"))
    assert sorted(frame["category"].unique()) == sorted(CATEGORY_NAMES.values())
    targets = []
    for category in CATEGORY_NAMES.values():
        source, target = leave_one_category_out(frame, category)
        assert category not in set(source["category"]) and set(target["category"]) == {category}
        assert set(source["split"]) == {"train", "validation"} and set(target["split"]) == {"test"}
        assert len(source) == ((frame["category"] != category) & (frame["split"] != "test")).sum()
        targets.append(target)
    every_target = pd.concat(targets)
    assert len(every_target) == 6_278 and every_target["row"].is_unique  # each test row held out exactly once
    assert every_target.groupby("category").size().to_dict()["water_heaters"] == 69
    with pytest.raises(NotFound, match="categories are"):
        leave_one_category_out(frame, "toys")


def test_giftcards_stars_binary_and_no_star_count_titles() -> None:
    path = shared_path("amazon_giftcards")
    stars = load_giftcards(path)
    assert len(stars) == 2_972 - 6  # six reviews have neither text nor a title other than the star count
    assert stars["label"].value_counts().sort_index().tolist() == [22, 11, 33, 154, 2_746]
    assert stars.loc[stars["row"] == 0, "text"].item() == "Another great gift."  # its title was "Five Stars"
    assert not stars["text"].str.contains(r"^(?:one|two|three|four|five) stars?\. ", case=False).any()
    assert stars.loc[stars["row"] == 1, "text"].item() == "Ease of use. Gift card for my daughter"
    binary = load_giftcards(path, "binary")
    assert len(binary) == len(stars) - 33 and binary["label"].value_counts().to_dict() == {1: 2_900, 0: 33}
    with pytest.raises(InputError, match="kind"):
        load_giftcards(path, "3class")
