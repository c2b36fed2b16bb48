"""``PriceOptimizer``: prices that maximise expected profit (or revenue) under business constraints.

```python
from shoplens.pricing import ElasticityModel, PriceOptimizer
model = ElasticityModel().fit(ws)
plan = PriceOptimizer(margin_floor=0.15, max_change=0.10, category_max_change=0.05).optimize(model, stock=stock)
plan.table        # per product: current and suggested price, expected change in units, revenue, profit (with intervals)
plan.totals       # the same summed over products
plan.violations() # every constraint checked on the result (empty)
```

Each product's demand over the horizon is ``baseline · (P / P0) ** e · horizon_days`` (P0 the current price),
sold units are capped by the stock available, and profit is ``(P − cost) · sold``. The elasticity is
uncertain: candidates are scored by their expected profit over draws from its posterior (so a product
known poorly is moved less), and the expected changes come with intervals from the same draws.

Constraints, the same for every policy compared:

- ``max_change``: at most this relative change from the current price (per step);
- ``margin_floor``: ``(P − cost) / P`` at least this (a current price below it moves up when it can);
- ``endings``: new prices end in these cents (``(0.99,)`` → 12.99, 13.99 …; None: any cent);
- ``stock``: units available over the horizon cap the units sold (no price cut where stock cannot follow);
- ``category_max_change``: the revenue-weighted mean price change of each category within ± this;
- ``category_min_units``: each category keeps at least this share of its expected units.

Each product is scored at ``MAX_CANDIDATES`` prices at most, spread evenly over what the constraints allow (a
wide ``max_change`` with many endings would otherwise allow thousands, and the work is products × candidates ×
draws). Category constraints couple a category's products; they are met by Lagrangian relaxation (the smallest
penalty on the constrained quantity that satisfies it, found by bisection) and a greedy repair towards the
current prices, which always satisfy them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from shoplens.errors import InputError, NotFound

Objective = Literal["profit", "revenue"]
CANDIDATE_GRID = 41  # candidates per product when any cent is allowed
MAX_CANDIDATES = 81  # at most this many prices per product are scored, whatever max_change and endings allow
TOLERANCE = 1e-9
BISECTION_STEPS = 40
REQUIRED = ("product_id", "current_price", "elasticity", "baseline_units_per_day")


@dataclass
class PriceSuggestions:
    """The optimiser's answer: one row per product, the totals and the constraints it was given."""

    table: pd.DataFrame
    totals: dict[str, float]
    constraints: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        """Every constraint checked on the suggested prices (an empty list when all hold)."""
        return check_constraints(self.table, self.constraints)

    def to_dict(self) -> dict[str, Any]:
        return {"constraints": self.constraints, "totals": self.totals, "notes": self.notes,
                "products": json.loads(self.table.to_json(orient="records"))}

    def save(self, folder: str | Path) -> None:
        """``suggestions.parquet`` (the table) and ``suggestions.json`` (totals, constraints, notes)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.table.to_parquet(folder / "suggestions.parquet", index=False)
        meta = {"totals": self.totals, "constraints": self.constraints, "notes": self.notes}
        (folder / "suggestions.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> PriceSuggestions:
        folder = Path(folder)
        if not (folder / "suggestions.json").exists():
            raise NotFound(f"{folder} holds no price suggestions")
        meta = json.loads((folder / "suggestions.json").read_text(encoding="utf-8"))
        return cls(pd.read_parquet(folder / "suggestions.parquet"), meta["totals"], meta["constraints"],
                   meta.get("notes", []))


@dataclass
class _Candidates:
    prices: np.ndarray  # N × C (NaN where a product has fewer candidates)
    current: np.ndarray  # N: index of the current price among the candidates (-1 when it is not allowed)
    reason: list[str]  # why a product has no choice


class PriceOptimizer:
    """Suggested prices under margin, change, ending, stock and category constraints.

    Parameters
    ----------
    objective: ``profit`` (needs costs) or ``revenue``.
    margin_floor: minimum margin ``(P − cost) / P`` (0.15 = 15%); 0 allows selling at cost.
    max_change: maximum relative change from the current price in one step.
    endings: allowed cents of new prices, e.g. ``(0.99,)`` or ``(0.49, 0.99)``; None for any cent.
    horizon_days: days the expected changes are summed over (and stock must last).
    category_max_change: bound on each category's revenue-weighted mean price change (None: no bound).
    category_min_units: each category keeps at least this share of its expected units (None: no bound).
    use_category_prior: price products without their own estimate from their category's prior (default:
        they keep their price).
    n_draws: posterior draws of each elasticity.  confidence: level of the intervals.  random_state: seed.
    """

    def __init__(self, objective: Objective = "profit", *, margin_floor: float = 0.0, max_change: float = 0.1,
                 endings: Sequence[float] | None = (0.99,), horizon_days: int = 28,
                 category_max_change: float | None = None, category_min_units: float | None = None,
                 use_category_prior: bool = False, n_draws: int = 400, confidence: float = 0.9,
                 random_state: int = 0) -> None:
        self.objective = objective
        self.margin_floor = margin_floor
        self.max_change = max_change
        self.endings = endings
        self.horizon_days = horizon_days
        self.category_max_change = category_max_change
        self.category_min_units = category_min_units
        self.use_category_prior = use_category_prior
        self.n_draws = n_draws
        self.confidence = confidence
        self.random_state = random_state

    def constraints(self) -> dict[str, Any]:
        return {"objective": self.objective, "margin_floor": self.margin_floor, "max_change": self.max_change,
                "endings": list(self.endings) if self.endings is not None else None,
                "horizon_days": self.horizon_days, "category_max_change": self.category_max_change,
                "category_min_units": self.category_min_units}

    def _check(self) -> None:
        if self.objective not in ("profit", "revenue"):
            raise InputError(f"objective {self.objective!r}: use 'profit' or 'revenue'")
        if not 0 <= self.margin_floor < 1:
            raise InputError(f"margin_floor {self.margin_floor}: a fraction of the price in [0, 1), e.g. 0.15")
        if not 0 < self.max_change < 1:
            raise InputError(f"max_change {self.max_change}: a fraction in (0, 1), e.g. 0.1 for ±10%")
        if self.endings is not None and (not self.endings or any(not 0 <= e < 1 for e in self.endings)):
            raise InputError(f"endings {self.endings}: cents as fractions in [0, 1), e.g. (0.99,) or (0.49, 0.99)")
        if self.horizon_days < 1:
            raise InputError("horizon_days must be at least 1")
        if self.category_max_change is not None and not 0 <= self.category_max_change < 1:
            raise InputError(f"category_max_change {self.category_max_change}: a fraction in [0, 1)")
        if self.category_min_units is not None and not 0 < self.category_min_units <= 1:
            raise InputError(f"category_min_units {self.category_min_units}: a share in (0, 1]")
        if self.n_draws < 1:
            raise InputError("n_draws must be at least 1")

    def optimize(self, model: Any, *, stock: pd.DataFrame | None = None,
                 demand: pd.DataFrame | None = None) -> PriceSuggestions:
        """Suggested prices for the products of an :class:`ElasticityModel` (or its ``elasticities_``-like
        table). ``stock``: product_id, available (units available over the horizon). ``demand``: product_id,
        units_per_day expected at the current prices over the horizon (e.g. a forecast), replacing the
        model's last-year baseline where given."""
        self._check()
        table = _input_table(model, self.use_category_prior)
        table = _with_demand(_with_stock(table, stock), demand)
        notes = []
        if self.objective == "profit":
            no_cost = table["priced"] & ~(table["cost"] > 0)
            if no_cost.any():
                notes.append(f"{int(no_cost.sum())} products without a cost keep their price (profit needs costs)")
                table.loc[no_cost, "priced"] = False
                table.loc[no_cost, "note"] = "no cost"
        candidates = self._candidates(table)
        draws = self._draws(table)
        value, units = self._scores(table, candidates.prices, draws)
        choice = self._choose(table, candidates, value.mean(axis=2), units.mean(axis=2))
        result = self._report(table, candidates, choice, value, units, draws)
        totals = _totals(result, self.confidence)
        result = result.drop(columns=[c for c in result.columns if c.startswith("_")])
        return PriceSuggestions(result, totals, self.constraints(), notes)

    # -- candidates and scores --------------------------------------------------------------------------
    def _candidates(self, table: pd.DataFrame) -> _Candidates:
        n = len(table)
        lists, current, reasons = [], np.full(n, -1), [""] * n
        floor = np.where(table["cost"] > 0, table["cost"] / (1 - self.margin_floor), 0.0) \
            if self.margin_floor > 0 else np.zeros(n)
        for i, row in enumerate(table.itertuples()):
            p0 = row.current_price
            if not row.priced:
                lists.append(np.array([p0]))
                current[i] = 0
                continue
            low, high = p0 * (1 - self.max_change), p0 * (1 + self.max_change)
            grid = _price_points(max(low, floor[i]), high, self.endings)
            allowed_now = p0 >= floor[i] - TOLERANCE
            if allowed_now:
                grid = np.unique(np.append(grid, p0))
            if len(grid) == 0:
                grid = np.array([p0])
                reasons[i] = "margin floor out of reach within max change: price kept"
            elif not allowed_now:
                reasons[i] = "current price below the margin floor"
            lists.append(grid)
            hit = np.flatnonzero(np.isclose(grid, p0))
            current[i] = hit[0] if len(hit) and (allowed_now or len(grid) == 1) else -1
        width = max(len(g) for g in lists)
        prices = np.full((n, width), np.nan)
        for i, grid in enumerate(lists):
            prices[i, : len(grid)] = grid
        return _Candidates(prices, current, reasons)

    def _draws(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(self.random_state)
        n, k = len(table), self.n_draws
        slope = table["elasticity"].to_numpy(float)[:, None] + table["sd"].fillna(0).to_numpy(float)[:, None] \
            * rng.standard_normal((n, k))
        base = table["baseline_units_per_day"].to_numpy(float)[:, None]
        spread = table["baseline_sd"].fillna(0).to_numpy(float)[:, None] / np.maximum(base, 1e-12)
        base = base * np.exp(spread * rng.standard_normal((n, k)) - spread**2 / 2)
        return {"slope": slope, "base": base}

    def _scores(self, table: pd.DataFrame, prices: np.ndarray,
                draws: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Objective value and units sold over the horizon: N × candidates × draws."""
        ratio = prices / table["current_price"].to_numpy(float)[:, None]
        demand = draws["base"][:, None, :] * np.power(ratio[..., None], draws["slope"][:, None, :]) \
            * self.horizon_days
        stock = table["stock"].to_numpy(float)[:, None, None]
        sold = np.where(np.isfinite(stock), np.minimum(demand, stock), demand)
        cost = table["cost"].fillna(0).to_numpy(float)[:, None]
        unit_value = prices if self.objective == "revenue" else prices - cost
        value = np.nan_to_num(unit_value[..., None] * sold, nan=-np.inf)
        return value, np.nan_to_num(sold, nan=0.0)

    # -- choice under category constraints --------------------------------------------------------------
    def _choose(self, table: pd.DataFrame, candidates: _Candidates, value: np.ndarray,
                units: np.ndarray) -> np.ndarray:
        choice = np.argmax(value, axis=1)
        if self.category_max_change is None and self.category_min_units is None:
            return choice
        weight = _category_weights(table)
        change = candidates.prices / table["current_price"].to_numpy(float)[:, None] - 1
        for category in table["category"].unique():
            rows = np.flatnonzero((table["category"] == category).to_numpy())
            choice[rows] = self._category_choice(rows, candidates, value, units, weight, change)
        return choice

    def _category_choice(self, rows: np.ndarray, candidates: _Candidates, value: np.ndarray, units: np.ndarray,
                         weight: np.ndarray, change: np.ndarray) -> np.ndarray:
        own_value = value[rows]
        terms = []  # (contribution per candidate, bound): sum over products of the chosen contributions <= bound
        if self.category_max_change is not None:
            weighted = weight[rows, None] * np.nan_to_num(change[rows])
            terms += [(weighted, self.category_max_change), (-weighted, self.category_max_change)]
        if self.category_min_units is not None:
            now = units[rows, np.maximum(candidates.current[rows], 0)]
            terms.append((-units[rows], -self.category_min_units * now.sum()))
        penalties = np.zeros(len(terms))
        for _ in range(3):  # coordinate-wise: each multiplier given the others
            for t, (_, bound) in enumerate(terms):
                penalties[t] = _smallest_penalty(own_value, terms, penalties, t, bound)
        chosen = np.argmax(_penalised(own_value, terms, penalties), axis=1)
        return _repair(chosen, own_value, terms, candidates.current[rows])

    # -- report -------------------------------------------------------------------------------------------
    def _report(self, table: pd.DataFrame, candidates: _Candidates, choice: np.ndarray, value: np.ndarray,
                units: np.ndarray, draws: dict[str, np.ndarray]) -> pd.DataFrame:
        n = len(table)
        rows = np.arange(n)
        current_idx = np.where(candidates.current >= 0, candidates.current, choice)
        price_new = candidates.prices[rows, choice]
        p0 = table["current_price"].to_numpy(float)
        cost = table["cost"].to_numpy(float)
        units_new, units_now = units[rows, choice], _units_at(self, table, p0, draws)
        revenue_new, revenue_now = price_new[:, None] * units_new, p0[:, None] * units_now
        profit_new = (price_new - np.nan_to_num(cost))[:, None] * units_new
        profit_now = (p0 - np.nan_to_num(cost))[:, None] * units_now
        lo, hi = (1 - self.confidence) / 2, (1 + self.confidence) / 2
        out = pd.DataFrame({
            "product_id": table["product_id"], "category": table["category"], "status": table["status"],
            "current_price": p0, "suggested_price": np.round(price_new, 2), "change": price_new / p0 - 1,
            "cost": cost, "margin_current": np.where(cost > 0, 1 - cost / p0, np.nan),
            "margin_suggested": np.where(cost > 0, 1 - cost / price_new, np.nan),
            "elasticity": table["elasticity"], "elasticity_sd": table["sd"],
            "baseline_units_per_day": table["baseline_units_per_day"], "stock": table["stock"],
            "category_weight": _category_weights(table),
            "units_current": units_now.mean(axis=1), "units_suggested": units_new.mean(axis=1),
        })
        for name, new, now in (("units", units_new, units_now), ("revenue", revenue_new, revenue_now),
                               ("profit", profit_new, profit_now)):
            delta = new - now
            out[f"{name}_change"] = delta.mean(axis=1)
            out[f"{name}_change_lower"] = np.quantile(delta, lo, axis=1)
            out[f"{name}_change_upper"] = np.quantile(delta, hi, axis=1)
            out[f"_{name}_draws"] = list(delta)
        out["reason"] = [_reason(r, candidates.reason[i], table["note"].iloc[i], choice[i] == current_idx[i],
                                 self, out.iloc[i]) for i, r in enumerate(table.itertuples())]
        return out


def _units_at(optimizer: PriceOptimizer, table: pd.DataFrame, prices: np.ndarray,
              draws: dict[str, np.ndarray]) -> np.ndarray:
    ratio = prices / table["current_price"].to_numpy(float)
    demand = draws["base"] * np.power(ratio[:, None], draws["slope"]) * optimizer.horizon_days
    stock = table["stock"].to_numpy(float)[:, None]
    return np.nan_to_num(np.where(np.isfinite(stock), np.minimum(demand, stock), demand))


def _price_points(low: float, high: float, endings: Sequence[float] | None,
                  most: int = MAX_CANDIDATES - 1) -> np.ndarray:
    """Allowed prices in [low, high]: whole units plus one of the endings, or every cent on a grid; at most
    ``most`` of them, spread evenly over the range (one place is left for the current price)."""
    if high < low - TOLERANCE:
        return np.zeros(0)
    if endings is None:
        return np.unique(np.round(np.linspace(low, high, CANDIDATE_GRID), 2))
    first, last = np.floor(low), np.floor(high)
    whole = np.arange(first, last + 1) if last - first < most else np.unique(np.floor(np.linspace(first, last, most)))
    points = (whole[:, None] + np.asarray(endings)[None, :]).ravel()
    points = np.round(points, 2)
    return _thinned(np.unique(points[(points >= low - TOLERANCE) & (points <= high + TOLERANCE) & (points > 0)]), most)


def _thinned(points: np.ndarray, most: int) -> np.ndarray:
    """At most ``most`` of the sorted ``points``, spread evenly from the first to the last."""
    if len(points) <= most:
        return points
    return points[np.unique(np.round(np.linspace(0, len(points) - 1, most)).astype(int))]


def _input_table(model: Any, use_prior: bool) -> pd.DataFrame:
    table = model.elasticities_ if hasattr(model, "elasticities_") else model
    if not isinstance(table, pd.DataFrame):
        raise InputError("optimize() takes a fitted ElasticityModel or its elasticities table")
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InputError(f"elasticity table lacks column(s) {', '.join(missing)}")
    table = table.copy().reset_index(drop=True)
    for column, default in (("category", "(uncategorised)"), ("status", "identified"), ("cost", np.nan),
                            ("sd", 0.0), ("baseline_sd", 0.0)):
        if column not in table.columns:
            table[column] = default
    has_own = table["status"].eq("identified") & table["elasticity"].notna()
    if use_prior and "prior_elasticity" in table.columns:
        table["elasticity"] = table["elasticity"].where(has_own, table["prior_elasticity"])
        table["sd"] = table["sd"].where(has_own, table["prior_sd"])
        has_own = table["elasticity"].notna()
    valid_price = table["current_price"] > 0
    table["priced"] = has_own & valid_price & (table["baseline_units_per_day"] > 0)
    table["note"] = np.where(~valid_price, "no current price",
                             np.where(~has_own, "no elasticity estimate",
                                      np.where(table["baseline_units_per_day"] > 0, "", "no recent sales")))
    table["elasticity"] = table["elasticity"].fillna(0.0)
    table["current_price"] = table["current_price"].where(valid_price, np.nan)
    return table[valid_price].reset_index(drop=True) if (~valid_price).any() else table


def _with_stock(table: pd.DataFrame, stock: pd.DataFrame | None) -> pd.DataFrame:
    if stock is None:
        return table.assign(stock=np.nan)
    if not {"product_id", "available"} <= set(stock.columns):
        raise InputError("stock must have columns product_id and available (units available over the horizon)")
    available = pd.to_numeric(stock["available"], errors="coerce")
    if (available < 0).any():
        raise InputError("stock: available units must not be negative", column="available")
    mapped = table["product_id"].map(dict(zip(stock["product_id"], available, strict=True)))
    return table.assign(stock=mapped.astype(float))


def _with_demand(table: pd.DataFrame, demand: pd.DataFrame | None) -> pd.DataFrame:
    if demand is None:
        return table
    if not {"product_id", "units_per_day"} <= set(demand.columns):
        raise InputError("demand must have columns product_id and units_per_day")
    forecast = table["product_id"].map(dict(zip(demand["product_id"], pd.to_numeric(demand["units_per_day"],
                                                                                      errors="coerce"), strict=True)))
    if (forecast < 0).any():
        raise InputError("demand: units_per_day must not be negative", column="units_per_day")
    given = forecast.notna()
    scale = np.where(given, forecast / table["baseline_units_per_day"].where(table["baseline_units_per_day"] > 0),
                     1.0)
    out = table.assign(baseline_units_per_day=forecast.where(given, table["baseline_units_per_day"]))
    out["baseline_sd"] = out["baseline_sd"] * np.nan_to_num(scale, nan=1.0)
    out["priced"] = out["priced"] | (given & (forecast > 0) & out["note"].eq("no recent sales"))
    out.loc[out["priced"] & out["note"].eq("no recent sales"), "note"] = ""
    return out


def _category_weights(table: pd.DataFrame) -> np.ndarray:
    """Each product's share of its category's current revenue (equal shares where nothing sells)."""
    if "category_weight" in table.columns and table["category_weight"].notna().all():
        return table["category_weight"].to_numpy(float)
    revenue = (table["current_price"] * table["baseline_units_per_day"]).fillna(0).to_numpy(float)
    frame = pd.DataFrame({"category": table["category"].to_numpy(), "revenue": revenue, "one": 1.0})
    total = frame.groupby("category")["revenue"].transform("sum").to_numpy()
    count = frame.groupby("category")["one"].transform("sum").to_numpy()
    return np.where(total > 0, revenue / np.where(total > 0, total, 1), 1 / count)


def _penalised(value: np.ndarray, terms: list[tuple[np.ndarray, float]], penalties: np.ndarray) -> np.ndarray:
    out = value.copy()
    for (contribution, _), penalty in zip(terms, penalties, strict=True):
        out -= penalty * np.nan_to_num(contribution)
    return np.where(np.isfinite(value), out, -np.inf)


def _total(chosen: np.ndarray, contribution: np.ndarray) -> float:
    return float(np.nan_to_num(contribution[np.arange(len(chosen)), chosen]).sum())


def _smallest_penalty(value: np.ndarray, terms: list[tuple[np.ndarray, float]], penalties: np.ndarray, t: int,
                      bound: float) -> float:
    """The smallest multiplier of term ``t`` whose penalised choice keeps the term within its bound."""
    trial = penalties.copy()

    def total_at(penalty: float) -> float:
        trial[t] = penalty
        return _total(np.argmax(_penalised(value, terms, trial), axis=1), terms[t][0])

    if total_at(0.0) <= bound + TOLERANCE:
        return 0.0
    scale = float(np.nanmax(np.abs(value[np.isfinite(value)]))) if np.isfinite(value).any() else 1.0
    contribution = np.abs(np.nan_to_num(terms[t][0]))
    spread = float(contribution[contribution > 0].min()) if (contribution > 0).any() else 1.0
    high = 10 * max(scale, 1.0) / max(spread, 1e-12)
    if total_at(high) > bound + TOLERANCE:
        return high
    low = 0.0
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if total_at(middle) <= bound + TOLERANCE:
            high = middle
        else:
            low = middle
    return high


def _repair(chosen: np.ndarray, value: np.ndarray, terms: list[tuple[np.ndarray, float]],
            current: np.ndarray) -> np.ndarray:
    """Move products back to their current price, cheapest first, until every term holds."""
    chosen = chosen.copy()
    for _ in range(len(chosen)):
        excess = [_total(chosen, c) - b for c, b in terms]
        if all(e <= TOLERANCE for e in excess):
            break
        worst = int(np.argmax(excess))
        contribution = np.nan_to_num(terms[worst][0])
        rows = np.arange(len(chosen))
        movable = (current >= 0) & (chosen != current)
        if not movable.any():
            break
        back = np.maximum(current, 0)
        gain = contribution[rows, chosen] - contribution[rows, back]  # how much reverting relieves the term
        loss = value[rows, chosen] - value[rows, back]
        ratio = np.where(movable & (gain > 0), loss / np.maximum(gain, 1e-12), np.inf)
        if not np.isfinite(ratio).any():
            break
        pick = int(np.argmin(ratio))
        chosen[pick] = back[pick]
    return chosen


def _reason(row: Any, candidate_reason: str, note: str, kept: bool, optimizer: PriceOptimizer,
            result: pd.Series) -> str:
    if note:
        return f"price kept: {note}"
    if candidate_reason:
        return candidate_reason
    if kept:
        return "current price is best"
    change = result["change"]
    parts = [f"{'raise' if change > 0 else 'cut'} {abs(change):.0%}"]
    if abs(abs(change) - optimizer.max_change) < 0.01:
        parts.append("at the max change")
    if np.isfinite(result["stock"]) and result["units_suggested"] >= result["stock"] - 1e-6:
        parts.append("stock limits sales")
    return ", ".join(parts)


def _totals(table: pd.DataFrame, confidence: float) -> dict[str, float]:
    lo, hi = (1 - confidence) / 2, (1 + confidence) / 2
    totals: dict[str, float] = {"products": len(table), "changed": int((table["change"].abs() > 1e-9).sum())}
    for name in ("units", "revenue", "profit"):
        draws = np.sum(np.stack(table[f"_{name}_draws"].to_list()), axis=0) if len(table) else np.zeros(1)
        totals[f"{name}_change"] = float(draws.mean())
        totals[f"{name}_change_lower"] = float(np.quantile(draws, lo))
        totals[f"{name}_change_upper"] = float(np.quantile(draws, hi))
    margin = table["current_price"] - table["cost"].fillna(0)
    totals["profit_current"] = float((margin * table["units_current"]).sum())
    totals["revenue_current"] = float((table["current_price"] * table["units_current"]).sum())
    return totals


def check_constraints(table: pd.DataFrame, constraints: dict[str, Any], *, tolerance: float = 1e-6) -> list[str]:
    """Each violated constraint of a suggestion table, named with the product or category."""
    problems: list[str] = []
    changed = (table["suggested_price"] - table["current_price"]).abs() > 0.005
    rel = table["suggested_price"] / table["current_price"] - 1
    for row in table[changed & (rel.abs() > constraints["max_change"] + 0.005 / table["current_price"])].itertuples():
        problems.append(f"{row.product_id}: change {row.change:+.1%} beyond ±{constraints['max_change']:.0%}")
    floor = constraints["margin_floor"]
    if floor > 0:
        low = changed & (table["cost"] > 0) & (1 - table["cost"] / table["suggested_price"] < floor - tolerance)
        for row in table[low].itertuples():
            problems.append(f"{row.product_id}: margin {row.margin_suggested:.1%} below the floor {floor:.0%}")
    if constraints.get("endings") is not None:
        cents = np.round(table["suggested_price"] % 1, 2)
        allowed = np.round(np.asarray(constraints["endings"]), 2)
        bad = changed & ~np.isin(cents, allowed)
        for row in table[bad].itertuples():
            problems.append(f"{row.product_id}: price {row.suggested_price:.2f} does not end in an allowed ending")
    cut = changed & (rel < 0) & table["stock"].notna() & (table["units_current"] >= table["stock"] - tolerance)
    for row in table[cut].itertuples():
        problems.append(f"{row.product_id}: price cut although stock already limits sales")
    bound = constraints.get("category_max_change")
    if bound is not None:
        mean_change = (table["category_weight"] * rel).groupby(table["category"]).sum()
        for category, value in mean_change[mean_change.abs() > bound + tolerance].items():
            problems.append(f"category {category}: mean price change {value:+.2%} beyond ±{bound:.0%}")
    share = constraints.get("category_min_units")
    if share is not None:
        grouped = table.groupby("category")[["units_suggested", "units_current"]].sum()
        short = grouped[grouped["units_suggested"] < share * grouped["units_current"] - tolerance]
        for category, row in short.iterrows():
            problems.append(f"category {category}: keeps {row.units_suggested / row.units_current:.1%} of its units,"
                            f" below {share:.0%}")
    return problems
