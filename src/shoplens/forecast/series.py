"""Tidy demand series (``unique_id, ds, y`` plus exogenous columns) from the ``daily_sales`` view.

A :class:`SeriesSet` holds the bottom-level series the models forecast and, when asked, the aggregate
series above them (category, total) with the summing matrix that reconciliation needs.

Levels: ``product`` (one series per product), ``category`` (per category path), ``total`` (one series).
Frequencies: ``D`` (days), ``W`` (weeks starting on Monday, labelled by the Monday), ``M`` (calendar
months, labelled by the first day). The target is ``units`` (default) or ``revenue``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

Level = Literal["product", "category", "total"]
Freq = Literal["D", "W", "M"]
Fill = Literal["first_sale", "global"]
LEVELS: tuple[str, ...] = ("product", "category", "total")
FREQS: dict[str, str] = {"D": "D", "W": "W-MON", "M": "MS"}  # ours → pandas
SEASON: dict[str, int] = {"D": 7, "W": 52, "M": 12}
TOTAL_ID = "__total__"
UNCATEGORISED = "(no category)"
SEP = "/"  # between a level's name and the key in hierarchical ids: "category/Kitchen > Mugs"


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise InputError(f"{name}={value!r}: use one of {', '.join(map(repr, choices))}")
    return value


@dataclass
class SeriesSet:
    """Series of one level and frequency, ready for the models.

    ``y``: ``unique_id, ds, y`` (+ ``price``, ``promo`` at the product level), sorted, one row per period.
    ``hierarchy``: for reconciliation, the ids of every node from the top down and, per bottom id, the
    ids of its ancestors (empty when the level is the top).
    """

    y: pd.DataFrame
    level: str
    freq: str
    target: str
    ancestors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def season_length(self) -> int:
        return SEASON[self.freq]

    @property
    def pandas_freq(self) -> str:
        return FREQS[self.freq]

    @property
    def ids(self) -> list[str]:
        return list(pd.unique(self.y["unique_id"]))

    def aggregate_nodes(self) -> list[str]:
        """Ids of the aggregate nodes (top first), empty without a hierarchy."""
        nodes: list[str] = []
        for chain in self.ancestors.values():
            for node in chain:
                if node not in nodes:
                    nodes.append(node)
        return sorted(nodes, key=lambda n: (n != TOTAL_ID, n))

    def summing_matrix(self) -> tuple[np.ndarray, list[str]]:
        """``S`` (nodes × bottom series) and the node ids (aggregates first, then the bottom ids)."""
        bottom = self.ids
        nodes = self.aggregate_nodes() + bottom
        index = {n: i for i, n in enumerate(nodes)}
        matrix = np.zeros((len(nodes), len(bottom)))
        for j, uid in enumerate(bottom):
            matrix[index[uid], j] = 1.0
            for node in self.ancestors.get(uid, []):
                matrix[index[node], j] = 1.0
        return matrix, nodes

    def with_aggregates(self) -> pd.DataFrame:
        """Bottom series plus the sum of each aggregate node (``unique_id, ds, y``)."""
        frames = [self.y[["unique_id", "ds", "y"]]]
        if self.ancestors:
            links = pd.DataFrame([(uid, node) for uid, chain in self.ancestors.items() for node in chain],
                                 columns=["unique_id", "node"])
            joined = self.y[["unique_id", "ds", "y"]].merge(links, on="unique_id")
            sums = joined.groupby(["node", "ds"], as_index=False)["y"].sum().rename(columns={"node": "unique_id"})
            frames.append(sums)
        return pd.concat(frames, ignore_index=True).sort_values(["unique_id", "ds"], kind="stable",
                                                                ignore_index=True)


def read_daily_sales(ws: Workspace, products: Sequence[str] | None = None) -> pd.DataFrame:
    """``daily_sales`` joined with each product's category (one query)."""
    where, params = "", []
    if products is not None:
        if not products:
            raise InputError("products: give at least one product id")
        where = f"WHERE s.product_id IN ({', '.join('?' for _ in products)})"
        params = list(products)
    frame = ws.sql(
        "SELECT s.product_id, s.day, s.units, s.revenue, s.avg_price, s.list_price, s.promo, p.category "
        f"FROM daily_sales s LEFT JOIN products p USING (product_id) {where} ORDER BY s.product_id, s.day",
        params)
    if frame.empty:
        what = f" for {len(products)} requested products" if products is not None else ""
        raise InputError(f"daily_sales is empty{what}: ingest orders (and order_items) first")
    if products is not None:
        missing = sorted(set(products) - set(frame["product_id"]))
        if missing:
            raise InputError(f"no sales for product(s) {', '.join(missing[:5])}"
                             + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    return frame


def build_series(sales: pd.DataFrame, *, level: Level = "product", freq: Freq = "D", target: str = "units",
                 fill: Fill = "first_sale", hierarchy: bool = True) -> SeriesSet:
    """Series from a ``daily_sales``-shaped frame (``product_id, day, units, revenue, avg_price, list_price,
    promo, category``)."""
    check_choice("level", level, LEVELS)
    check_choice("freq", freq, tuple(FREQS))
    check_choice("target", target, ("units", "revenue"))
    check_choice("fill", fill, ("first_sale", "global"))
    frame = sales.copy()
    frame["ds"] = pd.to_datetime(frame["day"])
    frame["y"] = pd.to_numeric(frame[target], errors="coerce").fillna(0.0).astype(float)
    frame["category"] = frame["category"].fillna(UNCATEGORISED) if "category" in frame else UNCATEGORISED
    if fill == "global":
        frame = _fill_global(frame)
    if freq != "D":
        frame["ds"] = _period_start(frame["ds"], freq)
    if level == "product":
        y = _product_series(frame)
        ancestors = {}
        if hierarchy:
            cats = frame.drop_duplicates("product_id").set_index("product_id")["category"]
            several = cats.nunique() > 1
            ancestors = {str(p): ([f"category{SEP}{c}"] if several else []) + [TOTAL_ID] for p, c in cats.items()}
    elif level == "category":
        y = (frame.groupby(["category", "ds"], as_index=False)["y"].sum()
             .rename(columns={"category": "unique_id"}))
        ancestors = {uid: [TOTAL_ID] for uid in y["unique_id"].unique()} if hierarchy else {}
    else:
        y = frame.groupby("ds", as_index=False)["y"].sum().assign(unique_id=TOTAL_ID)
        ancestors = {}
    y = y.sort_values(["unique_id", "ds"], kind="stable", ignore_index=True)
    y["unique_id"] = y["unique_id"].astype(str)
    if len(ancestors) <= 1 or len({tuple(c) for c in ancestors.values()}) == 0:
        ancestors = {} if len(ancestors) <= 1 else ancestors
    return SeriesSet(y=_ordered(y), level=level, freq=freq, target=target, ancestors=ancestors)


def _fill_global(frame: pd.DataFrame) -> pd.DataFrame:
    """Every product on every day of the global range (days before a product's first sale count zero)."""
    days = pd.date_range(frame["ds"].min(), frame["ds"].max(), freq="D")
    firsts = frame.drop_duplicates("product_id").set_index("product_id")
    grid = pd.MultiIndex.from_product([firsts.index, days], names=["product_id", "ds"])
    full = frame.set_index(["product_id", "ds"]).reindex(grid).reset_index()
    full["y"] = full["y"].fillna(0.0)
    full["promo"] = full["promo"].astype("boolean").fillna(False).astype(bool) if "promo" in full else False
    full["category"] = full["product_id"].map(firsts["category"])
    full["list_price"] = full["product_id"].map(firsts["list_price"]) if "list_price" in full else np.nan
    return full


def _period_start(ds: pd.Series, freq: str) -> pd.Series:
    if freq == "W":
        return (ds - pd.to_timedelta(ds.dt.dayofweek, unit="D")).dt.normalize()
    return ds.dt.to_period("M").dt.to_timestamp()


def _product_series(frame: pd.DataFrame) -> pd.DataFrame:
    """Per product and period: y, mean price offered and share of promotion days (exogenous features)."""
    price = frame["avg_price"] if "avg_price" in frame else pd.Series(np.nan, index=frame.index)
    listed = frame["list_price"] if "list_price" in frame else pd.Series(np.nan, index=frame.index)
    frame = frame.assign(price=pd.to_numeric(price, errors="coerce").astype(float)
                         .fillna(pd.to_numeric(listed, errors="coerce").astype(float)),
                         promo=frame["promo"].fillna(False).astype(float) if "promo" in frame else 0.0)
    y = frame.groupby(["product_id", "ds"], as_index=False).agg(y=("y", "sum"), price=("price", "mean"),
                                                                promo=("promo", "mean"))
    y = y.rename(columns={"product_id": "unique_id"})
    # a product's price before its first priced day: its first known price (carried backward once)
    y["price"] = y.groupby("unique_id")["price"].transform(lambda s: s.ffill().bfill())
    if y["price"].isna().all():
        y = y.drop(columns="price")
    if "promo" in y and not y["promo"].any():
        y = y.drop(columns="promo")
    return y


def _ordered(y: pd.DataFrame) -> pd.DataFrame:
    first = ["unique_id", "ds", "y"]
    return y[first + [c for c in y.columns if c not in first]]


def series_from_workspace(ws: Workspace, *, level: Level = "product", freq: Freq = "D", target: str = "units",
                          fill: Fill = "first_sale", products: Sequence[str] | None = None,
                          hierarchy: bool = True) -> SeriesSet:
    """:func:`build_series` over the workspace's ``daily_sales`` (optionally some products only)."""
    return build_series(read_daily_sales(ws, products), level=level, freq=freq, target=target, fill=fill,
                        hierarchy=hierarchy)


def series_from_frame(df: pd.DataFrame, *, freq: Freq = "D") -> SeriesSet:
    """A :class:`SeriesSet` from a tidy frame the user already has (``unique_id, ds, y`` [+ exogenous])."""
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise InputError(f"the series frame lacks column(s) {', '.join(missing)} (need unique_id, ds, y)")
    y = df.copy()
    y["unique_id"] = y["unique_id"].astype(str)
    y["ds"] = pd.to_datetime(y["ds"], errors="coerce")
    if y["ds"].isna().any():
        row = int(np.flatnonzero(y["ds"].isna().to_numpy())[0])
        raise InputError("not a date", row=row, column="ds")
    y["y"] = pd.to_numeric(y["y"], errors="coerce")
    if y["y"].isna().any():
        row = int(np.flatnonzero(y["y"].isna().to_numpy())[0])
        raise InputError("not a number", row=row, column="y")
    if y.duplicated(["unique_id", "ds"]).any():
        row = int(np.flatnonzero(y.duplicated(["unique_id", "ds"]).to_numpy())[0])
        raise InputError("repeats an earlier (unique_id, ds)", row=row)
    y = y.sort_values(["unique_id", "ds"], kind="stable", ignore_index=True)
    check_choice("freq", freq, tuple(FREQS))
    return SeriesSet(y=_ordered(y), level="series", freq=freq, target="y")
