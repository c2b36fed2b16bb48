"""Market baskets: frequent itemsets (Apriori) and association rules from order lines.

Single items and pairs are counted in SQL on the engine (``basket_items.sql``, ``pair_counts.sql``); larger
itemsets are counted here on the baskets that can hold them (``basket_lines.sql``), one bit per basket and
item, so a candidate's count is the population count of the AND of its items' bit vectors. A basket is an
order that sold something; each product counts once per basket. Rules are ordered by lift, then support,
then the antecedent's and the consequent's item names.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoplens.analytics import queries
from shoplens.errors import InputError, ShoplensError

Itemset = tuple[str, ...]
RULE_COLUMNS = ["antecedents", "consequents", "antecedent_support", "consequent_support", "support", "confidence",
                "lift", "leverage", "conviction"]


@dataclass
class AssociationRules:
    """Frequent itemsets with support ≥ ``min_support`` and rules with confidence ≥ ``min_confidence``."""

    min_support: float = 0.01
    min_confidence: float = 0.1
    max_len: int | None = None
    engine: str = "duckdb"

    def fit(self, data: Any) -> AssociationRules:
        """Count itemsets in ``data`` (a Workspace, Parquet source or open session) and derive the rules."""
        from shoplens.analytics.api import run_queries

        if not 0 <= self.min_confidence <= 1:
            raise InputError(f"min_confidence {self.min_confidence!r} must be a fraction in [0, 1]")
        batch = queries.baskets(self.min_support)
        if self.max_len is None or self.max_len >= 3:
            batch.append(queries.query("basket_lines"))
        tables = run_queries(data, batch, engine=self.engine, needs=("order_items",), purpose="market baskets")
        items = tables["basket_items"].to_pandas()
        if items.empty:
            raise InputError(f"no item is in {self.min_support:.2%} of the baskets (or there are no order lines)")
        self.baskets_ = int(items["baskets"].iloc[0])
        counts: dict[Itemset, int] = {(p,): int(n) for p, n in zip(items["product_id"], items["orders"], strict=True)}
        pairs = tables["pair_counts"].to_pandas()
        if self.max_len is None or self.max_len >= 2:
            counts.update({(a, b): int(n) for a, b, n in zip(pairs["item_a"], pairs["item_b"], pairs["orders"],
                                                             strict=True)})
        if "basket_lines" in tables:
            counts.update(larger_itemsets(tables["basket_lines"].to_pandas(), counts, self._min_count(), self.max_len))
        self.counts_ = counts
        self.itemsets_ = self._itemset_frame()
        self.rules_ = association_rules(counts, self.baskets_, self.min_confidence)
        return self

    def _min_count(self) -> float:
        return self.min_support * self.baskets_

    def _itemset_frame(self) -> pd.DataFrame:
        rows = [(itemset, n / self.baskets_, n, len(itemset)) for itemset, n in self.counts_.items()]
        frame = pd.DataFrame(rows, columns=["itemsets", "support", "orders", "length"])
        return frame.sort_values(["length", "support", "itemsets"], ascending=[True, False, True],
                                 kind="stable").reset_index(drop=True)

    def rules(self, top: int | None = None) -> pd.DataFrame:
        if not hasattr(self, "rules_"):
            raise ShoplensError("the association rules are not fitted yet; call fit() first")
        return self.rules_ if top is None else self.rules_.head(top)

    def recommend(self, basket: list[str], k: int = 5) -> pd.DataFrame:
        """Items to suggest for a basket: consequents of rules whose antecedents are all in it."""
        have = set(basket)
        rules = self.rules()
        fits = rules[rules["antecedents"].map(lambda a: set(a) <= have)]
        fits = fits[fits["consequents"].map(lambda c: not set(c) & have)]
        return fits.head(k).reset_index(drop=True)

    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.rules().assign(antecedents=lambda f: f["antecedents"].map(list),
                            consequents=lambda f: f["consequents"].map(list)).to_parquet(folder / "rules.parquet")
        return folder


def larger_itemsets(lines: pd.DataFrame, counts: dict[Itemset, int], min_count: float,
                    max_len: int | None = None) -> dict[Itemset, int]:
    """Apriori from size 3 on: candidates from frequent itemsets one smaller, counted with bit vectors."""
    if lines.empty:
        return {}
    orders, order_index = np.unique(lines["order_id"].to_numpy(), return_inverse=True)
    items = sorted({p for (p,) in (k for k in counts if len(k) == 1)})
    column = {item: i for i, item in enumerate(items)}
    known = lines["product_id"].map(column)
    matrix = np.zeros((len(items), len(orders)), dtype=bool)
    matrix[known.to_numpy(dtype=np.int64), order_index] = True
    bits = np.packbits(matrix, axis=1)
    found: dict[Itemset, int] = {}
    previous = sorted(k for k in counts if len(k) == 2)
    size = 3
    while previous and (max_len is None or size <= max_len):
        frequent_before = set(previous)
        level: dict[Itemset, int] = {}
        for candidate in _candidates(previous, frequent_before):
            vector = bits[column[candidate[0]]]
            for item in candidate[1:]:
                vector = vector & bits[column[item]]
            n = int(np.bitwise_count(vector).sum())
            if n >= min_count:
                level[candidate] = n
        found.update(level)
        previous, size = sorted(level), size + 1
    return found


def _candidates(previous: list[Itemset], frequent: set[Itemset]) -> list[Itemset]:
    """Apriori's join (same prefix) and prune (every subset frequent) of sorted itemsets."""
    out = []
    for i, first in enumerate(previous):
        for second in previous[i + 1:]:
            if first[:-1] != second[:-1]:
                break
            candidate = (*first, second[-1])
            if all(sub in frequent for sub in itertools.combinations(candidate, len(candidate) - 1)):
                out.append(candidate)
    return out


def association_rules(counts: dict[Itemset, int], baskets: int, min_confidence: float) -> pd.DataFrame:
    """Every rule A → C with A ∪ C a frequent itemset and confidence ≥ ``min_confidence``."""
    rows = []
    for itemset, n in counts.items():
        if len(itemset) < 2:
            continue
        support = n / baskets
        for size in range(1, len(itemset)):
            for antecedent in itertools.combinations(itemset, size):
                consequent = tuple(i for i in itemset if i not in antecedent)
                a_support, c_support = counts[antecedent] / baskets, counts[consequent] / baskets
                confidence = support / a_support
                if confidence < min_confidence:
                    continue
                conviction = (1 - c_support) / (1 - confidence) if confidence < 1 else float("inf")
                rows.append((antecedent, consequent, a_support, c_support, support, confidence,
                             confidence / c_support, support - a_support * c_support, conviction))
    frame = pd.DataFrame(rows, columns=RULE_COLUMNS)
    frame["_a"] = frame["antecedents"].map(", ".join)
    frame["_c"] = frame["consequents"].map(", ".join)
    frame = frame.sort_values(["lift", "support", "_a", "_c"], ascending=[False, False, True, True], kind="stable")
    return frame.drop(columns=["_a", "_c"]).reset_index(drop=True)
