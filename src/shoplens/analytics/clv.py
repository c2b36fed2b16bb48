"""Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b),
fitted by maximum likelihood with scipy, from neutral starting values.

BG/NBD: while alive a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out
with probability p ~ Beta(a, b). Gamma-Gamma: the mean value of a customer's purchases is independent of
their frequency; spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, γ) (γ is called ``v`` here, as lifetimes does).

Inputs are per-customer summaries (``clv_summary.sql``): frequency = repeat purchase days, recency and T
in days from the first purchase, converted to ``time_unit_days`` (weeks by default, the unit of the
published CDNOW fit: r = 0.2426, α = 4.4135, a = 0.7929, b = 2.4258).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from shoplens.base import Estimator
from shoplens.errors import InputError, ShoplensError

DAYS_PER_MONTH = 365.25 / 12


def _arrays(*columns: Any) -> list[np.ndarray]:
    return [np.asarray(c, dtype=np.float64) for c in columns]


MIN_CUSTOMERS = 10


def _check_summary(frequency: np.ndarray, recency: np.ndarray, t: np.ndarray) -> None:
    if len(frequency) < MIN_CUSTOMERS or not np.any(frequency > 0):
        raise InputError(f"BG/NBD needs at least {MIN_CUSTOMERS} customers, some with repeat purchases; the "
                         f"calibration period has {len(frequency)} customers, {int(np.sum(frequency > 0))} repeat")
    if np.any(frequency < 0) or np.any(recency < 0) or np.any(recency > t + 1e-9):
        raise InputError("a customer summary needs frequency ≥ 0 and 0 ≤ recency ≤ T")
    if np.any((frequency == 0) & (recency > 0)):
        raise InputError("a customer without repeat purchases must have recency 0")


def _minimize(objective: Any, n_params: int) -> np.ndarray:
    """Maximum likelihood in log-parameters from neutral values (all parameters 1): L-BFGS-B, then a
    Nelder-Mead polish from its optimum, keeping whichever is better."""
    start = np.zeros(n_params)
    first = minimize(objective, start, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
    # the polish stops at a relative change of 1e-12 of the likelihood (1e-7 in the log-parameters): tighter, a
    # flat ridge of the Gamma-Gamma likelihood kept it to its 40,000-evaluation cap (83 s on the mid-size shop's
    # 38,000 customers, for a gain of 5e-13 of the log-likelihood)
    polish = minimize(objective, first.x, method="Nelder-Mead",
                      options={"xatol": 1e-7, "fatol": 1e-12 * max(1.0, abs(float(first.fun))), "maxiter": 20000,
                               "maxfev": 4000})
    best = polish if polish.fun <= first.fun else first
    if not np.all(np.isfinite(best.x)) or not math.isfinite(best.fun):
        raise InputError("the maximum-likelihood fit did not converge (too few customers or repeat purchases?)")
    return best.x


@dataclass
class BetaGeoFitter:
    """BG/NBD. ``fit(frequency, recency, T)`` (arrays, in one time unit) sets ``params_`` = r, alpha, a, b."""

    penalizer: float = 0.0
    params_: dict[str, float] = field(default_factory=dict)
    log_likelihood_: float = float("nan")

    def fit(self, frequency: Any, recency: Any, t: Any) -> BetaGeoFitter:
        x, tx, big_t = _arrays(frequency, recency, t)
        _check_summary(x, tx, big_t)

        def negative_ll(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            return -self._log_likelihood(params, x, tx, big_t).sum() + self.penalizer * float(np.sum(params ** 2))

        params = np.exp(_minimize(negative_ll, 4))
        self.params_ = dict(zip(("r", "alpha", "a", "b"), map(float, params), strict=True))
        self.log_likelihood_ = float(self._log_likelihood(params, x, tx, big_t).sum())
        return self

    @staticmethod
    def _log_likelihood(params: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        common = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + betaln(a, b + x) - betaln(a, b)
        alive = -(r + x) * np.log(alpha + big_t)
        dropped = math.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx)
        top = np.maximum(alive, dropped)
        return common + top + np.log(np.exp(alive - top) + (x > 0) * np.exp(dropped - top))

    def _fitted(self) -> tuple[float, float, float, float]:
        if not self.params_:
            raise ShoplensError("BG/NBD is not fitted yet; call fit() first")
        return self.params_["r"], self.params_["alpha"], self.params_["a"], self.params_["b"]

    def p_alive(self, frequency: Any, recency: Any, t: Any) -> np.ndarray:
        """Probability that each customer is still alive at the end of their observation."""
        r, alpha, a, b = self._fitted()
        x, tx, big_t = _arrays(frequency, recency, t)
        log_odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700))), 1.0)

    def p_no_purchase(self, horizon: float, frequency: Any, recency: Any, t: Any) -> np.ndarray:
        """Probability of no purchase in the next ``horizon`` time units: dead, or alive without a Poisson
        event — an alive customer's rate has the posterior Gamma(r + x, α + T)."""
        r, alpha, _, _ = self._fitted()
        x, tx, big_t = _arrays(frequency, recency, t)
        alive = self.p_alive(x, tx, big_t)
        return (1 - alive) + alive * ((alpha + big_t) / (alpha + big_t + horizon)) ** (r + x)

    def expected_purchases(self, horizon: float, frequency: Any, recency: Any, t: Any) -> np.ndarray:
        """Expected purchases in the next ``horizon`` time units, given each customer's history."""
        r, alpha, a, b = self._fitted()
        x, tx, big_t = _arrays(frequency, recency, t)
        ha, hb, hc = r + x, b + x, a + b + x - 1
        z = horizon / (alpha + big_t + horizon)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_hyp = np.log(hyp2f1(ha, hb, hc, z))
            # where the series overflows, Euler's transformation of 2F1 gives the same value
            alternative = np.log(hyp2f1(hc - ha, hc - hb, hc, z)) + (hc - ha - hb) * np.log1p(-z)
        log_hyp = np.where(np.isfinite(log_hyp), log_hyp, alternative)
        survival = np.exp(log_hyp + (r + x) * np.log((alpha + big_t) / (alpha + horizon + big_t)))
        numerator = (a + b + x - 1) / (a - 1) * (1 - survival)
        return numerator * self.p_alive(x, tx, big_t)

    def expected_purchases_new(self, horizon: float) -> float:
        """Expected purchases of a new customer in ``horizon`` time units (the population curve)."""
        r, alpha, a, b = self._fitted()
        z = horizon / (alpha + horizon)
        return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + horizon)) ** r * hyp2f1(r, b, a + b - 1, z)))


@dataclass
class GammaGammaFitter:
    """Gamma-Gamma spend model. ``fit(frequency, monetary)`` on customers with repeat purchases sets
    ``params_`` = p, q, v."""

    penalizer: float = 0.0
    params_: dict[str, float] = field(default_factory=dict)
    log_likelihood_: float = float("nan")

    def fit(self, frequency: Any, monetary: Any) -> GammaGammaFitter:
        x, m = _arrays(frequency, monetary)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        if len(x) < 3:
            raise InputError(f"Gamma-Gamma needs customers with repeat purchases of positive value; found {len(x)}")

        def negative_ll(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            return -self._log_likelihood(params, x, m).sum() + self.penalizer * float(np.sum(params ** 2))

        params = np.exp(_minimize(negative_ll, 3))
        self.params_ = dict(zip(("p", "q", "v"), map(float, params), strict=True))
        self.log_likelihood_ = float(self._log_likelihood(params, x, m).sum())
        self.n_customers_ = len(x)
        return self

    @staticmethod
    def _log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, v = params
        px = p * x
        return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * math.log(v) + (px - 1) * np.log(m)
                + px * np.log(x) - (px + q) * np.log(x * m + v))

    def expected_value(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Expected mean value of a customer's future purchases (the population mean without repeats)."""
        if not self.params_:
            raise ShoplensError("Gamma-Gamma is not fitted yet; call fit() first")
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        x, m = _arrays(frequency, monetary)
        m = np.where(np.isfinite(m), m, 0.0)
        population = v * p / (q - 1) if q > 1 else float("nan")
        weight = (q - 1) / (p * x + q - 1)
        return np.where(x > 0, weight * population + (1 - weight) * m, population)


@dataclass(eq=False, repr=False)
class CLVModel(Estimator):
    """BG/NBD + Gamma-Gamma on a workspace's orders: expected purchases, probability alive and discounted CLV.

    ``calibration_end`` is the last day of the history used (default: the last day with a purchase).
    ``months`` of CLV are discounted at ``discount_rate`` per month (lifetimes' convention).
    """

    registry_name: ClassVar[str] = "analytics-clv"
    capability: ClassVar[str] = "analytics"

    calibration_end: str | None = None
    time_unit_days: float = 7.0
    months: int = 12
    discount_rate: float = 0.01
    penalizer: float = 0.0
    engine: str = "duckdb"

    def check(self) -> None:
        """Refuse settings that cannot give a CLV (before any data is read)."""
        if not self.time_unit_days > 0:
            raise InputError(f"time_unit_days {self.time_unit_days!r} must be positive")
        if int(self.months) != self.months or self.months < 1:
            raise InputError(f"months {self.months!r}: give a whole number of months, at least 1")
        if not 0 <= self.discount_rate < 1:
            raise InputError(f"discount_rate {self.discount_rate!r} must be a monthly fraction in [0, 1)")
        if self.penalizer < 0:
            raise InputError(f"penalizer {self.penalizer!r} must not be negative")

    def fit(self, data: Any) -> CLVModel:
        """``data``: a Workspace / analysis source, or a summary frame (``clv_summary`` columns)."""
        self.check()
        summary = data if isinstance(data, pd.DataFrame) else self.summary(data)
        self.summary_ = summary
        frequency, recency, t = self.units(summary)
        self.bgnbd_ = BetaGeoFitter(self.penalizer).fit(frequency, recency, t)
        self.gamma_gamma_ = GammaGammaFitter(self.penalizer).fit(summary["frequency"], summary["monetary"])
        return self

    def summary(self, data: Any) -> pd.DataFrame:
        """The per-customer summary of the calibration period, from SQL (stored as analytics_clv_summary)."""
        from shoplens.analytics.api import run_queries
        from shoplens.analytics.queries import clv_summary

        summary = run_queries(data, clv_summary(self.calibration_end), engine=self.engine)["clv_summary"].to_pandas()
        if summary.empty:
            raise InputError("no purchases to fit a CLV model on: the orders table has no sale with a customer")
        return summary

    def units(self, summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        unit = self.time_unit_days
        return (summary["frequency"].to_numpy(float), summary["recency_days"].to_numpy(float) / unit,
                summary["t_days"].to_numpy(float) / unit)

    def predict(self, summary: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per customer: p_alive, expected purchases over the CLV horizon, expected value per purchase, clv."""
        summary = self.summary_ if summary is None else summary
        frequency, recency, t = self.units(summary)
        month = DAYS_PER_MONTH / self.time_unit_days
        value = self.gamma_gamma_.expected_value(summary["frequency"], summary["monetary"])
        clv = np.zeros(len(summary))
        previous = np.zeros(len(summary))
        for i in range(1, self.months + 1):
            cumulative = self.bgnbd_.expected_purchases(i * month, frequency, recency, t)
            clv += value * (cumulative - previous) / (1 + self.discount_rate) ** i
            previous = cumulative
        return pd.DataFrame({
            "customer_id": summary["customer_id"].to_numpy(),
            "frequency": summary["frequency"].to_numpy(), "recency_days": summary["recency_days"].to_numpy(),
            "t_days": summary["t_days"].to_numpy(), "monetary": summary["monetary"].to_numpy(),
            "p_alive": self.bgnbd_.p_alive(frequency, recency, t),
            "expected_purchases": previous, "expected_value": value, "clv": np.round(clv, 2),
        })

    @property
    def params(self) -> dict[str, float]:
        return {**self.bgnbd_.params_, **self.gamma_gamma_.params_}

    def card_params(self) -> dict[str, Any]:
        return {**super().card_params(), **self.params}

    def evaluate(self, data: Any, *, dataset: str | None = None, holdout_days: int = 90) -> list[Any]:
        """Calibration and holdout (Fader, Hardie & Lee): fitted on the purchases up to ``holdout_days`` before
        the last purchase day, the expected repeat purchases of each customer in the holdout against the actual
        ones, beside the naive rate (repeat purchases per day of the calibration period, carried on)."""
        from shoplens.evaluation import BenchmarkRecord, Protocol
        from shoplens.evaluation.records import workspace_dataset

        if int(holdout_days) != holdout_days or holdout_days < 1:
            raise InputError(f"holdout_days {holdout_days!r}: give a whole number of days, at least 1")
        whole = self.summary(data)
        end = pd.Timestamp(whole["calibration_end"].max())
        cut = (end - pd.Timedelta(days=holdout_days)).date().isoformat()
        model = type(self)(**{**self.get_params(), "calibration_end": cut}).fit(data)
        calibration = model.summary_
        actual = calibration[["customer_id", "frequency"]].merge(
            whole[["customer_id", "frequency"]], on="customer_id", suffixes=("", "_all"))
        holdout_purchases = (actual["frequency_all"] - actual["frequency"]).to_numpy(float)
        frequency, recency, t = model.units(calibration.set_index("customer_id").loc[actual["customer_id"]]
                                            .reset_index())
        horizon = holdout_days / self.time_unit_days
        predictions = {"bgnbd": model.bgnbd_.expected_purchases(horizon, frequency, recency, t),
                       "naive-rate": np.where(t > 0, frequency / np.maximum(t, 1e-9), 0.0) * horizon}
        notes = (f"calibration up to {cut}, holdout the {holdout_days} days to {end.date()}: expected repeat "
                 f"purchase days per customer of the {len(actual):,} customers who bought before the holdout")
        protocol = Protocol(split="temporal", horizon=int(holdout_days), notes=notes)
        dataset = dataset or workspace_dataset(data, "clv")
        return [BenchmarkRecord.create(
            benchmark="analytics", dataset=dataset, model="bgnbd" if name == "bgnbd" else name,
            role="ours" if name == "bgnbd" else "baseline", protocol=protocol,
            metrics={"mae": float(np.mean(np.abs(predicted - holdout_purchases))),
                     "rmse": float(np.sqrt(np.mean((predicted - holdout_purchases) ** 2))),
                     "total_ratio": float(predicted.sum() / max(holdout_purchases.sum(), 1e-9))})
            for name, predicted in predictions.items()]

    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {"config": self.get_params(),
                 "bgnbd": self.bgnbd_.params_, "gamma_gamma": self.gamma_gamma_.params_,
                 "log_likelihood": self.bgnbd_.log_likelihood_}
        (folder / "clv.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> CLVModel:
        file = Path(path) / "clv.json"
        if not file.exists():
            raise InputError(f"{file}: no saved CLV model here")
        state = json.loads(file.read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["config"])
        model.bgnbd_ = BetaGeoFitter(model.penalizer, dict(state["bgnbd"]), state.get("log_likelihood", float("nan")))
        model.gamma_gamma_ = GammaGammaFitter(model.penalizer, dict(state["gamma_gamma"]))
        return model
