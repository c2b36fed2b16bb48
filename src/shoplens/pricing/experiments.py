"""Price tests: plan one (sample size and duration for a detectable effect) and analyse a finished one.

```python
from shoplens.pricing import plan_price_test, analyze_price_test
plan = plan_price_test(model, ["P00001", "P00002"], price_change=0.05)   # switchback in 7-day blocks
plan.days, plan.power_curve                                              # duration at 80% power
result = analyze_price_test(ws, assignment)     # assignment: product_id, day (or start, end), arm
result.effect, result.elasticity                # with intervals
```

Designs:

- ``switchback``: every tested product alternates between its current price (control) and the test price
  (treatment) in blocks of ``block_days``, in random order within each pair of blocks. Each pair compares
  a product with itself a week apart, so the persistent demand shocks largely cancel.
- ``split``: half of the products (chosen at random) change price, the other half keep it, for ``days``
  after a pre-period of the same length; difference in differences.

The planner's variance of a block's log mean demand comes from the fitted noise model (overdispersion plus
AR(1) shocks, :class:`shoplens.pricing.kalman.NoiseModel`) and each product's baseline demand; the effect to
detect is ``|elasticity · log(1 + price_change)|`` on log units (by default with each product's estimated
elasticity). The analysis is a quasi-Poisson regression with product and day effects and the arm, with
a variance from the demand noise fitted to the test's own residuals (overdispersion and AR(1) shocks, which
consecutive control and treatment blocks share); it reports the effect on units, the implied elasticity,
and the revenue and profit change per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from shoplens.errors import InputError, NotFound
from shoplens.pricing.kalman import NoiseModel, estimate_noise

if TYPE_CHECKING:
    from shoplens.pricing.model import ElasticityModel
    from shoplens.workspace import Workspace

Design = Literal["switchback", "split"]
ARMS = ("control", "treatment")


@dataclass
class PriceTestPlan:
    """How long a price test must run to detect the target effect with the wanted power."""

    design: str
    products: list[str]
    price_change: float
    effect: float  # log-units effect to detect
    days: int | None  # duration (None: not reachable within max_days)
    power: float  # at that duration
    alpha: float
    target_power: float
    block_days: int
    power_curve: pd.DataFrame  # days, power
    per_product: pd.DataFrame  # product_id, baseline units/day, elasticity used, block variance
    noise: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def schedule(self, start: str | pd.Timestamp, seed: int = 0) -> pd.DataFrame:
        """Day-by-day arms (product_id, day, arm). Switchback: random order within each pair of blocks.
        Split: a random half of the products treated from ``start``, and the pre-period of the same length
        before it (already in the sales history) as control for every product, for the difference in
        differences."""
        if self.days is None:
            raise InputError("the plan reaches no duration within max_days; nothing to schedule")
        rng = np.random.default_rng(seed)
        first = pd.Timestamp(start).normalize()
        days = pd.date_range(first, periods=self.days, freq="D")
        rows = []
        if self.design == "switchback":
            pairs = int(np.ceil(self.days / (2 * self.block_days)))
            for product in self.products:
                order = np.concatenate([rng.permutation(ARMS) for _ in range(pairs)])
                arms = np.repeat(order, self.block_days)[: self.days]
                rows.append(pd.DataFrame({"product_id": product, "day": days, "arm": arms}))
        else:
            treated = set(rng.permutation(self.products)[: len(self.products) // 2])
            before = pd.date_range(first - pd.Timedelta(days=self.days), periods=self.days, freq="D")
            for product in self.products:
                arm = "treatment" if product in treated else "control"
                rows.append(pd.DataFrame({"product_id": product, "day": before, "arm": "control"}))
                rows.append(pd.DataFrame({"product_id": product, "day": days, "arm": arm}))
        return pd.concat(rows, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "products": self.products, "price_change": self.price_change,
                "detectable_log_effect": self.effect, "days": self.days, "power": self.power, "alpha": self.alpha,
                "target_power": self.target_power, "block_days": self.block_days, "noise": self.noise,
                "notes": self.notes, "power_curve": self.power_curve.to_dict("records"),
                "per_product": self.per_product.to_dict("records")}


def plan_price_test(model: ElasticityModel, products: Sequence[str] | None = None, *, price_change: float = 0.05,
                    detectable_elasticity: float | None = None, design: Design = "switchback", block_days: int = 7,
                    alpha: float = 0.05, power: float = 0.8, max_days: int = 364) -> PriceTestPlan:
    """The duration a price test needs (see the module's docstring). ``products``: the products to test
    (default: the ten best sellers with an estimate); ``detectable_elasticity``: detect an effect this large
    (default: each product's estimated elasticity)."""
    _check_plan(price_change, design, block_days, alpha, power, max_days, detectable_elasticity)
    table = model.elasticities_.set_index("product_id")
    chosen = _chosen_products(table, products)
    noise = _noise_of(model)
    rows = table.loc[chosen]
    units = rows["baseline_units_per_day"].to_numpy(float)
    if (units <= 0).any():
        idle = [p for p, u in zip(chosen, units, strict=True) if u <= 0]
        raise InputError(f"products without recent sales cannot be tested: {', '.join(idle[:5])}")
    slope = rows["elasticity"].fillna(rows["prior_elasticity"]).to_numpy(float)
    if detectable_elasticity is not None:
        slope = np.full(len(chosen), -abs(detectable_elasticity))
    effect = float(np.mean(np.abs(slope)) * abs(np.log1p(price_change)))
    if effect <= 0:
        raise InputError("the effect to detect is zero: give detectable_elasticity")
    z = norm.ppf(1 - alpha / 2)
    candidates = _durations(design, block_days, max_days)
    se = np.array([_standard_error(design, units, noise, block_days, d) for d in candidates])
    curve = norm.cdf(effect / se - z)
    reached = np.flatnonzero(curve >= power)
    days = int(candidates[reached[0]]) if len(reached) else None
    notes = []
    if days is None:
        notes.append(f"{power:.0%} power is not reached within {max_days} days: test more products, a bigger "
                     "price change, or accept a larger detectable effect")
    if design == "split" and len(chosen) < 4:
        notes.append("a split test with fewer than four products depends on a few products' luck; prefer switchback")
    per_product = pd.DataFrame({"product_id": chosen, "baseline_units_per_day": units, "elasticity": slope,
                                "block_log_variance": noise.block_variance(units, block_days)})
    return PriceTestPlan(design=design, products=list(chosen), price_change=price_change, effect=effect, days=days,
                         power=float(curve[reached[0]]) if len(reached) else float(curve[-1]), alpha=alpha,
                         target_power=power, block_days=block_days,
                         power_curve=pd.DataFrame({"days": candidates, "power": curve}), per_product=per_product,
                         noise=noise.to_dict(), notes=notes)


def _check_plan(price_change: float, design: str, block_days: int, alpha: float, power: float, max_days: int,
                detectable: float | None) -> None:
    if design not in ("switchback", "split"):
        raise InputError(f"design {design!r}: use 'switchback' or 'split'")
    if not -0.5 < price_change < 1 or price_change == 0:
        raise InputError(f"price_change {price_change}: a non-zero relative change, e.g. 0.05 for +5%")
    if block_days < 1 or not 0 < alpha < 0.5 or not 0.5 <= power < 1 or max_days < 2 * block_days:
        raise InputError("block_days >= 1, 0 < alpha < 0.5, 0.5 <= power < 1 and max_days >= 2 blocks, please")
    if detectable is not None and detectable == 0:
        raise InputError("detectable_elasticity must not be zero")


def _chosen_products(table: pd.DataFrame, products: Sequence[str] | None) -> list[str]:
    if products:
        unknown = [p for p in products if p not in table.index]
        if unknown:
            raise NotFound(f"unknown product(s) {', '.join(unknown[:5])} (not in the pricing model)")
        return list(dict.fromkeys(products))
    ranked = table[table["status"] == "identified"].sort_values("baseline_units_per_day", ascending=False)
    if ranked.empty:
        raise InputError("no product has an elasticity estimate to plan a test with; name the products")
    return ranked.index[:10].tolist()


def _noise_of(model: ElasticityModel) -> NoiseModel:
    fitted = getattr(model, "fixed_effects_", None)
    if fitted is not None:
        return fitted.noise
    stored = getattr(model, "info_", {}).get("noise")
    if stored:
        return NoiseModel(**{k: float(stored[k]) for k in ("phi", "q", "kappa")})
    raise InputError("the planner needs the demand noise of a fixed-effects model (method='fixed_effects')")


def _durations(design: str, block_days: int, max_days: int) -> np.ndarray:
    step = 2 * block_days if design == "switchback" else 1
    return np.arange(step, max_days + 1, step)


def _block_covariance(noise: NoiseModel, block_days: int, lag_blocks: int) -> float:
    """Covariance of the shock part of two block means ``lag_blocks`` blocks apart."""
    if noise.q <= 0:
        return 0.0
    i = np.arange(block_days)
    gaps = np.abs(i[:, None] - (i[None, :] + lag_blocks * block_days))
    return float(noise.shock_variance * (noise.phi**gaps).mean())


def _standard_error(design: str, units: np.ndarray, noise: NoiseModel, block_days: int, days: int) -> float:
    """Standard error of the pooled effect on log units after ``days`` of testing."""
    if design == "switchback":
        pairs = days // (2 * block_days)
        pair_var = 2 * noise.block_variance(units, block_days) - 2 * _block_covariance(noise, block_days, 1)
        return float(np.sqrt(1.0 / np.sum(pairs / pair_var)))
    change_var = 2 * noise.block_variance(units, days) - 2 * _block_covariance(noise, days, 1)
    half = len(units) // 2
    treated, control = change_var[:half], change_var[half:]
    if len(treated) == 0 or len(control) == 0:
        return float("inf")
    return float(np.sqrt(treated.mean() / len(treated) + control.mean() / len(control)))


# -- analysis of a finished test --------------------------------------------------------------------------------
@dataclass
class PriceTestResult:
    """The measured effect of a price test, with intervals at ``confidence``."""

    effect: float  # relative change in units (treatment vs control)
    effect_lower: float
    effect_upper: float
    p_value: float
    price_ratio: float  # mean treatment price / mean control price
    elasticity: float | None
    elasticity_lower: float | None
    elasticity_upper: float | None
    revenue_change_per_day: float  # per product-day, treatment vs control prices
    profit_change_per_day: float | None
    days: int
    products: int
    units: dict[str, float]
    confidence: float
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def analyze_price_test(data: Workspace | pd.DataFrame, assignment: pd.DataFrame, *,
                       costs: pd.DataFrame | None = None, confidence: float = 0.9) -> PriceTestResult:
    """Effect of the test price on units (and the implied elasticity) from the days the test ran.

    ``data``: a workspace (its ``daily_sales``) or a frame with product_id, day, units, revenue.
    ``assignment``: product_id with day or start/end (inclusive), and arm (control or treatment).
    ``costs``: product_id, cost (default: the workspace's ``products.cost``) for the profit change."""
    arms = _expand_assignment(assignment)
    sales, costs = _sales_for(data, arms, costs)
    frame = arms.merge(sales, on=["product_id", "day"], how="left").fillna({"units": 0.0, "revenue": 0.0})
    if frame["arm"].nunique() < 2:
        raise InputError("the assignment needs both arms, control and treatment")
    beta, se = _poisson_effect(frame)
    z = float(norm.ppf(0.5 + confidence / 2))
    ratio = _price_ratio(frame)
    lo, hi = beta - z * se, beta + z * se
    slope = (beta / np.log(ratio), *sorted((lo / np.log(ratio), hi / np.log(ratio)))) \
        if ratio > 0 and abs(np.log(ratio)) > 1e-3 else (None, None, None)
    per_arm = frame.groupby("arm").agg(units=("units", "mean"), revenue=("revenue", "mean"))
    revenue_change = float(per_arm.loc["treatment", "revenue"] - per_arm.loc["control", "revenue"])
    profit_change = _profit_change(frame, costs)
    p_value = float(2 * norm.sf(abs(beta / se))) if se > 0 else 0.0
    verdict = ("significant" if p_value < 1 - confidence else "inconclusive") + \
        f": units {np.expm1(beta):+.1%} (interval {np.expm1(lo):+.1%} to {np.expm1(hi):+.1%})"
    return PriceTestResult(effect=float(np.expm1(beta)), effect_lower=float(np.expm1(lo)),
                           effect_upper=float(np.expm1(hi)), p_value=p_value, price_ratio=ratio,
                           elasticity=slope[0], elasticity_lower=slope[1], elasticity_upper=slope[2],
                           revenue_change_per_day=revenue_change, profit_change_per_day=profit_change,
                           days=int(frame["day"].nunique()), products=int(frame["product_id"].nunique()),
                           units=per_arm["units"].to_dict(), confidence=confidence, verdict=verdict)


def _expand_assignment(assignment: pd.DataFrame) -> pd.DataFrame:
    if "product_id" not in assignment.columns or "arm" not in assignment.columns:
        raise InputError("assignment needs columns product_id and arm, and day or start/end")
    arms = assignment.copy()
    arms["arm"] = arms["arm"].astype(str).str.lower().str.strip()
    bad = ~arms["arm"].isin(ARMS)
    if bad.any():
        raise InputError(f"arm must be 'control' or 'treatment', not {arms.loc[bad, 'arm'].iloc[0]!r}", column="arm")
    if "day" not in arms.columns:
        if not {"start", "end"} <= set(arms.columns):
            raise InputError("assignment needs a day column, or start and end columns")
        arms = pd.concat([pd.DataFrame({"product_id": r.product_id, "arm": r.arm,
                                        "day": pd.date_range(pd.Timestamp(r.start), pd.Timestamp(r.end), freq="D")})
                          for r in arms.itertuples()], ignore_index=True)
    arms["day"] = pd.to_datetime(arms["day"]).dt.tz_localize(None).dt.normalize()
    if arms.duplicated(["product_id", "day"]).any():
        raise InputError("assignment gives a product two arms on the same day")
    return arms[["product_id", "day", "arm"]]


def _sales_for(data: Any, arms: pd.DataFrame, costs: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if isinstance(data, pd.DataFrame):
        sales = data
    elif hasattr(data, "sql"):
        first, last = arms["day"].min().date().isoformat(), arms["day"].max().date().isoformat()
        sales = data.sql("SELECT product_id, day, units, revenue FROM daily_sales WHERE day BETWEEN ? AND ?",
                         [first, last])
        if costs is None:
            costs = data.sql("SELECT product_id, CAST(cost AS DOUBLE) AS cost FROM products WHERE cost IS NOT NULL")
    else:
        raise InputError("data must be a workspace or a frame of daily sales")
    missing = {"product_id", "day", "units", "revenue"} - set(sales.columns)
    if missing:
        raise InputError(f"sales lack column(s) {', '.join(sorted(missing))}")
    sales = sales[["product_id", "day", "units", "revenue"]].copy()
    sales["day"] = pd.to_datetime(sales["day"]).dt.tz_localize(None).dt.normalize()
    return sales, costs


def _poisson_effect(frame: pd.DataFrame, max_iter: int = 200) -> tuple[float, float]:
    """Log-link quasi-likelihood fit of units on product and day effects and the arm, with variance
    ``mu + kappa mu²`` (overdispersion and shocks; weights ``1 / (1 + kappa mu)``) and standard errors
    from the demand noise of the test's residuals (:func:`_score_variance`)."""
    product = pd.factorize(frame["product_id"])[0]
    day = pd.factorize(frame["day"])[0]
    treat = (frame["arm"] == "treatment").to_numpy(float)
    units = frame["units"].to_numpy(float)
    both = frame.groupby("day")["arm"].nunique()
    if not (both > 1).mean() > 0.5:  # arms on different days (a synchronised switch): weekday effects only
        day = pd.to_datetime(frame["day"]).dt.dayofweek.to_numpy()
    n_days = day.max() + 1
    level = np.log(np.maximum(np.bincount(product, units) / np.bincount(product), 1e-3))
    shared, beta, kappa = np.zeros(n_days), 0.0, 0.0
    for iteration in range(max_iter):
        mu = np.exp(level[product] + shared[day] + beta * treat)
        weight = 1.0 / (1.0 + kappa * mu)
        level += _fisher(product, units, mu, weight, len(level))
        mu = np.exp(level[product] + shared[day] + beta * treat)
        shared += _fisher(day, units, mu, weight, n_days)
        shared -= shared.mean()
        mu = np.exp(level[product] + shared[day] + beta * treat)
        step = float(np.clip(np.sum(weight * treat * (units - mu)) / max(np.sum(weight * treat * mu), 1e-12), -1, 1))
        beta += step
        if iteration % 5 == 4:
            kappa = max(float(np.sum((units - mu) ** 2 - mu) / max(np.sum(mu**2), 1e-12)), 0.0)
        if iteration > 10 and abs(step) < 1e-9:
            break
    mu = np.exp(level[product] + shared[day] + beta * treat)
    weight = 1.0 / (1.0 + kappa * mu)
    x = _partialled(treat, weight * mu, product, day)
    info = float(np.sum(weight * x * x * mu))
    dates = pd.to_datetime(frame["day"]).to_numpy()
    variance = _score_variance(product, dates, units, mu, weight * x)
    return beta, float(np.sqrt(variance) / max(info, 1e-12))


def _score_variance(product: np.ndarray, dates: np.ndarray, units: np.ndarray, mu: np.ndarray,
                    loading: np.ndarray) -> float:
    """Variance of the score ``sum loading · (units − mu)`` under the demand noise fitted to the test's own
    residuals: overdispersion plus an AR(1) shock shared by a product's days (consecutive control and
    treatment blocks share it, which is what makes a switchback precise; clustering by blocks would
    ignore that and overstate the variance)."""
    day_index = ((dates - dates.min()) // np.timedelta64(1, "D")).astype(int)
    n_days = day_index.max() + 1
    grid = np.zeros((product.max() + 1, n_days))
    seen = np.zeros(grid.shape, dtype=bool)
    expected = np.ones(grid.shape)
    grid[product, day_index], expected[product, day_index], seen[product, day_index] = units - mu, mu, True
    noise = estimate_noise(grid, expected, seen)
    total = 0.0
    for p in np.unique(product):
        rows = product == p
        a, m, t = loading[rows], mu[rows], day_index[rows]
        white = np.sum(a * a * (m + noise.kappa * m * m))
        shock = noise.shock_variance * float((a * m) @ (noise.phi ** np.abs(t[:, None] - t[None, :])) @ (a * m))
        total += white + shock
    return total


def _partialled(values: np.ndarray, weight: np.ndarray, *groups: np.ndarray, sweeps: int = 20) -> np.ndarray:
    """``values`` minus their weighted projection on the group effects (alternating weighted demeaning): the
    part of the arm the product and day effects do not explain, which the variance needs."""
    out = values.astype(float).copy()
    for _ in range(sweeps):
        for group in groups:
            mean = np.bincount(group, weight * out) / np.maximum(np.bincount(group, weight), 1e-12)
            out -= mean[group]
    return out


def _fisher(group: np.ndarray, units: np.ndarray, mu: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    score = np.bincount(group, weight * (units - mu), size)
    info = np.bincount(group, weight * mu, size)
    return np.where(info > 1e-12, np.clip(score / np.maximum(info, 1e-12), -1, 1), 0.0)


def _price_ratio(frame: pd.DataFrame) -> float:
    sold = frame[frame["units"] > 0]
    prices = (sold.groupby(["product_id", "arm"])["revenue"].sum() / sold.groupby(["product_id", "arm"])["units"]
              .sum()).unstack()
    if not set(ARMS) <= set(prices.columns):
        return float("nan")
    ratios = (prices["treatment"] / prices["control"]).dropna()
    return float(np.exp(np.log(ratios).mean())) if len(ratios) else float("nan")


def _profit_change(frame: pd.DataFrame, costs: pd.DataFrame | None) -> float | None:
    if costs is None or not {"product_id", "cost"} <= set(costs.columns):
        return None
    cost = frame["product_id"].map(dict(zip(costs["product_id"], costs["cost"], strict=True)))
    if cost.isna().any():
        return None
    margin = frame["revenue"] - cost * frame["units"]
    per_arm = margin.groupby(frame["arm"]).mean()
    return float(per_arm["treatment"] - per_arm["control"])
