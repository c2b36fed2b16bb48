"""Supervised churn: LightGBM on RFM and behaviour features, trained on a temporal split and compared
with the BG/NBD probability of being alive.

Times are days in the shop's timezone. A *cutoff* is the first day after the history a prediction may
use; a customer *churns* over a horizon when they buy nothing in ``[cutoff, cutoff + horizon)``.

- ``fit(data)`` predicts as of ``cutoff`` (default: the day after the last purchase): it trains on the
  features at ``cutoff − train_horizon`` with labels observed in ``[cutoff − train_horizon, cutoff)``,
  so only data before the cutoff are used.
- ``backtest(data, cutoff)`` is the backtest: the model is fitted as above for that cutoff, scored on the
  labels of ``[cutoff, cutoff + horizon)``, beside BG/NBD (fitted on the history before the cutoff), whose
  churn score is ``1 − P(alive)``. AUC and calibration (Brier score, expected calibration error over ten
  bins) for both. ``evaluate(data, cutoff=…)`` gives it as benchmark records.

``train_horizon_days`` defaults to ``horizon_days``; make it shorter when the history before the cutoff is
too short for a full horizon (CDNOW: 13 weeks of labels for the training, 39 weeks to evaluate).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shoplens.analytics import queries
from shoplens.base import Estimator
from shoplens.errors import InputError, ShoplensError

LABEL_COLUMNS = ("customer_id", "orders_after", "churned")
CALIBRATION_BINS = 10


@dataclass(eq=False, repr=False)
class ChurnModel(Estimator):
    """P(no purchase within ``horizon_days`` of the cutoff) per customer."""

    registry_name: ClassVar[str] = "analytics-churn"
    capability: ClassVar[str] = "analytics"

    horizon_days: int = 90
    train_horizon_days: int | None = None
    cutoff: str | None = None
    n_estimators: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_child_samples: int = 20
    seed: int = 0
    n_jobs: int = 2
    engine: str = "duckdb"

    @property
    def train_horizon(self) -> int:
        return self.train_horizon_days or self.horizon_days

    def check(self) -> None:
        """Refuse settings that cannot give a churn model (before any data is read)."""
        for name in ("horizon_days", "train_horizon_days", "n_estimators", "min_child_samples"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise InputError(f"{name} {value!r}: give a whole number, at least 1")
        if self.num_leaves < 2:
            raise InputError(f"num_leaves {self.num_leaves!r} must be at least 2")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate {self.learning_rate!r} must be positive")

    def fit(self, data: Any) -> ChurnModel:
        """Train for predictions at ``cutoff`` on labels observed before it."""
        self.check()
        cutoff = self._cutoff(data)
        train_cutoff = cutoff - dt.timedelta(days=self.train_horizon)
        train = features_at(data, train_cutoff, cutoff, self.engine)
        if train.empty or train["churned"].nunique() < 2:
            raise InputError(f"cannot train a churn model at {train_cutoff}: it needs customers who bought before "
                             "it and both churned and returning ones (more history, or a shorter train horizon)")
        self.cutoff_ = cutoff
        self.feature_names_ = [c for c in train.columns if c not in LABEL_COLUMNS]
        self.model_ = self._estimator().fit(train[self.feature_names_].astype(float), train["churned"].astype(int))
        self.train_rows_ = len(train)
        return self

    def _estimator(self) -> Any:
        try:
            from lightgbm import LGBMClassifier
        except ImportError:
            raise ShoplensError("the churn model needs LightGBM (pip install lightgbm)") from None
        return LGBMClassifier(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                              num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                              subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=self.seed,
                              n_jobs=self.n_jobs, verbose=-1)

    def _cutoff(self, data: Any) -> dt.date:
        if self.cutoff is not None:
            return queries.as_date(self.cutoff, "cutoff")
        return prediction_cutoff(data, self.engine)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """P(churn) for rows of ``features_at(...)``."""
        if not hasattr(self, "model_"):
            raise ShoplensError("the churn model is not fitted yet; call fit() first")
        return self.model_.predict_proba(features[self.feature_names_].astype(float))[:, 1]

    def predict(self, data: Any) -> pd.DataFrame:
        """P(churn over the horizon) of every customer as of the model's cutoff."""
        current = features_at(data, self.cutoff_, self.cutoff_ + dt.timedelta(days=1), self.engine)
        return pd.DataFrame({"customer_id": current["customer_id"], "churn_probability": self.predict_proba(current)})

    def evaluate(self, data: Any, *, dataset: str | None = None, cutoff: str | dt.date | None = None) -> list[Any]:
        """The backtest at ``cutoff`` as benchmark records: ours, and BG/NBD's probability of no purchase."""
        from shoplens.evaluation import BenchmarkRecord, Protocol
        from shoplens.evaluation.records import workspace_dataset

        report = self.backtest(data, cutoff)
        metrics = report["metrics"]
        protocol = Protocol(split="temporal", notes=report["protocol"])
        dataset = dataset or workspace_dataset(data, "churn")
        keys = ("auc", "brier", "ece")
        return [BenchmarkRecord.create(benchmark="analytics", dataset=dataset, model="lightgbm-churn", role="ours",
                                       protocol=protocol, metrics={f"churn_{k}": metrics[f"churn_{k}"] for k in keys}),
                BenchmarkRecord.create(benchmark="analytics", dataset=dataset, model="bgnbd-no-purchase-probability",
                                       role="baseline", protocol=protocol,
                                       metrics={f"churn_{k}": metrics[f"bgnbd_{k}"] for k in keys})]

    def backtest(self, data: Any, cutoff: str | dt.date | None = None) -> dict[str, Any]:
        """Backtest at ``cutoff`` against BG/NBD; returns metrics and the per-customer scores (``scores``)."""
        cut = queries.as_date(cutoff or self.cutoff or "", "cutoff") if (cutoff or self.cutoff) else None
        if cut is None:
            raise InputError("evaluate() needs a cutoff with a full horizon of data after it")
        model = replace(self, cutoff=cut.isoformat()).fit(data)
        test = features_at(data, cut, cut + dt.timedelta(days=self.horizon_days), self.engine)
        scores = test[["customer_id", "churned"]].copy()
        scores["churn_probability"] = model.predict_proba(test)
        baseline = bgnbd_scores(data, cut, self.horizon_days, self.engine).reindex(scores["customer_id"])
        scores["p_alive"] = baseline["p_alive"].to_numpy()
        scores["bgnbd_no_purchase"] = baseline["p_no_purchase"].to_numpy()
        metrics = {"churn_auc": auc(scores["churned"], scores["churn_probability"]),
                   "palive_auc": auc(scores["churned"], 1 - scores["p_alive"]),
                   "churn_brier": brier(scores["churned"], scores["churn_probability"]),
                   "palive_brier": brier(scores["churned"], 1 - scores["p_alive"]),
                   "churn_ece": calibration_error(scores["churned"], scores["churn_probability"]),
                   "palive_ece": calibration_error(scores["churned"], 1 - scores["p_alive"]),
                   "bgnbd_auc": auc(scores["churned"], scores["bgnbd_no_purchase"]),
                   "bgnbd_brier": brier(scores["churned"], scores["bgnbd_no_purchase"]),
                   "bgnbd_ece": calibration_error(scores["churned"], scores["bgnbd_no_purchase"]),
                   "churn_rate": float(scores["churned"].mean()), "customers": len(scores),
                   "train_customers": model.train_rows_}
        self.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
        return {"metrics": metrics, "scores": scores, "cutoff": cut.isoformat(),
                "protocol": f"temporal: features before {cut}, labels = no purchase in the following "
                            f"{self.horizon_days} days; trained at {cut - dt.timedelta(days=self.train_horizon)} "
                            f"on labels of the {self.train_horizon} days before {cut}; BG/NBD fitted on the "
                            f"history before {cut}"}

    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.model_.booster_.save_model(str(folder / "churn.lgb"))
        config = self.get_params()
        state = {"config": config, "cutoff": self.cutoff_.isoformat(), "features": self.feature_names_}
        (folder / "churn.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> ChurnModel:
        folder = Path(path)
        if not (folder / "churn.json").exists():
            raise InputError(f"{folder}: no saved churn model here")
        import lightgbm

        state = json.loads((folder / "churn.json").read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["config"])
        model.cutoff_ = dt.date.fromisoformat(state["cutoff"])
        model.feature_names_ = state["features"]
        model.model_ = _BoosterClassifier(lightgbm.Booster(model_file=str(folder / "churn.lgb")))
        return model


class _BoosterClassifier:
    """A loaded LightGBM booster with the classifier's ``predict_proba``."""

    def __init__(self, booster: Any) -> None:
        self.booster_ = booster

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        positive = self.booster_.predict(features)
        return np.column_stack([1 - positive, positive])


def prediction_cutoff(data: Any, engine: str = "duckdb") -> dt.date:
    """The day after the last purchase: the cutoff of predictions about the present."""
    from shoplens.analytics.api import run_queries

    summary = run_queries(data, queries.clv_summary(), engine=engine)["clv_summary"]
    if summary.num_rows == 0:
        raise InputError("no purchases: churn and CLV need orders that name a customer")
    return summary.column("calibration_end")[0].as_py() + dt.timedelta(days=1)


def features_at(data: Any, cutoff: dt.date, horizon_end: dt.date, engine: str = "duckdb") -> pd.DataFrame:
    """``customer_features.sql`` at a cutoff: one row per customer who bought before it."""
    from shoplens.analytics.api import run_queries

    batch = queries.customer_features(cutoff, horizon_end)
    frame = run_queries(data, batch, engine=engine)["customer_features"].to_pandas()
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)


def bgnbd_scores(data: Any, cutoff: dt.date, horizon_days: int, engine: str = "duckdb") -> pd.DataFrame:
    """BG/NBD fitted on the history before the cutoff: per customer_id, P(alive) at the cutoff and the
    probability of no purchase within the horizon."""
    from shoplens.analytics.clv import BetaGeoFitter, CLVModel

    model = CLVModel(calibration_end=(cutoff - dt.timedelta(days=1)).isoformat(), engine=engine)
    summary = model.summary(data)
    frequency, recency, t = model.units(summary)
    fitter = BetaGeoFitter().fit(frequency, recency, t)
    horizon = horizon_days / model.time_unit_days
    return pd.DataFrame({"p_alive": fitter.p_alive(frequency, recency, t),
                         "p_no_purchase": fitter.p_no_purchase(horizon, frequency, recency, t)},
                        index=summary["customer_id"].to_numpy())


def auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (ties count half), i.e. the Mann-Whitney probability."""
    from scipy.stats import rankdata

    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        raise InputError("AUC needs both classes among the labels")
    ranks = rankdata(s)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def brier(labels: Any, probabilities: Any) -> float:
    y, p = np.asarray(labels, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def calibration_error(labels: Any, probabilities: Any, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: the bin-size-weighted gap between mean prediction and outcome rate."""
    y, p = np.asarray(labels, dtype=np.float64), np.clip(np.asarray(probabilities, dtype=np.float64), 0, 1)
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(total / len(y))


def calibration_curve(labels: Any, probabilities: Any, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Per probability bin: customers, mean predicted probability and observed churn rate."""
    frame = pd.DataFrame({"y": np.asarray(labels, dtype=float), "p": np.clip(np.asarray(probabilities, float), 0, 1)})
    frame["bin"] = np.minimum((frame["p"] * bins).astype(int), bins - 1)
    grouped = frame.groupby("bin").agg(customers=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return grouped.reset_index()
