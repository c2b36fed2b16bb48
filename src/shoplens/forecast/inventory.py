"""Inventory policy from a demand forecast: lead-time demand, safety stock, reorder point, order-up-to
level, EOQ and newsvendor quantities.

The forecast frame (``Forecaster.predict``) gives per product and day a mean ``y``, an error sd ``y_sd``
and the correlation ``y_corr`` of errors of different days. Demand over a protection period of P days
(the lead time, plus the review period for periodic review) then has mean Σy and variance
Σσ² + ρ·((Σσ)² − Σσ²) (equicorrelated errors); it is taken as a gamma distribution with those moments
(non-negative and right-skewed, as demand is), whose quantile at the cycle service level is the reorder
point (continuous review) or order-up-to level (periodic review).

Closed forms follow Snyder & Shen, *Fundamentals of Supply Chain Theory* (the formulas stockpyl
implements): EOQ Q* = √(2Kλ/h), cost √(2Kλh); newsvendor with normal demand S* = μ + σ·Φ⁻¹(p/(p+h)),
cost (p+h)·σ·φ(z).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from shoplens.errors import InputError

DAYS_PER_YEAR = 365.0


# -- closed forms ----------------------------------------------------------------------------------------------
def eoq(fixed_cost: float, holding_cost: float, demand_rate: float) -> tuple[float, float]:
    """Economic order quantity and its annual cost (ordering + holding): (Q*, g(Q*)).

    ``fixed_cost`` K per order, ``holding_cost`` h per unit per period, ``demand_rate`` λ per period.
    """
    _positive(fixed_cost=fixed_cost, holding_cost=holding_cost)
    if demand_rate < 0:
        raise InputError(f"demand_rate={demand_rate}: demand cannot be negative")
    if demand_rate == 0:
        return 0.0, 0.0
    quantity = math.sqrt(2 * fixed_cost * demand_rate / holding_cost)
    return quantity, math.sqrt(2 * fixed_cost * demand_rate * holding_cost)


def newsvendor_normal(holding_cost: float, stockout_cost: float, mean: float, sd: float) -> tuple[float, float]:
    """Optimal order-up-to level and expected cost for normal demand: (S*, g(S*)).

    ``holding_cost`` h per unit left over, ``stockout_cost`` p per unit short.
    """
    _positive(holding_cost=holding_cost, stockout_cost=stockout_cost)
    if sd < 0:
        raise InputError(f"sd={sd}: a standard deviation cannot be negative")
    z = stats.norm.ppf(stockout_cost / (stockout_cost + holding_cost))
    return mean + sd * z, (holding_cost + stockout_cost) * sd * stats.norm.pdf(z)


def newsvendor_quantity(holding_cost: float, stockout_cost: float, distribution: LeadTimeDemand) -> float:
    """Newsvendor quantity for any demand distribution given as a :class:`LeadTimeDemand`."""
    _positive(holding_cost=holding_cost, stockout_cost=stockout_cost)
    return distribution.quantile(stockout_cost / (stockout_cost + holding_cost))


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise InputError(f"{name}={value}: must be positive")


# -- demand over a protection period -----------------------------------------------------------------------
@dataclass(frozen=True)
class LeadTimeDemand:
    """Demand over a protection period: mean and sd, as a gamma distribution (a point mass at 0 when both
    are 0) — or, with ``z_quantiles`` (quantiles of standardised errors of such sums measured by rolling-origin
    backtests, which the Forecaster attaches to its forecasts), mean + sd · z_q: conformal quantiles."""

    mean: float
    sd: float
    z_quantiles: tuple[tuple[float, float], ...] = ()

    def quantile(self, q: float) -> float:
        if self.mean <= 0:
            return 0.0
        if self.sd <= 0:
            return self.mean
        if self.z_quantiles:
            levels = np.array([k for k, _ in self.z_quantiles])
            if q >= levels.min():  # above the highest measured level: that level's quantile (np.interp clamps)
                z = float(np.interp(q, levels, [v for _, v in self.z_quantiles]))
                return max(self.mean + self.sd * z, 0.0)
        shape = (self.mean / self.sd) ** 2
        return float(stats.gamma.ppf(q, shape, scale=self.sd ** 2 / self.mean))

    def expected_shortage(self, level: float) -> float:
        """E[(D − level)⁺], the gamma loss function."""
        if self.mean <= 0:
            return 0.0
        if self.sd <= 0:
            return max(self.mean - level, 0.0)
        shape, scale = (self.mean / self.sd) ** 2, self.sd ** 2 / self.mean
        return float(self.mean * stats.gamma.sf(level, shape + 1, scale=scale)
                     - level * stats.gamma.sf(level, shape, scale=scale))

    def level_for_fill_rate(self, fill_rate: float, demand_per_cycle: float) -> float:
        """The smallest stock level whose expected shortage per cycle is ≤ (1 − fill_rate) · cycle demand."""
        allowed = (1 - fill_rate) * demand_per_cycle
        if self.mean <= 0 or self.expected_shortage(0.0) <= allowed:
            return 0.0
        upper = self.mean + 20 * max(self.sd, 1e-9)
        return float(optimize.brentq(lambda s: self.expected_shortage(s) - allowed, 0.0, upper, xtol=1e-6))


def _period_demand(part: pd.DataFrame, z_quantiles: Mapping[float, float] | None = None) -> LeadTimeDemand:
    sd = part["y_sd"].to_numpy(dtype=float) if "y_sd" in part else np.zeros(len(part))
    corr = float(part["y_corr"].iloc[0]) if "y_corr" in part and len(part) else 0.0
    var = float((sd ** 2).sum() + corr * (sd.sum() ** 2 - (sd ** 2).sum()))
    return LeadTimeDemand(float(part["y"].sum()), math.sqrt(max(var, 0.0)),
                          tuple(sorted((z_quantiles or {}).items())))


def sum_quantiles(forecast: pd.DataFrame) -> dict[float, float]:
    """The conformal quantiles a Forecaster attached to its forecast frame (empty for other frames)."""
    return {float(k): float(v) for k, v in forecast.attrs.get("sum_quantiles", {}).items()}


def lead_time_demand(forecast: pd.DataFrame, lead_time_days: int | Mapping[str, int], review_days: int = 0
                     ) -> pd.DataFrame:
    """Per series: mean and sd of demand over the lead time plus ``review_days``, from a daily forecast.

    ``lead_time_days``: one lead time for all, or a mapping ``unique_id → days``.
    """
    _check_forecast(forecast)
    quantiles = sum_quantiles(forecast)
    rows = []
    for uid, part in forecast.sort_values("ds").groupby("unique_id", sort=True):
        lead = _lead_for(lead_time_days, uid)
        days = lead + review_days
        if days > len(part):
            raise InputError(f"the forecast of {uid!r} covers {len(part)} days but the protection period is "
                             f"{days} days (lead time {lead} + review {review_days}); forecast a longer horizon")
        dist = _period_demand(part.iloc[:days], quantiles)
        rows.append({"unique_id": uid, "lead_time_days": lead, "review_days": review_days,
                     "protection_days": days, "mean": dist.mean, "sd": dist.sd})
    return pd.DataFrame(rows)


def _lead_for(lead_time_days: int | Mapping[str, int], uid: str) -> int:
    if isinstance(lead_time_days, Mapping):
        if uid not in lead_time_days:
            raise InputError(f"no lead time for {uid!r}")
        lead = lead_time_days[uid]
    else:
        lead = lead_time_days
    if lead is None or not float(lead) >= 0 or float(lead) != int(float(lead)):
        raise InputError(f"lead time of {uid!r} = {lead!r}: give whole days ≥ 0")
    return int(float(lead))


def _check_forecast(forecast: pd.DataFrame) -> None:
    missing = [c for c in ("unique_id", "ds", "y") if c not in forecast.columns]
    if missing:
        raise InputError(f"the forecast lacks column(s) {', '.join(missing)}; pass Forecaster.predict()'s frame")
    if forecast.empty:
        raise InputError("the forecast is empty")


def safety_stock(service_level: float, sd: float, mean: float = 0.0) -> float:
    """Safety stock for a cycle service level: the gamma quantile minus the mean (z·σ for large means)."""
    _check_level("service_level", service_level)
    return LeadTimeDemand(mean, sd).quantile(service_level) - mean if mean > 0 else stats.norm.ppf(service_level) * sd


def _check_level(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise InputError(f"{name}={value}: a fraction strictly between 0 and 1 (0.95, not 95)")


# -- the plan -----------------------------------------------------------------------------------------------------
def inventory_plan(forecast: pd.DataFrame, service_level: float = 0.95, lead_time_days: int | Mapping[str, int] = 7,
                   *, review_days: int = 7, fill_rate: float | None = None, ordering_cost: float | None = None,
                   holding_rate: float = 0.25, unit_cost: Mapping[str, float] | None = None,
                   unit_price: Mapping[str, float] | None = None,
                   stock: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per product: lead-time demand, safety stock, reorder point and order-up-to level for a target cycle
    service level (or ``fill_rate``), EOQ (when ``ordering_cost`` and costs are known), the newsvendor
    quantity for one review period of a perishable good (when prices and costs are known), and — with ``stock``
    (``unique_id, on_hand, on_order``) — what to order now.

    Continuous review orders when the inventory position falls to the reorder point; periodic review
    (every ``review_days``) orders up to the order-up-to level.
    """
    _check_level("service_level", service_level)
    if fill_rate is not None:
        _check_level("fill_rate", fill_rate)
    if review_days < 0:
        raise InputError(f"review_days={review_days}: must be ≥ 0")
    if not holding_rate > 0:
        raise InputError(f"holding_rate={holding_rate}: the yearly holding cost as a fraction of unit cost, > 0")
    _check_forecast(forecast)
    quantiles = sum_quantiles(forecast)
    stock_by_id = _stock(stock)
    rows = []
    for uid, part in forecast.sort_values("ds").groupby("unique_id", sort=True):
        lead = _lead_for(lead_time_days, str(uid))
        if lead + review_days > len(part):
            raise InputError(f"the forecast of {uid!r} covers {len(part)} days, fewer than the lead time {lead} + "
                             f"review period {review_days}; forecast a longer horizon")
        rows.append(_plan_row(str(uid), part, lead, review_days, service_level, fill_rate, ordering_cost,
                              holding_rate, (unit_cost or {}).get(uid), (unit_price or {}).get(uid),
                              stock_by_id.get(str(uid)), quantiles))
    return pd.DataFrame(rows)


def _plan_row(uid: str, part: pd.DataFrame, lead: int, review: int, service_level: float, fill_rate: float | None,
              ordering_cost: float | None, holding_rate: float, cost: float | None, price: float | None,
              stock: tuple[float, float] | None, quantiles: dict[float, float]) -> dict:
    daily = float(part["y"].mean())
    during_lead = _period_demand(part.iloc[:lead], quantiles) if lead else LeadTimeDemand(0.0, 0.0)
    protection = _period_demand(part.iloc[: lead + review], quantiles)
    review_demand = daily * max(review, 1)
    if fill_rate is None:
        reorder_point = during_lead.quantile(service_level)
        order_up_to = protection.quantile(service_level)
    else:
        reorder_point = during_lead.level_for_fill_rate(fill_rate, review_demand)
        order_up_to = protection.level_for_fill_rate(fill_rate, review_demand)
    row = {"unique_id": uid, "lead_time_days": lead, "review_days": review, "demand_per_day": daily,
           "lead_time_demand": during_lead.mean, "lead_time_sd": during_lead.sd,
           "safety_stock": max(reorder_point - during_lead.mean, 0.0), "reorder_point": reorder_point,
           "order_up_to": order_up_to, "target": "fill_rate" if fill_rate is not None else "cycle_service",
           "service_level": fill_rate if fill_rate is not None else service_level,
           "eoq": None, "newsvendor_qty": None}
    if ordering_cost is not None and cost is not None and cost > 0:
        row["eoq"] = eoq(ordering_cost, holding_rate * cost, daily * DAYS_PER_YEAR)[0]
    if cost is not None and price is not None and price > cost > 0:
        review_period = _period_demand(part.iloc[: max(review, 1)])
        # a perishable good: an unsold unit loses its cost, a missed sale its margin
        row["newsvendor_qty"] = newsvendor_quantity(cost, price - cost, review_period)
    if stock is not None:
        on_hand, on_order = stock
        position = on_hand + on_order
        row.update({"on_hand": on_hand, "on_order": on_order, "inventory_position": position,
                    "order_now": bool(position <= reorder_point),
                    "order_qty": float(max(math.ceil(order_up_to - position), 0))})
    return row


def _stock(stock: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    if stock is None:
        return {}
    if "unique_id" not in stock.columns or "on_hand" not in stock.columns:
        raise InputError("stock: need columns unique_id, on_hand (and optionally on_order)")
    on_order = stock["on_order"] if "on_order" in stock else pd.Series(0.0, index=stock.index)
    return {str(u): (float(h or 0), float(o or 0)) for u, h, o in
            zip(stock["unique_id"], stock["on_hand"].fillna(0), on_order.fillna(0), strict=True)}
