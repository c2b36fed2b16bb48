"""Weekly stock snapshots under a simple periodic-review policy the shop followed.

The shop reviews stock every Monday and orders up to four weeks of recent average demand plus lead
time. Sales are the drawn demand and are never censored by stock: a shortfall is shipped from the
supplier directly (drop-shipped), so ``on_hand`` bottoms out at zero without changing the sales. That
keeps the elasticity truth exact; the forecast module's own replay decides what its policy would have
held.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def build_inventory(rng: np.random.Generator, units: np.ndarray, launch_day: np.ndarray, product_ids: np.ndarray,
                    start: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """Snapshots (canonical columns) and the lead time per product."""
    n, days = units.shape
    lead = rng.integers(3, 22, n)
    mean_demand = np.maximum(units[:, : min(28, days)].mean(axis=1), 0.1)
    on_hand = np.ceil(mean_demand * (lead + 28)).astype(np.int64)
    pipeline = np.zeros((n, days + 40), dtype=np.int64)
    recent = np.full(n, mean_demand)
    rows = []
    dates = pd.date_range(start, periods=days, freq="D")
    for d in range(days):
        on_hand += pipeline[:, d]
        on_hand = np.maximum(on_hand - units[:, d], 0)
        recent = 0.9 * recent + 0.1 * units[:, d]
        if dates[d].weekday() == 0:
            on_order = pipeline[:, d + 1:].sum(axis=1)
            target = np.ceil(recent * (lead + 28)).astype(np.int64)
            qty = np.maximum(target - on_hand - on_order, 0)
            pipeline[np.arange(n), d + lead] += qty
            live = launch_day <= d
            # Taken at the end of the Monday review, after that day's sales and orders.
            rows.append(pd.DataFrame({"product_id": product_ids[live], "ts": dates[d] + pd.Timedelta(seconds=86_399),
                                      "on_hand": on_hand[live], "on_order": (on_order + qty)[live],
                                      "lead_time_days": lead[live].astype(float)}))
    inventory = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["product_id", "ts", "on_hand", "on_order", "lead_time_days"])
    inventory["ts"] = pd.to_datetime(inventory["ts"]).dt.tz_localize("UTC")
    return inventory, lead
