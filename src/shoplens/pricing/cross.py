"""Cross-price effects within a category: does another product's price move this product's demand?

For the best-selling products of each category (``top_k`` by units), each product's demand model gains
the log prices of the category's other top sellers as regressors, with the season, promotion lift and
noise model of the main fit held fixed. A positive cross-elasticity means substitutes (the other's price
rises, this one sells more), a negative one complements. "Where the data allow": a pair is left without
a number when the other's price never moved while both were on sale, when the two prices moved together
(correlation above ``max_correlation``: their effects cannot be told apart), or when they overlap on too
few days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from shoplens.errors import InputError
from shoplens.pricing.fixed_effects import MIN_LOG_PRICE_SD, fit_fixed_effects

if TYPE_CHECKING:
    from shoplens.pricing.fixed_effects import FixedEffectsResult
    from shoplens.pricing.model import ElasticityModel
    from shoplens.pricing.panel import PricePanel

COLUMNS = ["product_id", "other_product_id", "category", "cross_elasticity", "se", "lower", "upper", "relation",
           "overlap_days", "price_correlation", "reason"]


def cross_price_effects(model: ElasticityModel, *, top_k: int = 4, min_overlap_days: int = 90,
                        max_correlation: float = 0.9, confidence: float | None = None) -> pd.DataFrame:
    """Cross-elasticities among each category's top sellers, from a model fitted in this session."""
    if top_k < 2:
        raise InputError("top_k must be at least 2 (a product and one other)")
    panel: PricePanel | None = getattr(model, "panel_", None)
    if panel is None:
        raise InputError("cross-price effects need the sales panel: fit the model in this session (fit(ws))")
    fitted: FixedEffectsResult | None = getattr(model, "fixed_effects_", None)
    table = model.elasticities_
    identified = set(table.loc[table["status"] == "identified", "product_id"])
    rows = np.flatnonzero(np.isin(panel.products, list(identified)))
    if fitted is None:  # a DML or naive model: fit the fixed-effects model on the same products
        fitted = model.fit_fixed_effects(panel.select(rows))
        position = rows
    else:
        position = model.fit_rows_  # panel rows of the products in the fixed-effects fit
    groups = _top_sellers(panel, rows, top_k)
    if not groups:
        return pd.DataFrame(columns=COLUMNS)
    chosen = np.array(sorted({p for members in groups.values() for p in members}))
    others = {p: [q for q in groups[panel.categories[p]] if q != p] for p in chosen}
    width = max(len(v) for v in others.values())
    sub = panel.select(chosen)
    hold = fitted.select(np.searchsorted(position, chosen))
    log_price, _ = sub.expected_state(hold.weight_a)
    full_log, _ = panel.expected_state(np.ones(panel.units.shape))
    usable = panel.usable
    extra = np.zeros((len(chosen), panel.n_days, width))
    for i, p in enumerate(chosen):
        for j, q in enumerate(others[p]):
            extra[i, :, j] = np.where(usable[q], full_log[q], np.nan)
    # days the other product was not on sale carry no information about it: its mean log price
    seen = np.isfinite(extra) & sub.usable[..., None]
    fill = np.where(seen, extra, 0.0).sum(axis=1, keepdims=True) / np.maximum(seen.sum(axis=1, keepdims=True), 1)
    extra_centred = np.where(np.isfinite(extra), extra, fill)
    fit = fit_fixed_effects(sub, trend="trend" in fitted.columns, hold=hold, extra=extra_centred,
                            extra_names=tuple(f"other_{j}" for j in range(width)))
    level = confidence if confidence is not None else model.confidence
    return _pairs(panel, sub, chosen, others, extra, log_price, fit, level, min_overlap_days, max_correlation)


def _top_sellers(panel: PricePanel, rows: np.ndarray, top_k: int) -> dict[str, list[int]]:
    units = panel.units.sum(axis=1)
    frame = pd.DataFrame({"row": rows, "category": panel.categories[rows], "units": units[rows]})
    groups = {}
    for category, members in frame.groupby("category"):
        best = members.sort_values(["units", "row"], ascending=[False, True]).head(top_k)
        if len(best) >= 2:
            groups[category] = best["row"].tolist()
    return groups


def _pairs(panel: PricePanel, sub: PricePanel, chosen: np.ndarray, others: dict[int, list[int]], extra: np.ndarray,
           own_log: np.ndarray, fit: FixedEffectsResult, level: float, min_overlap: int,
           max_correlation: float) -> pd.DataFrame:
    z = float(norm.ppf(0.5 + level / 2))
    first_extra = len(fit.columns) - extra.shape[2]
    records = []
    for i, p in enumerate(chosen):
        for j, q in enumerate(others[p]):
            overlap = sub.usable[i] & np.isfinite(extra[i, :, j])
            mine, theirs = own_log[i][overlap], extra[i, overlap, j]
            spread = float(np.std(theirs)) if overlap.sum() > 1 else 0.0
            corr = float(np.corrcoef(mine, theirs)[0, 1]) if spread > 0 and np.std(mine) > 0 else float("nan")
            coef, se = fit.coef[i, first_extra + j], fit.se[i, first_extra + j]
            reason = ""
            if overlap.sum() < min_overlap:
                reason = f"only {int(overlap.sum())} days on sale together (needs {min_overlap})"
            elif spread < MIN_LOG_PRICE_SD:
                reason = "the other product's price never moved"
            elif np.isfinite(corr) and abs(corr) > max_correlation:
                reason = f"the two prices moved together (correlation {corr:.2f})"
            estimable = not reason
            lower, upper = coef - z * se, coef + z * se
            relation = ("not identifiable" if not estimable else "substitute" if lower > 0
                        else "complement" if upper < 0 else "no evidence")
            records.append({
                "product_id": panel.products[p], "other_product_id": panel.products[q],
                "category": panel.categories[p], "cross_elasticity": coef if estimable else np.nan,
                "se": se if estimable else np.nan, "lower": lower if estimable else np.nan,
                "upper": upper if estimable else np.nan, "relation": relation, "overlap_days": int(overlap.sum()),
                "price_correlation": corr, "reason": reason})
    return pd.DataFrame(records, columns=COLUMNS)
