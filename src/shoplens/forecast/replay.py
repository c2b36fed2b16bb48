"""Replay of history under an inventory policy: what service and holding cost it would have delivered.

At each review (every ``review_days``) the forecast pipeline runs on the history up to that day only, and
the policy orders up to the quantile of demand over the lead time plus the review period taken from that
forecast. Demand is the shop's real daily demand; unmet demand is backordered.
The naive rule "order up to N weeks of average demand" (the mean of the last 28 days) runs on the same
days, for a range of N, so the policy can be compared with the naive rule at equal or better service.

A replenishment cycle runs from the arrival of one order to the arrival of the next; it is served when no
demand waited for stock during it, i.e. when demand over the protection period did not exceed the
order-up-to level. The realised cycle service level is the share of cycles served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError
from shoplens.forecast.inventory import DAYS_PER_YEAR, _period_demand, sum_quantiles
from shoplens.forecast.series import SeriesSet, series_from_workspace
from shoplens.progress import progress_bar

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

NAIVE_WEEKS: tuple[float, ...] = tuple(np.arange(1.0, 12.01, 0.25).round(2))
TRAILING_DAYS = 28


@dataclass
class ReplayResult:
    """Per policy: cycles, realised cycle service level, fill rate, stock-out days and holding cost."""

    summary: pd.DataFrame
    cycles: pd.DataFrame
    comparison: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"comparison": self.comparison, "seconds": round(self.seconds, 1),
                "summary": self.summary.to_dict(orient="records")}


def replay_policy(data: Workspace | SeriesSet, *, service_level: float = 0.95, review_days: int = 7,
                  lead_time_days: int | Mapping[str, int] | None = None, start: str | pd.Timestamp | None = None,
                  warmup_days: int = 120, holding_rate: float = 0.25, unit_cost: Mapping[str, float] | None = None,
                  forecaster: dict[str, Any] | None = None, naive_weeks: Sequence[float] = NAIVE_WEEKS,
                  adapt: float = 0.1, progress: bool = False) -> ReplayResult:
    """Replay the forecast-driven order-up-to policy and the naive rule over the history after ``start``.

    At every review the forecast is made again from that day's history; the ensemble and its error model
    are chosen on windows as long as the longest protection period (lead time + review) that end before
    the review, so the service-level quantile is the one of the demand the policy must cover.
    ``forecaster``: parameters of the :class:`Forecaster` (models, weights, reconcile, cv_windows …).
    ``adapt``: step of adaptive conformal inference (Gibbs & Candès 2021): after each review the quantile
    level moves by ``adapt · (misses − allowed misses)`` over the cycles completed since — cycles whose
    outcome is known on that day — so the policy keeps its service when demand drifts away from what the
    forecast's errors showed; 0 turns it off.
    """
    import time

    from shoplens.forecast.ensemble import BaseCache, combine, decide
    from shoplens.forecast.forecaster import Forecaster, _prepared
    from shoplens.workspace import Workspace

    if not 0 < service_level < 1:
        raise InputError(f"service_level={service_level}: a fraction strictly between 0 and 1")
    if review_days < 1:
        raise InputError(f"review_days={review_days}: review at least every day (1)")
    started = time.perf_counter()
    if isinstance(data, Workspace):
        series = series_from_workspace(data, level="product", freq="D")
        leads = lead_time_days if lead_time_days is not None else workspace_lead_times(data)
        costs = unit_cost if unit_cost is not None else workspace_costs(data)
    else:
        series, leads, costs = data, lead_time_days if lead_time_days is not None else 7, unit_cost or {}
    if series.freq != "D":
        raise InputError("the replay runs on daily series (freq='D')")
    wide = series.y.pivot(index="ds", columns="unique_id", values="y").sort_index()
    days = wide.index
    first = pd.Timestamp(start) if start is not None else days[0] + pd.Timedelta(days=warmup_days)
    ids = list(wide.columns)
    lead = np.array([_lead(leads, uid) for uid in ids])
    protection = int(lead.max()) + review_days
    reviews = list(pd.date_range(first, days[-1] - pd.Timedelta(days=review_days + int(lead.min())),
                                 freq=f"{review_days}D"))
    if not reviews:
        raise InputError(f"no history to replay after {first.date()}: start earlier or use more data")
    params = {**(forecaster or {}), "cv_horizon": protection, "cv_step": review_days}
    settings = Forecaster(**params)._settings()
    y_all, summing, nodes = _prepared(series, settings)
    cache = BaseCache(y_all, settings)
    targets = np.full(wide.shape, np.nan)  # order-up-to level at each review day (row) and product
    demand = wide.fillna(0.0).to_numpy()
    tracker = _ServiceTracker(service_level, adapt, demand, lead, review_days)
    levels = []
    with progress_bar("inventory: replaying history", len(reviews), enabled=progress, unit="reviews") as bar:
        for review in reviews:
            row = wide.index.get_loc(review)
            level = tracker.level(row, targets)
            levels.append(level)
            combination = decide(cache, review, summing, nodes)
            forecast = combine(cache.window(review, protection), combination, summing, levels=())
            _set_targets(targets, wide, forecast, review, lead, review_days, ids, level)
            bar.advance()
    live = wide.notna().to_numpy()
    cost = np.array([float(costs.get(uid, 1.0) or 1.0) for uid in ids])
    holding = holding_rate * cost / DAYS_PER_YEAR
    on_review = ~np.isnan(targets).all(axis=1)
    ours = _simulate(demand, live, targets, lead, review_days, holding)
    rows = [{"policy": "forecast", "naive_weeks": None, **ours.summary}]
    naive_results = {}
    for weeks in naive_weeks:
        naive_targets = _naive_targets(demand, live, on_review, weeks)
        result = _simulate(demand, live, naive_targets, lead, review_days, holding, mask=~np.isnan(targets))
        naive_results[weeks] = result
        rows.append({"policy": "naive", "naive_weeks": weeks, **result.summary})
    cycles = ours.cycles.assign(unique_id=[ids[i] for i in ours.cycles["product"]],
                                review_day=days[ours.cycles["day"].to_numpy()])
    comparison = {**_compare(ours.summary, naive_results, service_level),
                  "quantile_levels": {"first": levels[0], "last": levels[-1], "mean": float(np.mean(levels))}}
    return ReplayResult(summary=pd.DataFrame(rows), cycles=cycles.drop(columns=["product", "day"]),
                        comparison=comparison,
                        seconds=time.perf_counter() - started)


def _lead(leads: int | Mapping[str, int], uid: str) -> int:
    value = leads.get(uid, 7) if isinstance(leads, Mapping) else leads
    return int(value) if value is not None and value == value else 7


class _ServiceTracker:
    """Adaptive conformal inference on the cycle service level: the quantile level used at a review moves up
    after cycles that ran short and down after served ones, counting only cycles already over that day."""

    def __init__(self, service_level: float, step: float, demand: np.ndarray, lead: np.ndarray, review: int) -> None:
        self.target, self.step, self.demand, self.lead, self.review = service_level, step, demand, lead, review
        self.miss_level = 1 - service_level
        self.counted: set[tuple[int, int]] = set()
        self.cumulative = np.vstack([np.zeros(demand.shape[1]), np.cumsum(demand, axis=0)])

    def level(self, row: int, targets: np.ndarray) -> float:
        if self.step > 0:
            ends = self.lead + self.review
            misses = []
            for past in np.flatnonzero(~np.isnan(targets[:row]).all(axis=1)):
                for j in np.flatnonzero(~np.isnan(targets[past])):
                    end = past + int(ends[j])
                    if end <= row and (past, j) not in self.counted:
                        self.counted.add((past, j))
                        sold = self.cumulative[end + 1, j] - self.cumulative[past + 1, j]
                        misses.append(sold > targets[past, j])
            if misses:
                self.miss_level += self.step * ((1 - self.target) - float(np.mean(misses)))
        return float(np.clip(1 - self.miss_level, 0.5, 0.999))


def _set_targets(targets: np.ndarray, wide: pd.DataFrame, forecast: pd.DataFrame, review: pd.Timestamp,
                 lead: np.ndarray, review_days: int, ids: list[str], level: float) -> None:
    """Order-up-to levels at one review: the ``level`` quantile of demand over each product's lead time plus
    the review period, from the forecast made that day."""
    row = wide.index.get_loc(review)
    quantiles = sum_quantiles(forecast)
    by_id = {uid: part.sort_values("ds") for uid, part in forecast.groupby("unique_id")}
    for j, uid in enumerate(ids):
        days = int(lead[j]) + review_days
        part = by_id.get(uid)
        if part is None or row + days >= len(wide.index) or len(part) < days:
            continue
        targets[row, j] = _period_demand(part.iloc[:days], quantiles).quantile(level)


def _naive_targets(demand: np.ndarray, live: np.ndarray, reviews: np.ndarray, weeks: float) -> np.ndarray:
    """Order up to ``weeks`` weeks of the average daily demand of the last 28 days."""
    targets = np.full(demand.shape, np.nan)
    cumulative = np.vstack([np.zeros(demand.shape[1]), np.cumsum(demand, axis=0)])
    days_live = np.vstack([np.zeros(demand.shape[1]), np.cumsum(live, axis=0)])
    for row in np.flatnonzero(reviews):
        lo = max(row + 1 - TRAILING_DAYS, 0)
        sold = cumulative[row + 1] - cumulative[lo]
        n = np.maximum(days_live[row + 1] - days_live[lo], 1)
        targets[row] = sold / n * 7 * weeks
    return targets


@dataclass
class _Outcome:
    summary: dict[str, Any]
    cycles: pd.DataFrame


def _simulate(demand: np.ndarray, live: np.ndarray, targets: np.ndarray, lead: np.ndarray, review_days: int,
              holding: np.ndarray, mask: np.ndarray | None = None) -> _Outcome:
    """Day-by-day stock of every product under order-up-to ``targets`` (backorders allowed).

    Review at the end of a day with a target: order up to it; the order arrives at the end of day + lead
    (usable from the next day).
    A cycle (the review's protection period: days + 1 … + lead + review) is served when net stock at its
    end is not negative.
    """
    active = ~np.isnan(targets) if mask is None else (mask & ~np.isnan(targets))
    n_days, n_products = demand.shape
    review_rows = np.flatnonzero(active.any(axis=1))
    if len(review_rows) == 0:
        raise InputError("no review day with a forecast: the replay period is too short")
    start = review_rows[0]
    first_target = np.where(np.isnan(targets[start]), 0.0, targets[start])
    net = first_target.copy()                  # the system starts at its first target, nothing on order
    arrivals = np.zeros((n_days + int(lead.max()) + 2, n_products))
    on_order = np.zeros(n_products)
    net_end = np.zeros((n_days, n_products))
    short = np.zeros(n_products)
    demanded = np.zeros(n_products)
    holding_cost, stockout_days, stock_days = 0.0, 0, 0.0
    for day in range(start + 1, n_days):
        net += arrivals[day]
        on_order -= arrivals[day]
        available = np.maximum(net, 0)
        net -= demand[day]
        counted = live[day]
        short += np.where(counted, np.maximum(demand[day] - available, 0), 0)
        demanded += np.where(counted, demand[day], 0)
        holding_cost += float((np.maximum(net, 0) * holding)[counted].sum())
        stock_days += float(np.maximum(net, 0)[counted].sum())
        stockout_days += int(((net < 0) & counted).sum())
        net_end[day] = net
        if active[day].any():
            level = np.where(active[day], targets[day], np.nan)
            order = np.where(active[day], np.maximum(np.ceil(level - (net + on_order)), 0), 0)
            arrivals[day + lead + 1, np.arange(n_products)] += order
            on_order += order
    cycles = []
    for day in review_rows:
        for j in np.flatnonzero(active[day]):
            end = day + int(lead[j]) + review_days
            if day == start or end >= n_days:
                continue
            cycles.append((j, day, bool(net_end[end, j] >= 0)))
    frame = pd.DataFrame(cycles, columns=["product", "day", "served"])
    total_demand = float(demanded.sum())
    summary = {"cycles": len(frame), "realised_service_level": float(frame["served"].mean()) if len(frame) else None,
               "fill_rate": 1 - float(short.sum()) / total_demand if total_demand > 0 else None,
               "stockout_days": stockout_days, "holding_cost": holding_cost, "average_stock_units":
               stock_days / max(n_days - start - 1, 1)}
    return _Outcome(summary, frame)


def _compare(ours: dict[str, Any], naive: dict[float, _Outcome], service_level: float) -> dict[str, Any]:
    """The naive rule with the fewest weeks whose service is at least ours, and the cost ratio against it."""
    service = ours["realised_service_level"] or 0.0
    matching = [w for w, r in naive.items() if (r.summary["realised_service_level"] or 0) >= service]
    out: dict[str, Any] = {"target_service_level": service_level, "realised_service_level": service,
                           "cycles": ours["cycles"]}
    if matching:
        weeks = min(matching)
        best = naive[weeks].summary
        out.update({"naive_weeks": weeks, "naive_service_level": best["realised_service_level"],
                    "naive_fill_rate": best["fill_rate"], "naive_holding_cost": best["holding_cost"],
                    "holding_cost_ratio_vs_naive": ours["holding_cost"] / best["holding_cost"]
                    if best["holding_cost"] > 0 else None})
    else:
        weeks = max(naive)
        out.update({"naive_weeks": None, "naive_best_service_level": naive[weeks].summary["realised_service_level"],
                    "holding_cost_ratio_vs_naive": None})
    return out


def simulator_calendar(ws: Workspace) -> pd.DataFrame:
    """The simulated shop's planned prices and promotions per product and day (``unique_id, ds, price, promo``)
    from its truth folder: what a shop knows before the day comes, unlike ``daily_sales``, which records a
    promotion only on days with a sale."""
    path = ws.path / "truth" / "demand.parquet"
    if not path.exists():
        raise InputError(f"{ws.path} holds no simulator truth (truth/demand.parquet)")
    truth = pd.read_parquet(path, columns=["product_id", "day", "net_price", "discount_rate"])
    return pd.DataFrame({"unique_id": truth["product_id"].astype(str), "ds": pd.to_datetime(truth["day"]),
                         "price": truth["net_price"].astype(float),
                         "promo": (truth["discount_rate"] > 0).astype(float)})


def with_calendar(series: SeriesSet, calendar: pd.DataFrame) -> SeriesSet:
    """``series`` with its price and promotion columns taken from ``calendar`` (``unique_id, ds, price, promo``)."""
    y = series.y.drop(columns=[c for c in ("price", "promo") if c in series.y.columns])
    y = y.merge(calendar[["unique_id", "ds", "price", "promo"]], on=["unique_id", "ds"], how="left")
    y["promo"] = y["promo"].fillna(0.0)
    y["price"] = y.groupby("unique_id")["price"].transform(lambda p: p.ffill().bfill())
    return SeriesSet(y=y, level=series.level, freq=series.freq, target=series.target, ancestors=series.ancestors)


def workspace_lead_times(ws: Workspace, default: int = 7) -> dict[str, int]:
    """Each product's latest known lead time from the ``inventory`` table (``default`` where none)."""
    frame = ws.sql("SELECT product_id, arg_max(lead_time_days, ts) AS lead FROM inventory "
                   "WHERE lead_time_days IS NOT NULL GROUP BY product_id")
    products = ws.sql("SELECT product_id FROM products")["product_id"]
    known = {str(p): round(float(v)) for p, v in zip(frame["product_id"], frame["lead"], strict=True)}
    return {str(p): known.get(str(p), default) for p in products}


def workspace_costs(ws: Workspace) -> dict[str, float]:
    """Unit cost per product (``products.cost``, else the price; 1 where neither is known)."""
    columns = set(ws.columns("products"))
    cost = "cost" if "cost" in columns else "NULL"
    frame = ws.sql(f"SELECT product_id, CAST(coalesce({cost}, price) AS DOUBLE) AS c FROM products")
    return {str(p): float(c) if c == c and c is not None and c > 0 else 1.0
            for p, c in zip(frame["product_id"], frame["c"], strict=True)}


