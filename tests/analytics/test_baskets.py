"""Market baskets: association rules equal mlxtend's on groceries_baskets (the gate of issue 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens import analytics
from shoplens.analytics.baskets import AssociationRules
from shoplens.errors import InputError
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def groceries(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    from shoplens.data.datasets import load_dataset

    ws = sl.Workspace.init(tmp_path_factory.mktemp("groceries") / "ws")
    load_dataset("groceries_baskets", ws, shared_path("groceries_baskets"))
    return ws


def mlxtend_rules(min_support: float, min_confidence: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference: mlxtend's apriori + association_rules on the raw baskets (item names trimmed, as the
    loader stores them), sorted by lift, support, antecedent and consequent names."""
    pytest.importorskip("mlxtend")  # a test dependency (shoplens[test])
    from mlxtend.frequent_patterns import apriori, association_rules
    from mlxtend.preprocessing import TransactionEncoder

    lines = shared_path("groceries_baskets", "groceries.csv").read_text(encoding="utf-8").splitlines()
    baskets = [sorted({item.strip() for item in line.split(",")}) for line in lines if line.strip()]
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
    itemsets = apriori(onehot, min_support=min_support, use_colnames=True)
    rules = association_rules(itemsets, metric="confidence", min_threshold=min_confidence)
    rules["a"] = rules["antecedents"].map(lambda s: ", ".join(sorted(s)))
    rules["c"] = rules["consequents"].map(lambda s: ", ".join(sorted(s)))
    order = ["lift", "support", "a", "c"]
    return itemsets, rules.sort_values(order, ascending=[False, False, True, True]).reset_index(drop=True)


def test_rules_equal_mlxtend_on_groceries(groceries: sl.Workspace) -> None:
    ours = AssociationRules(min_support=0.01, min_confidence=0.1).fit(groceries)
    itemsets, reference = mlxtend_rules(0.01, 0.1)
    assert {frozenset(s) for s in ours.itemsets_["itemsets"]} == set(itemsets["itemsets"])
    assert len(ours.rules_) == len(reference)
    top, expected = ours.rules(50), reference.head(50)
    assert top["antecedents"].map(", ".join).tolist() == expected["a"].tolist()
    assert top["consequents"].map(", ".join).tolist() == expected["c"].tolist()
    for column in ("support", "confidence", "lift"):
        assert np.allclose(top[column], expected[column], rtol=1e-12, atol=0), column
    assert ours.itemsets_["length"].max() == 3  # three-item sets are frequent at 1% and lead the lift ranking
    assert top["antecedents"].map(len).add(top["consequents"].map(len)).max() == 3


def test_pair_counts_and_recommendations(groceries: sl.Workspace) -> None:
    pairs = analytics.pair_counts(groceries, 0.01, store=False).set_index(["item_a", "item_b"])
    milk_veg = pairs.loc[("other vegetables", "whole milk")]
    assert milk_veg["orders"] == 736 and milk_veg["baskets"] == 9835  # the most frequent pair of Groceries
    assert milk_veg["lift"] == pytest.approx(736 * 9835 / (1903 * 2513))
    model = AssociationRules(0.01, 0.1).fit(groceries)
    suggestions = model.recommend(["curd", "yogurt"], k=3)
    assert len(suggestions) == 3 and all("curd" not in c and "yogurt" not in c for c in suggestions["consequents"])


def test_baskets_need_frequent_items(groceries: sl.Workspace) -> None:
    with pytest.raises(InputError, match="no item"):
        AssociationRules(min_support=0.9).fit(groceries)
    with pytest.raises(InputError, match="min_support"):
        AssociationRules(min_support=0).fit(groceries)
