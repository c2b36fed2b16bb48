"""Market baskets: frequent itemsets (Apriori) and association rules from order lines.

Single items and pairs are counted in SQL on the engine (``basket_items.sql``, ``pair_counts.sql``); larger
itemsets are counted here on the baskets that can hold them (``basket_lines.sql``), one bit per basket and
item, so a candidate's count is the population count of the AND of its items' bit vectors. A basket is an
order that sold something; each product counts once per basket. Rules are ordered by lift, then support,
then the antecedent's and the consequent's item names.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shoplens.analytics import queries
from shoplens.base import Estimator
from shoplens.errors import InputError, ShoplensError

Itemset = tuple[str, ...]
RULE_COLUMNS = ["antecedents", "consequents", "antecedent_support", "consequent_support", "support", "confidence",
                "lift", "leverage", "conviction"]


@dataclass(eq=False, repr=False)
class AssociationRules(Estimator):
    """Frequent itemsets with support ≥ ``min_support`` and rules with confidence ≥ ``min_confidence``."""

    registry_name: ClassVar[str] = "analytics-rules"
    capability: ClassVar[str] = "analytics"

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
        # astype(bool): an empty mask must stay a mask (pandas takes an empty object Series for column labels)
        fits = rules[rules["antecedents"].map(lambda a: set(a) <= have).astype(bool)]
        fits = fits[fits["consequents"].map(lambda c: not set(c) & have).astype(bool)]
        return fits.head(k).reset_index(drop=True)

    def popular(self, k: int = 5, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The ``k`` items in most baskets (ties by name), leaving out ``exclude``."""
        ranked = sorted(((-n, item) for (item, *rest), n in self.counts_.items() if not rest and item not in exclude))
        return [item for _, item in ranked[:k]]

    def evaluate(self, data: Any, *, dataset: str, k: int = 5, split: str = "none") -> list[Any]:
        """Basket completion on held-out baskets (a frame of ``order_id, product_id`` lines, or lists of items):
        one item of each basket of two or more items is hidden (the last named) and the rules suggest ``k``
        items from the rest; hit rate beside the ``k`` items in most baskets. ``split`` names how the held-out
        baskets were chosen (``temporal``: orders after those the rules were mined on)."""
        from shoplens.evaluation import BenchmarkRecord, Protocol

        baskets = _baskets(data)
        hidden = [(set(basket[:-1]), basket[-1]) for basket in baskets if len(basket) >= 2]
        if not hidden:
            raise InputError("no held-out basket holds two or more items: nothing to complete")
        hits = {"association-rules": 0, "popularity": 0}
        for rest, item in hidden:
            fits = self.recommend(sorted(rest), len(self.rules()))
            suggested = list(dict.fromkeys(c for consequents in fits["consequents"] for c in consequents))[:k]
            fill = self.popular(k, exclude=rest | set(suggested))  # rules that suggest fewer than k: fill up
            hits["association-rules"] += item in [*suggested, *fill][:k]
            hits["popularity"] += item in self.popular(k, exclude=rest)
        protocol = Protocol(split=split, k=k, notes=f"{len(hidden):,} held-out baskets of two or more items, "
                                                        "the last named item hidden")
        return [BenchmarkRecord.create(benchmark="analytics", dataset=dataset, model=name,
                                       role="ours" if name == "association-rules" else "baseline", protocol=protocol,
                                       metrics={f"hit_rate@{k}": count / len(hidden)})
                for name, count in hits.items()]

    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.rules().assign(antecedents=lambda f: f["antecedents"].map(list),
                            consequents=lambda f: f["consequents"].map(list)).to_parquet(folder / "rules.parquet")
        singles = {item: n for (item, *rest), n in self.counts_.items() if not rest}
        (folder / "rules.json").write_text(json.dumps({"params": self.get_params(), "baskets": self.baskets_,
                                                       "items": singles}, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> AssociationRules:
        folder = Path(path)
        if not (folder / "rules.json").exists():
            raise InputError(f"{folder}: no saved association rules here")
        state = json.loads((folder / "rules.json").read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["params"])
        model.baskets_ = state["baskets"]
        model.counts_ = {(item,): n for item, n in state["items"].items()}
        rules = pd.read_parquet(folder / "rules.parquet")
        model.rules_ = rules.assign(antecedents=rules["antecedents"].map(tuple),
                                    consequents=rules["consequents"].map(tuple))
        return model


def _baskets(data: Any) -> list[list[str]]:
    """Lists of items from order lines (``order_id, product_id``, in line order) or from lists already."""
    if isinstance(data, pd.DataFrame):
        if not {"order_id", "product_id"} <= set(data.columns):
            raise InputError("held-out baskets need the columns order_id and product_id")
        lines = data.dropna(subset=["order_id", "product_id"]).astype({"product_id": str})
        return [list(dict.fromkeys(group)) for _, group in lines.groupby("order_id", sort=True)["product_id"]]
    return [list(dict.fromkeys(str(item) for item in basket)) for basket in data]


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
