"""Parameters of the store simulator: the size of the shop and how hard its data are to analyse.

Difficulty is part of the specification (docs/simulator.md): the default, ``"realistic"``, switches on
every hidden confounder, overdispersed noise and noisy review text; ``"easy"`` turns them off for unit
tests that check plumbing rather than methods.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

# Bumped whenever a change to the generator changes the data for a given seed, so that recorded truth
# (truth/manifest.json) and results can be matched with the generator that produced them.
SIMULATOR_VERSION = "1.0.0"


@dataclass(frozen=True)
class Difficulty:
    """How hard the simulated data are. Every field is a documented source of difficulty."""

    name: str = "realistic"
    # Demand noise: units ~ Poisson(mean × Gamma(k, 1/k)); smaller k = more overdispersion. None = Poisson.
    nb_shape: float | None = 3.0
    # Unobserved lift on demand during a promotion (log scale, mean and spread per promotion episode):
    # shop displays/newsletters that nobody records, correlated with the (observed) lower price.
    promo_hidden_lift: float = 0.35
    promo_hidden_lift_sd: float = 0.12
    # Probability that a regular price cut is featured (unobserved) for a few days, and its log lift.
    feature_on_price_cut: float = 0.25
    feature_lift: float = 0.15
    # Persistent product demand shocks: AR(1) on the log scale (daily persistence, stationary sd).
    shock_ar: float = 0.9
    shock_sd: float = 0.2
    # Daily probability of a viral spike per product and its log lift range.
    spike_rate: float = 0.002
    spike_lift: tuple[float, float] = (0.6, 1.3)
    # The shop reacts to demand: at a regular price change, log price moves by this × current shock
    # (endogenous pricing that no fixed effect removes; kept mild so good estimators stay close).
    price_reacts_to_shock: float = 0.02
    # The shop prices with its department's season (log price moves this × season): confounds a pooled
    # regression; removed by department-week fixed effects.
    price_follows_season: float = 0.06
    # Department-specific yearly seasonality (False: one global season shape).
    department_seasons: bool = True
    # Share of review texts with typos, dropped punctuation, case noise or emoji.
    text_noise: float = 0.25
    # Share of cancelled orders (they stay in the data, status 'cancelled').
    cancel_rate: float = 0.01
    # Share of browse sessions from visitors who are not logged in (customer_id empty).
    anonymous_share: float = 0.3

    @classmethod
    def realistic(cls) -> Difficulty:
        return cls()

    @classmethod
    def easy(cls) -> Difficulty:
        return cls(name="easy", nb_shape=None, promo_hidden_lift=0.0, promo_hidden_lift_sd=0.0,
                   feature_on_price_cut=0.0, feature_lift=0.0, shock_ar=0.0, shock_sd=0.0, spike_rate=0.0,
                   price_reacts_to_shock=0.0, price_follows_season=0.0, department_seasons=False, text_noise=0.0,
                   cancel_rate=0.0, anonymous_share=0.0)


DifficultyName = Literal["realistic", "easy"]


def resolve_difficulty(value: DifficultyName | Difficulty) -> Difficulty:
    if isinstance(value, Difficulty):
        return value
    presets = {"realistic": Difficulty.realistic, "easy": Difficulty.easy}
    if value not in presets:
        raise ValueError(f"difficulty must be one of {', '.join(presets)} or a Difficulty, not {value!r}")
    return presets[value]()


@dataclass(frozen=True)
class DemandShift:
    """A change in the shop's demand from ``day`` on (0-based, within the simulated period): what a model trained
    before it has not seen (drift alarms, champion/challenger retraining; docs/simulator.md, "Demand shift").

    ``volume`` multiplies every product's expected order lines, ``departments`` multiplies those of the named
    departments (``{"Electronics": 3.0}``), ``price`` multiplies every shelf price (demand then follows each
    product's own elasticity, as before the shift). Days before ``day`` are exactly those of the same shop
    without the shift."""

    day: int
    volume: float = 1.0
    departments: dict[str, float] = field(default_factory=dict)
    price: float = 1.0

    def __post_init__(self) -> None:
        from shoplens.data.synth.vocab import DEPARTMENTS

        if self.day < 1:
            raise ValueError(f"demand_shift.day={self.day}: the shift starts on day 1 or later")
        factors = {"volume": self.volume, "price": self.price, **self.departments}
        bad = [name for name, value in factors.items() if not value > 0]
        if bad:
            raise ValueError(f"demand_shift: {', '.join(bad)} must be a positive multiplier")
        unknown = sorted(set(self.departments) - set(DEPARTMENTS))
        if unknown:
            raise ValueError(f"demand_shift: unknown department(s) {', '.join(unknown)}; departments are "
                             f"{', '.join(DEPARTMENTS)}")


@dataclass(frozen=True)
class SimulatorConfig:
    """Size and behaviour of the simulated shop. All work happens in :func:`simulate`, none here."""

    n_customers: int = 2_000
    n_products: int = 200
    days: int = 365
    start: dt.date = dt.date(2024, 1, 1)
    seed: int = 0
    # Approximate number of orders; None = follow from the customers' purchase rates (orders_per_year).
    n_orders: int | None = None
    # Mean orders per year of an active customer (Gamma-distributed across customers).
    orders_per_year: float = 5.0
    # Share of customers who signed up before the simulated period (an existing customer base).
    existing_share: float = 0.4
    # Mean time until a customer starts lapsing, and how long lapsing lasts before churn (days).
    mean_lifetime_days: float = 540.0
    mean_lapse_days: float = 60.0
    # Purchase (and visit) rate of a lapsing customer relative to an active one.
    lapse_rate_factor: float = 0.35
    # Non-buying browse sessions per order (real shops convert 2–4% of sessions; 4 keeps volumes small).
    browse_sessions_per_order: float = 4.0
    # Share of purchased lines that get a review, before the boost for extreme experiences.
    review_rate: float = 0.06
    currency: str = "USD"
    # Search sessions with known relevance and position bias (data/synth/search.py); 0 = none, and then every
    # other table is exactly as without this feature.
    search_sessions_per_day: float = 0.0
    search_days: int | None = None  # only the last search_days days have search sessions (None: every day)
    search_shuffle_share: float = 0.05  # sessions whose result page is shuffled (logged result randomisation)
    events: bool = True
    reviews: bool = True
    inventory: bool = True
    difficulty: Difficulty = field(default_factory=Difficulty.realistic)
    # A change of demand from a day on (None: the same demand regime throughout)
    demand_shift: DemandShift | None = None

    def __post_init__(self) -> None:
        if isinstance(self.difficulty, str):
            object.__setattr__(self, "difficulty", resolve_difficulty(self.difficulty))
        if isinstance(self.demand_shift, dict):
            object.__setattr__(self, "demand_shift", DemandShift(**self.demand_shift))
        if self.demand_shift is not None and self.demand_shift.day >= self.days:
            raise ValueError(f"demand_shift.day={self.demand_shift.day} is not within the {self.days} simulated days")
        if isinstance(self.start, str):
            object.__setattr__(self, "start", dt.date.fromisoformat(self.start))
        for name in ("n_customers", "n_products", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.n_products < 20:
            raise ValueError("n_products must be at least 20 (brands and categories need a few products each)")
        if self.search_sessions_per_day < 0 or not 0 <= self.search_shuffle_share <= 1:
            raise ValueError("search_sessions_per_day must be ≥ 0 and search_shuffle_share within [0, 1]")
        if self.search_days is not None and self.search_days < 1:
            raise ValueError("search_days must be at least 1")
        if self.n_orders is not None and self.n_orders < 1:
            raise ValueError("n_orders must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (stored in truth/manifest.json)."""
        data = dataclasses.asdict(self)
        data["start"] = self.start.isoformat()
        return data
