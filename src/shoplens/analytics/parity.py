"""Whether two runs of an analysis gave the same result (DuckDB vs Spark, SQL vs the pandas and Polars
reference implementations): the engine rules' test of identity.

Rows are matched by the table's key (order never matters); strings, integers, dates and booleans must be
equal; money (columns rounded to cents by the SQL) must be equal to the cent; other numbers (ratios,
averages, seconds) to 1e-9, relative to their size when they are larger than 1. ``money_tolerance`` admits
a one-cent difference where float sums of different order round differently (reference implementations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The key of each analysis's result: one row per key.
KEYS: dict[str, list[str]] = {
    "kpis_day": ["period", "dimension", "value"], "kpis_week": ["period", "dimension", "value"],
    "kpis_month": ["period", "dimension", "value"], "rfm": ["customer_id"], "rfm_segments": ["rank"],
    "cohorts": ["cohort", "segment", "period"], "funnel_entities": ["entity"], "funnel": ["segment", "step_no"],
    "funnel_times": ["segment", "bucket_no"], "baskets": ["order_id", "product_id"],
    "basket_items": ["product_id"], "pair_counts": ["item_a", "item_b"],
    "basket_lines": ["order_id", "product_id"], "clv_summary": ["customer_id"],
    "customer_features": ["customer_id"],
}
# Columns holding money rounded to cents.
MONEY = {"revenue", "refunds", "net_revenue", "monetary", "monetary_90d", "total_value"}
RATIO_TOLERANCE = 1e-9


def differences(name: str, expected: pd.DataFrame, actual: pd.DataFrame, *, money_tolerance: float = 0.0,
                limit: int = 5) -> list[str]:
    """What differs between two results of analysis ``name`` (empty when they are the same)."""
    keys = KEYS.get(name, list(expected.columns))
    if sorted(expected.columns) != sorted(actual.columns):
        return [f"{name}: columns differ: {sorted(expected.columns)} vs {sorted(actual.columns)}"]
    if len(expected) != len(actual):
        return [f"{name}: {len(expected):,} rows vs {len(actual):,}"]
    left, right = _normalized(expected, keys), _normalized(actual[expected.columns], keys)
    problems = []
    key_diff = ~_equal(left[keys], right[keys]).all(axis=1)
    if key_diff.any():
        return [f"{name}: different keys, e.g. {left.loc[key_diff, keys].head(3).to_dict('records')} vs "
                f"{right.loc[key_diff, keys].head(3).to_dict('records')}"]
    for column in expected.columns:
        tolerance = money_tolerance if column in MONEY else None
        same = _equal(left[[column]], right[[column]], tolerance)[column]
        if not same.all():
            rows = left.loc[~same, keys].head(limit).to_dict("records")
            problems.append(f"{name}.{column}: {int((~same).sum()):,} rows differ, e.g. at {rows}: "
                            f"{left.loc[~same, column].head(limit).tolist()} vs "
                            f"{right.loc[~same, column].head(limit).tolist()}")
    return problems


def _normalized(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        out[column] = _plain(frame[column].reset_index(drop=True))
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _plain(series: pd.Series) -> pd.Series:
    """One representation per kind of value: floats for numbers, naive timestamps for dates, str otherwise."""
    if isinstance(series.dtype, pd.ArrowDtype):
        series = series.astype(series.dtype.numpy_dtype if series.dtype.kind in "iufb" else object)
    if series.dtype == object:
        sample = series.dropna()
        first = sample.iloc[0] if len(sample) else None
        if hasattr(first, "year"):  # dates and datetimes
            return pd.to_datetime(series).astype("datetime64[us]")
        if isinstance(first, (int, float, np.integer, np.floating)) and not isinstance(first, bool):
            return pd.to_numeric(series).astype(float)
        return series.astype(object).where(series.notna(), None)
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.dt.tz_convert("UTC").dt.tz_localize(None) if series.dt.tz is not None else series
        return values.astype("datetime64[us]")
    if pd.api.types.is_bool_dtype(series):
        return series.astype(object)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    return series


def _equal(left: pd.DataFrame, right: pd.DataFrame, money_tolerance: float | None = None) -> pd.DataFrame:
    same = pd.DataFrame(index=left.index)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(), b.to_numpy()
            both_missing = np.isnan(x) & np.isnan(y)
            if money_tolerance is not None:
                close = np.abs(x - y) <= money_tolerance + 1e-9
            else:
                close = np.abs(x - y) <= RATIO_TOLERANCE * np.maximum(1.0, np.maximum(np.abs(x), np.abs(y)))
            same[column] = both_missing | close
        else:
            same[column] = [(u == v) or (_missing(u) and _missing(v)) for u, v in zip(a, b, strict=True)]
    return same


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT
