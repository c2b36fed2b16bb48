"""How well the analyses recover a simulated shop's latent customer states (``truth/`` of the workspace).

The store simulator draws each customer's state up front (active → lapsing → churned; docs/simulator.md);
the analyses never see it. At the last simulated day we score, among customers who bought, how well
each signal separates the customers who had left the active state (lapsing or churned) from the active
ones: the RFM segments (ordered from champions to lost), the churn model's probability and BG/NBD's
1 − P(alive). An AUC of 0.5 is chance; each AUC comes with a 95% interval (Hanley & McNeil).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from shoplens.errors import NotFound

# Segments from the most to the least engaged: the order in which churn risk should rise.
SEGMENT_RISK = {"champions": 0, "loyal": 1, "potential loyalists": 2, "new": 3, "at risk": 4, "can't lose": 5,
                "hibernating": 6, "lost": 7}


def auc_interval(auc: float, positives: int, negatives: int, z: float = 1.96) -> tuple[float, float]:
    """A normal-approximation interval for an AUC (Hanley & McNeil 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) \
        / (positives * negatives)
    half = z * math.sqrt(max(variance, 0.0))
    return max(auc - half, 0.0), min(auc + half, 1.0)


def truth_recovery(ws: Any, *, horizon_days: int = 90, engine: str = "duckdb") -> dict[str, Any]:
    """Metrics (``segment_auc``, ``churn_auc``, ``palive_auc`` with their lower bounds) and the share of each
    latent state per RFM segment, against the truth at the last simulated day."""
    from shoplens.analytics.api import rfm
    from shoplens.analytics.churn import ChurnModel, auc, bgnbd_scores, prediction_cutoff
    from shoplens.data.synth import Truth

    folder = ws.path / "truth"
    if not (folder / "manifest.json").exists():
        raise NotFound(f"{folder}: no simulator truth (this workspace was not written by the store simulator)")
    truth = Truth.read(folder)
    last_day = pd.Timestamp(truth.params["start"]) + pd.Timedelta(days=int(truth.params["days"]) - 1)
    states = truth.customer_state(last_day)
    customers = rfm(ws, engine=engine).customers[["customer_id", "segment"]]
    frame = customers.assign(state=states.reindex(customers["customer_id"]).to_numpy())
    frame["left"] = frame["state"].isin(["lapsing", "churned"])
    frame["segment_risk"] = frame["segment"].map(SEGMENT_RISK)
    churn = ChurnModel(horizon_days=horizon_days, engine=engine).fit(ws).predict(ws).set_index("customer_id")
    frame["churn_probability"] = churn["churn_probability"].reindex(frame["customer_id"]).to_numpy()
    baseline = bgnbd_scores(ws, prediction_cutoff(ws, engine), horizon_days, engine)
    frame["p_alive"] = baseline["p_alive"].reindex(frame["customer_id"]).to_numpy()
    left, positives, negatives = frame["left"].to_numpy(), int(frame["left"].sum()), int((~frame["left"]).sum())
    metrics: dict[str, Any] = {"customers": len(frame), "left_share": positives / len(frame)}
    for name, score in (("segment", frame["segment_risk"]), ("churn", frame["churn_probability"]),
                        ("palive", 1 - frame["p_alive"])):
        value = auc(left, score.to_numpy(dtype=float))
        metrics[f"{name}_auc"] = value
        metrics[f"{name}_auc_low"], metrics[f"{name}_auc_high"] = auc_interval(value, positives, negatives)
    by_segment = (frame.groupby("segment")["state"].value_counts(normalize=True).unstack(fill_value=0.0)
                  .reindex([s for s in SEGMENT_RISK if s in set(frame["segment"])]))
    return {"metrics": metrics, "by_segment": by_segment, "at": last_day.date().isoformat(), "scores": frame}
