"""Splitters: Microsoft Recommenders' stratified semantics, leave-one-out, temporal and cold-item splits,
and the property that no splitter leaks a test interaction into training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoplens.errors import InputError
from shoplens.recommend.splits import cold_item_split, leave_one_out, stratified_split, temporal_split


def test_stratified_follows_microsoft_recommenders() -> None:
    frame = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"] * 2, "product_id": list("pqrsxy"), "ts": range(6)})
    # their algorithm, written out: np.random.seed(seed); one number per row in frame order; per user, rows
    # ranked by their number; rank / count <= ratio trains
    np.random.seed(3)
    random = np.random.rand(len(frame))
    expected_train = set()
    for _, rows in frame.assign(r=random).groupby("customer_id"):
        ordered = rows.sort_values("r")
        for position, index in enumerate(ordered.index, start=1):
            if position / len(ordered) <= 0.75:
                expected_train.add(index)
    split = stratified_split(frame, 0.75, seed=3)
    assert set(split.train.index) == expected_train
    assert len(split.train) == 3 + 1 and len(split.test) == 1 + 1  # 3/4 of a, 1/2 of b


def test_leave_one_out_takes_the_last_two_in_time() -> None:
    frame = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"] * 2, "product_id": list("pqrsxy"),
                          "ts": [4, 1, 3, 2, 1, 2]})
    split = leave_one_out(frame)
    assert split.test.set_index("customer_id")["product_id"].to_dict() == {"a": "p"}
    assert split.validation.set_index("customer_id")["product_id"].to_dict() == {"a": "r"}
    assert sorted(split.train["product_id"]) == ["q", "s", "x", "y"]  # b is too short to hold out two


def test_temporal_and_cold_items() -> None:
    frame = pd.DataFrame({"customer_id": list("aabbc"), "product_id": list("pqpqr"),
                          "ts": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01",
                                                "2024-05-01"])})
    split = temporal_split(frame, cutoff=pd.Timestamp("2024-03-15"))
    assert len(split.train) == 3 and split.test["ts"].min() >= pd.Timestamp("2024-03-15")
    cold = cold_item_split(frame, items=np.array(["q"]))
    assert "q" not in set(cold.train["product_id"]) and set(cold.test["product_id"]) == {"q"}
    with pytest.raises(InputError, match="ratio 75 must lie strictly between 0 and 1"):
        stratified_split(frame, 75)
    with pytest.raises(InputError, match="missing column 'ts'"):
        temporal_split(frame.drop(columns="ts"))


interactions = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 9), st.integers(0, 50)), min_size=1,
                        max_size=60)


@settings(max_examples=60, deadline=None)
@given(rows=interactions, seed=st.integers(0, 2**16), ratio=st.floats(0.1, 0.9))
def test_no_splitter_leaks_a_test_interaction_into_training(rows: list[tuple[int, int, int]], seed: int,
                                                            ratio: float) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "ts"]).astype({"customer_id": str,
                                                                                   "product_id": str})
    splits = [stratified_split(frame, ratio, seed), leave_one_out(frame), leave_one_out(frame, validation=False),
              temporal_split(frame, ratio)]
    if frame["product_id"].nunique() > 1:
        splits.append(cold_item_split(frame, n_items=1, seed=seed))
    for split in splits:
        pieces = [p for p in (split.train, split.validation, split.test) if p is not None]
        indexes = [set(p.index) for p in pieces]
        assert sum(len(i) for i in indexes) == len(frame)            # every row somewhere …
        assert set().union(*indexes) == set(frame.index)
        for first in range(len(indexes)):                              # … and in one piece only
            for second in range(first + 1, len(indexes)):
                assert not indexes[first] & indexes[second]
    # time-ordered splits never train on anything later than a user's test row
    loo = leave_one_out(frame, validation=False)
    for user, test_row in loo.test.groupby("customer_id"):
        assert (loo.train[loo.train["customer_id"] == user]["ts"] <= test_row["ts"].max()).all()
    cold = splits[-1] if frame["product_id"].nunique() > 1 else None
    if cold is not None:
        assert not set(cold.train["product_id"]) & set(cold.test["product_id"])
