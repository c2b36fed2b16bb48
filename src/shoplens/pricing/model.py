"""``ElasticityModel``: own-price elasticities per product and per category, with intervals.

```python
from shoplens.pricing import ElasticityModel
model = ElasticityModel().fit(ws)                 # daily_sales + products of the workspace
model.elasticities_                               # per product: elasticity, lower, upper, status …
model.categories_                                 # per category (every level of the path)
model.evaluate()                                  # against the simulator's truth, beside naive OLS
```

Methods: ``fixed_effects`` (default; :mod:`shoplens.pricing.fixed_effects`), ``dml``
(:mod:`shoplens.pricing.dml`) and the ``naive_ols`` baseline (:mod:`shoplens.pricing.naive`). With
``shrinkage=True`` (default) estimates are pooled along the category tree (:mod:`shoplens.pricing.shrinkage`).
A product whose price never moved is ``not_identifiable``: no number, only its category's prior.
"""

from __future__ import annotations

import json
import time
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound, ShoplensError
from shoplens.pricing.panel import PRODUCTS_SQL, InsufficientData, PricePanel, build_panel, panel_from_workspace
from shoplens.progress import progress_bar

if TYPE_CHECKING:
    from shoplens.evaluation import BenchmarkRecord
    from shoplens.pricing.fixed_effects import FixedEffectsResult
    from shoplens.workspace import Workspace

Method = Literal["fixed_effects", "dml", "naive_ols"]
METHODS: tuple[str, ...] = ("fixed_effects", "dml", "naive_ols")
FORMAT_VERSION = 1
BASELINE_DAYS = 364  # the last year of demand (a whole season) gives the optimiser's baseline
BASELINE_BLOCK_DAYS = 28  # its uncertainty: the spread of four-week means

IDENTIFIED, NOT_IDENTIFIABLE, INSUFFICIENT = "identified", "not_identifiable", "insufficient_data"
# An estimate beyond this is a fit that ran off (all sales at one price level), not an elasticity.
MAX_ABS_ELASTICITY = 10.0


@dataclass(eq=False, repr=False)
class ElasticityModel(Estimator):
    """Own-price elasticities of demand per product and category.

    Parameters
    ----------
    method: ``fixed_effects`` (log-log quasi-likelihood with department × day and promotion effects, AR(1)
        errors), ``dml`` (cross-fitted double ML with LightGBM) or ``naive_ols`` (the biased baseline).
    shrinkage: pool estimates along the category tree (empirical Bayes); off, the raw estimates are reported.
    confidence: level of the intervals (0.9 → 5% and 95% bounds).
    history_days: use only the last N days of sales (None: all).
    min_days, min_units: a product needs this many days on sale and units sold to be estimated.
    trend: a linear trend per product (fixed effects).  autocorrelation: model AR(1) demand shocks.
    dml_folds, dml_trees: cross-fitting folds and LightGBM trees of ``dml``.
    n_jobs: threads for LightGBM.  random_state: seed of the DML folds.  progress: show a progress bar.
    """

    registry_name: ClassVar[str] = "pricing"
    capability: ClassVar[str] = "pricing"

    method: Method = "fixed_effects"
    _: KW_ONLY
    shrinkage: bool = True
    confidence: float = 0.9
    history_days: int | None = None
    min_days: int = 56
    min_units: int = 30
    trend: bool = True
    autocorrelation: bool = True
    max_iter: int = 60
    dml_folds: int = 4
    dml_trees: int = 300
    n_jobs: int = 2
    random_state: int = 0
    progress: bool = False

    # -- fitting --------------------------------------------------------------------------------------
    def fit(self, data: Workspace | pd.DataFrame | PricePanel, products: pd.DataFrame | None = None, *,
            prices: pd.DataFrame | None = None) -> ElasticityModel:
        """Estimate from a workspace (its ``daily_sales`` and ``products``), a ``daily_sales``-like frame with
        the catalog in ``products``, or a prepared :class:`PricePanel`. ``prices``: the shop's price history
        (product_id, day, price, promo), used instead of inferring prices from sales where it has them."""
        self._check_params()
        started = time.perf_counter()
        panel, catalog = self._panel(data, products, prices)
        self.panel_, self.catalog_ = panel, catalog
        stats = panel.product_stats()
        eligible = (stats["days"] >= self.min_days) & (stats["units"] >= self.min_units)
        self.fit_rows_ = np.flatnonzero(eligible)
        fit_panel = panel.select(self.fit_rows_)
        if fit_panel.n_products == 0:
            raise InsufficientData(f"no product has {self.min_days} days on sale and {self.min_units} units sold; "
                             "elasticities need a sales history (lower min_days/min_units for a quick look)")
        estimate, se, extras = self._estimate(fit_panel)
        raw = pd.DataFrame({"product_id": fit_panel.products, "estimate": estimate, "estimate_se": se})
        table = stats.merge(raw, on="product_id", how="left")
        table = _with_catalog_only(table, catalog)
        self.elasticities_, self.categories_, self.tau_ = self._finalise(table)
        self.elasticities_ = self._with_baseline(self.elasticities_, panel)
        self.info_ = {"method": self.method, "shrinkage": self.shrinkage, "confidence": self.confidence,
                      "products": len(self.elasticities_), "identified": int((self.elasticities_["status"]
                                                                                 == IDENTIFIED).sum()),
                      "first_day": str(panel.days[0].date()), "last_day": str(panel.days[-1].date()),
                      "days": panel.n_days, "price_history": panel.price_history, "tau": self.tau_,
                      "seconds": round(time.perf_counter() - started, 2), **extras}
        return self

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"method {self.method!r}: use one of {', '.join(METHODS)}")
        if not 0.5 <= self.confidence < 1:
            raise InputError(f"confidence {self.confidence}: use a level between 0.5 and 1 (e.g. 0.9)")
        if self.history_days is not None and self.history_days < 2 * self.min_days:
            raise InputError(f"history_days {self.history_days} is shorter than twice min_days ({self.min_days})")

    def _panel(self, data: Any, products: pd.DataFrame | None,
               prices: pd.DataFrame | None) -> tuple[PricePanel, pd.DataFrame | None]:
        if isinstance(data, PricePanel):
            return data.last_days(self.history_days), products
        if isinstance(data, pd.DataFrame):
            return build_panel(data, products, prices=prices, history_days=self.history_days), products
        if hasattr(data, "sql") and hasattr(data, "connect"):
            catalog = data.sql(PRODUCTS_SQL)
            return panel_from_workspace(data, prices=prices, history_days=self.history_days), catalog
        raise InputError(f"fit() takes a Workspace, a daily_sales frame or a PricePanel, not {type(data).__name__}")

    def _estimate(self, panel: PricePanel) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        if self.method == "naive_ols":
            from shoplens.pricing.naive import fit_naive

            naive = fit_naive(panel)
            return naive.elasticity, naive.se, {"naive_pooled": naive.pooled}
        if self.method == "dml":
            from shoplens.pricing.dml import fit_dml

            dml = fit_dml(panel, folds=self.dml_folds, trees=self.dml_trees, n_jobs=self.n_jobs,
                          random_state=self.random_state)
            return dml.elasticity, dml.se, {"dml_rows": dml.rows, "dml_kappa": round(dml.kappa, 4)}
        fit = self.fit_fixed_effects(panel)
        self.fixed_effects_ = fit
        return fit.elasticity, fit.elasticity_se, {
            "noise": {k: round(v, 5) for k, v in fit.noise.to_dict().items()}, "iterations": fit.iterations,
            "converged": fit.converged,
            "promo_lift": dict(zip(fit.departments.tolist(), np.round(fit.promo_lift, 4).tolist(), strict=True))}

    def fit_fixed_effects(self, panel: PricePanel, **options: Any) -> FixedEffectsResult:
        """The fixed-effects fit of a panel (with this model's settings), with a progress bar when asked."""
        from shoplens.pricing.fixed_effects import fit_fixed_effects

        with progress_bar("elasticities", self.max_iter, enabled=self.progress, unit="iterations") as bar:
            return fit_fixed_effects(panel, trend=self.trend, ar=self.autocorrelation, max_iter=self.max_iter,
                                     on_iteration=lambda _: bar.advance(), **options)

    def _finalise(self, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
        """Statuses, shrinkage and intervals."""
        from shoplens.pricing.shrinkage import shrink

        status, reason = _statuses(table, self.min_days, self.min_units)
        table = table.assign(status=status, reason=reason)
        estimated = (table["status"] == IDENTIFIED).to_numpy()
        estimate = np.where(estimated, table["estimate"], np.nan)
        se = np.where(estimated, table["estimate_se"], np.nan)
        pooled = shrink(estimate, se, table["category"].to_numpy())
        if self.shrinkage:
            mean, sd = pooled.mean, pooled.sd
        else:
            mean, sd = estimate, se
        z = float(norm.ppf(0.5 + self.confidence / 2))
        table = table.assign(elasticity=mean, sd=sd, lower=mean - z * sd, upper=mean + z * sd,
                             prior_elasticity=pooled.prior_mean, prior_sd=pooled.prior_sd)
        categories = pooled.categories.assign(lower=lambda f: f["elasticity"] - z * f["sd"],
                                              upper=lambda f: f["elasticity"] + z * f["sd"])
        columns = ["product_id", "category", "status", "reason", "elasticity", "lower", "upper", "sd", "estimate",
                   "estimate_se", "prior_elasticity", "prior_sd", "days", "sale_days", "units", "price_changes",
                   "promo_days", "log_price_sd", "ambiguous_days", "current_price", "cost"]
        return table[columns], categories, pooled.tau

    def _with_baseline(self, table: pd.DataFrame, panel: PricePanel) -> pd.DataFrame:
        """Expected units per day at the current price without promotion, averaged over the last year (so over
        a whole season): each regular-price day's units moved to the current price along the product's demand
        curve. Its standard error comes from the spread of four-week means (overdispersion and shocks
        included)."""
        window = slice(max(panel.n_days - BASELINE_DAYS, 0), None)
        usable = panel.usable[:, window]
        regular = usable & (panel.promo_a[:, window] < 0.5)
        offered = np.where(regular, panel.price_a[:, window], np.nan)
        last_offered = pd.DataFrame(np.where(usable, panel.price_a[:, window], np.nan).T).ffill().iloc[-1].to_numpy()
        rows = table.set_index("product_id").reindex(panel.products)
        current = rows["current_price"].to_numpy(float)
        current = np.where(np.isfinite(current) & (current > 0), current, last_offered)
        slope = np.where(np.isfinite(rows["elasticity"]), rows["elasticity"], rows["prior_elasticity"])
        repriced = np.where(regular, panel.units[:, window] * (current[:, None] / offered) ** slope[:, None], 0.0)
        repriced = np.nan_to_num(repriced)
        days = regular.sum(axis=1)
        baseline = np.where(days > 0, repriced.sum(axis=1) / np.maximum(days, 1), 0.0)
        extra = pd.DataFrame({"product_id": panel.products, "current_price": current,
                              "baseline_units_per_day": baseline, "baseline_sd": _block_se(repriced, regular),
                              "baseline_days": days})
        catalog_price = table.set_index("product_id")["current_price"]
        table = table.drop(columns=["current_price"]).merge(extra, on="product_id", how="left")
        table["current_price"] = table["current_price"].fillna(table["product_id"].map(catalog_price))  # never sold
        return table

    # -- using ----------------------------------------------------------------------------------------
    def _fitted(self) -> pd.DataFrame:
        if not hasattr(self, "elasticities_"):
            raise ShoplensError("the model is not fitted; call fit(ws) or ElasticityModel.load(path)")
        return self.elasticities_

    def elasticity(self, product_id: str) -> dict[str, Any]:
        """One product's row (status, elasticity and interval, prior, data summary)."""
        table = self._fitted()
        row = table[table["product_id"] == product_id]
        if row.empty:
            raise NotFound(f"no product {product_id!r} in the model ({len(table)} products)")
        return json.loads(row.iloc[0].to_json())

    def demand_curve(self, product_id: str, prices: np.ndarray | list[float]) -> pd.DataFrame:
        """Expected units per day at each price (constant elasticity around the current price), with an
        interval from the elasticity's uncertainty."""
        row = self.elasticity(product_id)
        slope = row["elasticity"] if row["elasticity"] is not None else row["prior_elasticity"]
        spread = row["sd"] if row["sd"] is not None else row["prior_sd"]
        ratio = np.asarray(prices, dtype=float) / row["current_price"]
        if np.any(ratio <= 0):
            raise InputError("prices must be positive")
        z = float(norm.ppf(0.5 + self.confidence / 2))
        base = row["baseline_units_per_day"] or 0.0
        bounds = sorted([base * ratio ** (slope - z * spread), base * ratio ** (slope + z * spread)], key=np.sum)
        return pd.DataFrame({"price": np.asarray(prices, dtype=float), "units_per_day": base * ratio**slope,
                             "lower": np.minimum(*bounds), "upper": np.maximum(*bounds)})

    def predict(self, prices: pd.DataFrame) -> pd.DataFrame:
        """Expected units per day at given prices: ``prices`` has ``product_id, price`` (one row per product and
        price asked about); the answer adds ``units_per_day, lower, upper`` (see :meth:`demand_curve`)."""
        missing = {"product_id", "price"} - set(prices.columns)
        if missing:
            raise InputError(f"prices need the columns product_id and price; missing {', '.join(sorted(missing))}")
        if prices.empty:
            return prices.assign(units_per_day=pd.Series(dtype=float), lower=pd.Series(dtype=float),
                                 upper=pd.Series(dtype=float))
        parts = []
        for product_id, group in prices.groupby("product_id", sort=False):
            curve = self.demand_curve(str(product_id), group["price"].to_numpy())
            parts.append(group.assign(**{c: curve[c].to_numpy() for c in ("units_per_day", "lower", "upper")}))
        return pd.concat(parts).loc[prices.index]

    def summary(self) -> dict[str, Any]:
        table = self._fitted()
        identified = table[table["status"] == IDENTIFIED]
        return {**getattr(self, "info_", {}), "statuses": table["status"].value_counts().to_dict(),
                "median_elasticity": float(identified["elasticity"].median()) if len(identified) else None}

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the tables and settings into a folder (created when missing)."""
        table = self._fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        table.to_parquet(folder / "elasticities.parquet", index=False)
        self.categories_.to_parquet(folder / "categories.parquet", index=False)
        meta = {"format_version": FORMAT_VERSION, "params": self.card_params(), "info": getattr(self, "info_", {})}
        (folder / "model.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> ElasticityModel:
        folder = Path(path)
        meta_file = folder / "model.json"
        if not meta_file.exists():
            raise NotFound(f"{folder} holds no pricing model (model.json missing)")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ShoplensError(f"{folder} was written by a newer shoplens (format {meta['format_version']})")
        model = cls.from_saved_params(meta["params"])
        model.elasticities_ = pd.read_parquet(folder / "elasticities.parquet")
        model.categories_ = pd.read_parquet(folder / "categories.parquet")
        model.info_ = meta.get("info", {})
        model.tau_ = model.info_.get("tau", {})
        return model

    def register(self, ws: Workspace, *, deploy: bool = False, metrics: list[dict[str, Any]] | None = None,
                 notes: str = "") -> Any:
        """Save into the workspace's model registry (``pricing``) as a bundle of its own; returns the card."""
        from shoplens.pricing.store import register_bundle

        return register_bundle(ws, self, deploy=deploy, metrics=metrics)

    @classmethod
    def from_registry(cls, ws: Workspace, version: str = "deployed") -> ElasticityModel:
        from shoplens.pricing.store import bundle_path

        return cls.load(bundle_path(ws, version))

    # -- evaluation -----------------------------------------------------------------------------------
    def evaluate(self, data: Any = None, *, dataset: str = "simulator_pricing", notes: str = "",
                 truth: Any = None) -> list[BenchmarkRecord]:
        """Against known elasticities: ``data`` is a simulated shop's workspace (its truth is read from it) or
        the simulator's truth itself; the naive per-product OLS baseline is fitted on the same panel."""
        from shoplens.pricing.evaluation import elasticity_records

        ws = data if hasattr(data, "sql") else None
        if truth is None:
            truth = _truth_of(ws) if ws is not None or data is None else data
        panel = getattr(self, "panel_", None)
        if panel is None:
            if ws is None:
                raise InputError("evaluate() after load() needs the workspace (evaluate(ws)) to fit the naive "
                                 "baseline on")
            panel = panel_from_workspace(ws, history_days=self.history_days)
        return elasticity_records(self, panel, truth, dataset=dataset, notes=notes)


def _block_se(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Standard error of each row's mean from the spread of its four-week block means."""
    n, t = values.shape
    blocks = max(t // BASELINE_BLOCK_DAYS, 1)
    cut = blocks * BASELINE_BLOCK_DAYS
    start = t - cut if t >= cut else 0
    sums = values[:, start:].reshape(n, blocks, -1).sum(axis=2) if t >= cut else values.sum(axis=1, keepdims=True)
    days = observed[:, start:].reshape(n, blocks, -1).sum(axis=2) if t >= cut else observed.sum(axis=1,
                                                                                                keepdims=True)
    means = np.where(days > 0, sums / np.maximum(days, 1), np.nan)
    count = np.isfinite(means).sum(axis=1)
    spread = np.nanstd(np.where(count[:, None] > 1, means, 0.0), axis=1, ddof=1) if blocks > 1 else np.zeros(n)
    poisson = np.sqrt(np.maximum(values.sum(axis=1), 1.0)) / np.maximum(observed.sum(axis=1), 1)
    return np.where(count > 1, np.maximum(spread / np.sqrt(np.maximum(count, 1)), poisson), poisson)


def _truth_of(ws: Workspace | None) -> Any:
    from shoplens.pricing.truth import read_truth

    truth = read_truth(ws) if ws is not None else None
    if truth is None:
        raise InputError("no ground truth: evaluate() needs the simulator's truth (truth=…, or data=ws of a "
                         "simulated shop with truth/ inside)")
    return truth


def _statuses(table: pd.DataFrame, min_days: int, min_units: int) -> tuple[list[str], list[str]]:
    status, reason = [], []
    for row in table.itertuples():
        if not row.sale_days or row.sale_days == 0:
            status.append(INSUFFICIENT)
            reason.append("no sales")
        elif row.days < min_days or row.units < min_units:
            status.append(INSUFFICIENT)
            reason.append(f"{int(row.days)} days on sale, {int(row.units)} units (needs {min_days} and {min_units})")
        elif not np.isfinite(row.estimate):
            status.append(NOT_IDENTIFIABLE)
            reason.append("the price never moved" if row.price_changes == 0 and row.promo_days == 0
                          else "too little price variation")
        elif abs(row.estimate) > MAX_ABS_ELASTICITY:
            status.append(NOT_IDENTIFIABLE)
            reason.append(f"the fit diverged (estimate {row.estimate:.0f}): sales at too few of its prices")
        else:
            status.append(IDENTIFIED)
            reason.append(f"{int(row.price_changes)} price changes, {int(row.promo_days)} promotion days")
    return status, reason


def _with_catalog_only(table: pd.DataFrame, catalog: pd.DataFrame | None) -> pd.DataFrame:
    """Catalog products that never sold join as rows without data (their category prior only)."""
    if catalog is None or "product_id" not in catalog.columns:
        return table
    unsold = catalog[~catalog["product_id"].isin(table["product_id"])]
    if unsold.empty:
        return table
    extra = pd.DataFrame({
        "product_id": unsold["product_id"].to_numpy(),
        "category": unsold.get("category", pd.Series(index=unsold.index, dtype=object)).fillna("(uncategorised)")
        .to_numpy(),
        "days": 0, "sale_days": 0, "units": 0.0, "price_changes": 0, "promo_days": 0, "log_price_sd": 0.0,
        "ambiguous_days": 0, "current_price": pd.to_numeric(unsold.get("price"), errors="coerce").to_numpy(),
        "cost": pd.to_numeric(unsold.get("cost"), errors="coerce").to_numpy(),
        "estimate": np.nan, "estimate_se": np.nan})
    return pd.concat([table, extra], ignore_index=True)
