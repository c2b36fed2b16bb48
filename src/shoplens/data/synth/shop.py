"""``simulate()``: a whole shop with its ground truth; ``SimulatedShop.write(ws)`` loads it into a workspace."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from shoplens.data.synth.catalog import Catalog, build_catalog
from shoplens.data.synth.config import SIMULATOR_VERSION, Difficulty, DifficultyName, SimulatorConfig
from shoplens.data.synth.customers import Population, build_population, daily_purchase_intensity, state_on
from shoplens.data.synth.demand import Calendar, Demand, build_calendar, build_demand
from shoplens.data.synth.events import build_events
from shoplens.data.synth.inventory import build_inventory
from shoplens.data.synth.orders import ORDERS_PER_LINE, Sales, build_sales
from shoplens.data.synth.qa import build_qa
from shoplens.data.synth.reviews import build_reviews
from shoplens.data.synth.search import Ranker, SearchBehaviour, build_search_sessions

if TYPE_CHECKING:
    from shoplens.data.ingest import IngestReport
    from shoplens.workspace import Workspace

# Canonical tables in load order: customers and products before the tables that refer to them.
TABLE_ORDER = ("customers", "products", "orders", "order_items", "events", "reviews", "qa", "inventory")

TRUTH_DESCRIPTIONS = {
    "products": "hidden product traits: elasticity (true, constant per product), reference_price (price at which "
                "base demand is defined), base_lines_per_day (expected order lines per day at the reference price, "
                "no promotion, no shock, averaged over the season), units_per_line, cost, quality, fit_bias, "
                "packaging, looks_as_pictured, popularity, launch_day, lead_time_days, current_price",
    "customers": "latent customer traits and state dates: churn_ts (no activity from then on), lapse_ts (buying at a "
                 "fraction of the usual rate from then on), state_at_end, orders_per_year while active, "
                 "price_sensitivity, favourite category and brands",
    "customer_preferences": "customer × leaf category affinity (sums to 1 per customer)",
    "demand": "product × day: shelf_price, discount_rate, net_price, hidden_log_lift (promotion display and featured "
              "price cuts, never recorded in the tables), shock_log, expected_lines (the mean before noise), lines "
              "and units drawn",
    "promotions": "promotion episodes: product, first/last day, discount_rate, kind (product, black_friday, "
                  "summer_sale, new_year_sale, singles_day), hidden_log_lift",
    "orders": "per order: delivery_days (drives delivery sentiment in reviews)",
    "review_aspects": "per review and mentioned aspect: sentiment -1/0/+1, detail ('small'/'large' for size_fit -1)",
    "reviews": "per review: the order line reviewed, latent score before rounding to the rating, returned",
    "calendar": "per day: weekday log multiplier and each department's yearly season (log, holidays included)",
    "search_queries": "per distinct typed query of the search sessions: the product it was drawn from, its leaf "
                      "category, noun, asked attributes (constraints JSON) and modifier (cheap/best)",
    "search_relevance": "true relevance 1-3 of a product to a search query (absent pairs are 0): 1 right category, "
                        "2 and every asked attribute, 3 and a good one (quality, or price for 'cheap')",
    "search_examination": "position-based click model: probability that a shopper examines each result position",
}


@dataclass
class Truth:
    """What generated the data: versioned, written beside the data, read back by tests and benchmarks."""

    tables: dict[str, pd.DataFrame]
    params: dict[str, Any]
    version: str = SIMULATOR_VERSION

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def elasticity(self) -> pd.Series:
        """True price elasticity per product_id."""
        return self.tables["products"].set_index("product_id")["elasticity"]

    def customer_state(self, at: str | pd.Timestamp) -> pd.Series:
        """Latent state of every customer at a time: not_signed_up, active, lapsing or churned."""
        start = pd.Timestamp(self.params["start"])
        when = pd.Timestamp(at).tz_localize(None) if pd.Timestamp(at).tzinfo else pd.Timestamp(at)
        day = int(np.floor((when - start) / pd.Timedelta(days=1)))
        return state_on(self.tables["customers"], day)

    def write(self, folder: str | Path) -> Path:
        """``folder/<table>.parquet`` and ``folder/manifest.json`` (version, parameters, row counts)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        manifest = {
            "simulator_version": self.version, "params": self.params,
            "tables": {name: {"file": f"{name}.parquet", "rows": len(frame),
                              "description": TRUTH_DESCRIPTIONS.get(name, "")}
                       for name, frame in self.tables.items()},
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> Truth:
        folder = Path(folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        tables = {name: pd.read_parquet(folder / meta["file"]) for name, meta in manifest["tables"].items()}
        return cls(tables, manifest["params"], manifest["simulator_version"])


@dataclass
class SimulatedShop:
    """The canonical tables of a simulated shop (exact canonical column names) and its truth."""

    tables: dict[str, pd.DataFrame]
    truth: Truth
    config: SimulatorConfig
    seconds: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v):,}" for k, v in self.tables.items())
        return f"SimulatedShop(seed={self.config.seed}, {counts})"

    def write(self, ws: Workspace, *, progress: bool = False) -> dict[str, IngestReport]:
        """Ingest every table into the workspace and store the truth in ``ws.path / "truth"``."""
        reports = {}
        for name in TABLE_ORDER:
            if name in self.tables:
                reports[name] = ws.ingest(name, self.tables[name], name=f"simulator/{name}", tz="UTC",
                                          progress=progress)
        self.truth.write(ws.path / "truth")
        return reports

    def period(self, first_day: int = 0, end_day: int | None = None) -> SimulatedShop:
        """The shop as its exports of days ``[first_day, end_day)`` hold it (what a shop ingests day by day):
        orders with their lines, events, reviews and stock counts of those days; customers who signed up and
        products launched then (from day 0: also the customers and products from before); Q&A from day 0.
        The truth is the whole period's. Writing ``period(0, d)`` then ``period(d)`` loads the whole shop."""
        days = self.config.days
        end_day = days if end_day is None else end_day
        if not 0 <= first_day < end_day <= days:
            raise ValueError(f"period({first_day}, {end_day}): need 0 ≤ first_day < end_day ≤ {days}")
        start = pd.Timestamp(self.config.start, tz="UTC")
        lo = None if first_day == 0 else start + pd.Timedelta(days=first_day)
        hi = start + pd.Timedelta(days=end_day)
        tables: dict[str, pd.DataFrame] = {}
        for name, frame in self.tables.items():
            keep = _in_period(self, name, frame, lo, hi, first_day, end_day)
            if keep is not None:
                tables[name] = frame[keep].reset_index(drop=True)
        tables["order_items"] = self.tables["order_items"][
            self.tables["order_items"]["order_id"].isin(tables["orders"]["order_id"])].reset_index(drop=True)
        return SimulatedShop(tables, self.truth, self.config)

    def write_files(self, folder: str | Path, format: Literal["parquet", "csv"] = "parquet") -> dict[str, Path]:
        """Each table as ``folder/<table>.parquet`` (or ``.csv``), the truth in ``folder/truth``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, frame in self.tables.items():
            paths[name] = folder / f"{name}.{format}"
            if format == "csv":
                frame.to_csv(paths[name], index=False)
            else:
                frame.to_parquet(paths[name], index=False)
        self.truth.write(folder / "truth")
        return paths


def simulate(n_customers: int = 2_000, n_products: int = 200, days: int = 365, start: str = "2024-01-01",
             seed: int = 0, *, n_orders: int | None = None, difficulty: DifficultyName | Difficulty = "realistic",
             search_ranker: Ranker | None = None, **options: Any) -> SimulatedShop:
    """Simulate a shop. ``options`` are further :class:`SimulatorConfig` fields (``orders_per_year`` …);
    ``search_ranker`` orders the results of search sessions (default: BM25 over the product text)."""
    config = SimulatorConfig(n_customers=n_customers, n_products=n_products, days=days, start=start, seed=seed,
                             n_orders=n_orders, difficulty=difficulty, **options)
    return Simulator(config, search_ranker=search_ranker).run()


class Simulator:
    """Runs the stages in order; each stage draws from its own child generator of the seed, so that
    switching off a later stage (events, reviews) leaves earlier tables identical."""

    def __init__(self, config: SimulatorConfig, *, search_ranker: Ranker | None = None) -> None:
        self.config = config
        self.search_ranker = search_ranker

    def run(self) -> SimulatedShop:
        cfg = self.config
        seeds = np.random.SeedSequence(cfg.seed).spawn(8)
        rng = [np.random.default_rng(s) for s in seeds]
        start = pd.Timestamp(cfg.start)
        timer = _Timer()
        catalog = timer("catalog", build_catalog, rng[0], cfg.n_products, cfg.days, start, cfg.currency)
        pop = timer("customers", build_population, rng[1], cfg, catalog.n_brands, start)
        calendar = build_calendar(start, cfg.days, cfg.difficulty)
        intensity = daily_purchase_intensity(pop, cfg.days, cfg.lapse_rate_factor)
        target_orders = cfg.n_orders if cfg.n_orders is not None else float(intensity.sum())
        demand = timer("demand", build_demand, rng[2], calendar, intensity, catalog.popularity, catalog.department,
                       catalog.list_price, catalog.elasticity, catalog.launch_day, target_orders / ORDERS_PER_LINE,
                       cfg.difficulty, cfg.demand_shift)
        if cfg.n_orders is not None and intensity.sum() > 0:
            pop.truth["orders_per_year"] *= cfg.n_orders / intensity.sum()
        sales = timer("orders", build_sales, rng[3], pop, catalog, demand, cfg, start)
        tables = {"customers": pop.customers, "products": catalog.products, "orders": sales.orders,
                  "order_items": sales.order_items}
        truth_tables: dict[str, pd.DataFrame] = {}
        if cfg.events:
            tables["events"] = timer("events", build_events, rng[4], sales, pop, catalog, cfg, start)
        if cfg.reviews:
            reviews = timer("reviews", build_reviews, rng[5], sales, pop, catalog, cfg, start)
            tables["reviews"] = reviews.reviews
            truth_tables["review_aspects"] = reviews.aspects
            truth_tables["reviews"] = reviews.truth
        tables["qa"] = timer("qa", build_qa, rng[6], catalog)
        if cfg.search_sessions_per_day > 0:
            truth_tables.update(timer("search", self._search, catalog, pop, tables, start))
        units = _daily_units(sales, demand.lines.shape)
        lead = np.full(cfg.n_products, np.nan)
        if cfg.inventory:
            tables["inventory"], lead = timer("inventory", build_inventory, rng[7], units, catalog.launch_day,
                                              catalog.products["product_id"].to_numpy(), start)
        _settle_signups(tables, pop)
        catalog.products["price"] = demand.shelf_price[:, -1]  # the current price is the last shelf price
        truth_tables = {**_core_truth(catalog, pop, demand, calendar, sales, units, lead, start), **truth_tables}
        truth = timer("truth", Truth, truth_tables, cfg.to_dict())
        return SimulatedShop({k: tables[k] for k in TABLE_ORDER if k in tables}, truth, cfg, timer.seconds)


    def _search(self, catalog: Catalog, pop: Population, tables: dict[str, pd.DataFrame],
                start: pd.Timestamp) -> dict[str, pd.DataFrame]:
        """Search sessions appended to the events (their own generator: the other tables stay as they are)."""
        cfg = self.config
        rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(8,)))
        behaviour = SearchBehaviour(sessions_per_day=cfg.search_sessions_per_day, days=cfg.search_days,
                                    shuffle_share=cfg.search_shuffle_share,
                                    anonymous_share=cfg.difficulty.anonymous_share)
        log = build_search_sessions(rng, catalog, pop, behaviour, cfg.days, start, self.search_ranker)
        frames = [f for f in (tables.get("events"), log.events) if f is not None and len(f)]
        events = pd.concat(frames, ignore_index=True) if frames else log.events
        tables["events"] = events.sort_values("event_ts", kind="stable", ignore_index=True)
        return {"search_queries": log.queries, "search_relevance": log.relevance,
                "search_examination": log.examination}


def _in_period(shop: SimulatedShop, name: str, frame: pd.DataFrame, lo: pd.Timestamp | None, hi: pd.Timestamp,
               first_day: int, end_day: int) -> pd.Series | None:
    """Which rows of one table belong to a period (None: the table is derived from another one)."""
    time_column = {"customers": "signup_ts", "orders": "order_ts", "events": "event_ts", "reviews": "review_ts",
                   "inventory": "ts"}
    if name in time_column:
        ts = pd.to_datetime(frame[time_column[name]], utc=True)
        return (ts < hi) & (ts >= lo if lo is not None else True)
    if name == "products":
        launch = frame["product_id"].map(shop.truth["products"].set_index("product_id")["launch_day"])
        return (launch < end_day) & (launch >= first_day if first_day else True)
    if name == "qa":
        return pd.Series(first_day == 0, index=frame.index)
    return None


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn: Any, *args: Any) -> Any:
        clock = time.perf_counter()
        out = fn(*args)
        self.seconds[name] = round(time.perf_counter() - clock, 3)
        return out


def _daily_units(sales: Sales, shape: tuple[int, int]) -> np.ndarray:
    """Units sold per product and day (completed and cancelled lines alike: the demand that occurred)."""
    lines = sales.lines
    flat = lines["product"].to_numpy() * shape[1] + lines["day"].to_numpy()
    units = np.bincount(flat, weights=lines["quantity"].to_numpy(), minlength=shape[0] * shape[1])
    return units.reshape(shape).round().astype(np.int64)


def _settle_signups(tables: dict[str, pd.DataFrame], pop: Population) -> None:
    """A customer's first order or session on the sign-up day may not precede the sign-up time."""
    firsts = [tables["orders"].groupby("customer_id")["order_ts"].min()]
    if "events" in tables:
        firsts.append(tables["events"].dropna(subset=["customer_id"]).groupby("customer_id")["event_ts"].min())
    first = pd.concat(firsts).groupby(level=0).min()
    customers = tables["customers"]
    seen = customers["customer_id"].map(first)
    earlier = seen.notna() & (seen <= customers["signup_ts"])
    rng = np.random.default_rng(len(customers))
    lead = pd.to_timedelta(rng.integers(60, 3600, int(earlier.sum())), unit="s")
    customers.loc[earlier, "signup_ts"] = seen[earlier] - lead


def _core_truth(catalog: Catalog, pop: Population, demand: Demand, calendar: Calendar, sales: Sales,
                units: np.ndarray, lead: np.ndarray, start: pd.Timestamp) -> dict[str, pd.DataFrame]:
    n, days = demand.mu.shape
    net = demand.shelf_price * (1 - demand.discount_rate)
    price_effect = (net / catalog.list_price[:, None]) ** catalog.elasticity[:, None]
    adjust = price_effect * np.exp(demand.hidden_lift + demand.shock)
    base = demand.mu / adjust
    live = np.arange(days)[None, :] >= catalog.launch_day[:, None]
    lines_sold = demand.lines.sum(axis=1)
    products = catalog.truth.assign(
        base_lines_per_day=np.where(live, base, 0).sum(axis=1) / np.maximum(live.sum(axis=1), 1),
        units_per_line=np.divide(units.sum(axis=1), lines_sold, out=np.full(n, np.nan), where=lines_sold > 0),
        lead_time_days=lead, current_price=demand.shelf_price[:, -1])
    pid = catalog.products["product_id"].to_numpy()
    demand_table = pd.DataFrame({
        "product_id": np.repeat(pid, days), "day": np.tile(calendar.dates.date, n),
        "shelf_price": demand.shelf_price.ravel(), "discount_rate": demand.discount_rate.ravel(),
        "net_price": net.ravel(), "hidden_log_lift": demand.hidden_lift.ravel(), "shock_log": demand.shock.ravel(),
        "expected_lines": demand.mu.ravel(), "lines": demand.lines.ravel(), "units": units.ravel(),
    })
    promotions = demand.promotions.assign(
        product_id=pid[demand.promotions["product"].to_numpy()],
        first_date=(start + pd.to_timedelta(demand.promotions["first_day"], unit="D")).dt.date,
        last_date=(start + pd.to_timedelta(demand.promotions["last_day"], unit="D")).dt.date,
    ).drop(columns=["product"])
    customers = pop.truth.assign(state_at_end=state_on(pop.truth, days).to_numpy())
    orders = sales.order_truth[["order_id", "delivery_days"]]
    return {"products": products, "customers": customers, "customer_preferences": pop.preferences,
            "demand": demand_table, "promotions": promotions, "orders": orders, "calendar": calendar.frame()}
