"""Simulated customers: who they are, what they like, how often they buy and when they leave.

The latent state of each customer is drawn up front and is the truth for churn: a customer is *active*
from sign-up until ``lapse_day``, *lapsing* (buying and visiting at a fraction of the usual rate) until
``churn_day``, and *churned* from then on: no orders, sessions, returns or reviews afterwards. Time to
lapse is exponential with a hazard that varies across customers (Gamma-distributed, higher for
price-sensitive customers), so survival is a Pareto-like mixture as in the BG/NBD family. Nothing in
the state is recomputed from the generated orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.data.synth.config import SimulatorConfig
from shoplens.data.synth.vocab import ACQUISITION, AGE_BANDS, CHANNELS, COUNTRIES, DEPARTMENTS, LEAVES

NEVER_DAYS = 36_500  # "not within any simulated horizon", still a valid timestamp

DEPARTMENT_NAMES = tuple(DEPARTMENTS)
LEAF_DEPARTMENT = np.array([DEPARTMENT_NAMES.index(leaf.department) for leaf in LEAVES])


@dataclass
class Population:
    """The customers table plus the per-customer arrays the simulation needs."""

    customers: pd.DataFrame  # canonical columns
    truth: pd.DataFrame  # one row per customer: latent traits and state dates
    preferences: pd.DataFrame  # long: customer_id, category, affinity
    ids: np.ndarray  # customer_id strings
    signup_day: np.ndarray  # day index relative to the start (negative: before the simulated period)
    lapse_day: np.ndarray
    churn_day: np.ndarray
    rate: np.ndarray  # orders per year while active (rescaled to the realised demand in simulate)
    price_sensitivity: np.ndarray
    log_affinity: np.ndarray  # customers × leaves
    top_leaves: np.ndarray  # customers × 3, the favourite leaf categories
    favourite_brands: np.ndarray  # customers × 2, brand indexes
    channel: np.ndarray  # preferred channel index
    country: np.ndarray  # country code per customer
    language: np.ndarray  # 'en' or 'zh'


def _signup_days(rng: np.random.Generator, n: int, days: int, existing_share: float) -> np.ndarray:
    existing = rng.random(n) < existing_share
    before = -rng.integers(1, 731, size=n)  # up to two years before the start
    # New sign-ups grow over the period (a shop that acquires more customers as it grows).
    during = (days * rng.random(n) ** 0.8).astype(np.int64)
    return np.where(existing, before, np.minimum(during, days - 1))


def _affinities(rng: np.random.Generator, n: int) -> np.ndarray:
    """Customers × leaves: a few departments matter to each customer, a few leaves within them."""
    dept = rng.dirichlet(np.full(len(DEPARTMENT_NAMES), 0.5), size=n)
    within = rng.gamma(1.0, 1.0, size=(n, len(LEAVES)))
    aff = dept[:, LEAF_DEPARTMENT] * within
    return aff / aff.sum(axis=1, keepdims=True)


def build_population(rng: np.random.Generator, config: SimulatorConfig, n_brands: int,
                     start: pd.Timestamp) -> Population:
    n, days = config.n_customers, config.days
    signup = _signup_days(rng, n, days, config.existing_share)
    price_sensitivity = rng.normal(0.0, 1.0, n)
    rate = rng.gamma(1.5, config.orders_per_year / 1.5, n)
    hazard = rng.gamma(2.0, 1.0 / (2.0 * config.mean_lifetime_days), n) * np.exp(0.3 * price_sensitivity)
    # Capped at a century: "not within any simulated horizon", and still a valid timestamp.
    lapse = signup + np.minimum(np.ceil(rng.exponential(1.0, n) / hazard), NEVER_DAYS).astype(np.int64)
    churn = lapse + np.minimum(np.ceil(rng.exponential(config.mean_lapse_days, n)), NEVER_DAYS).astype(np.int64)

    affinity = _affinities(rng, n)
    top_leaves = np.argsort(-affinity, axis=1)[:, :3]
    favourite_brands = rng.integers(0, n_brands, size=(n, 2))
    channel = np.where(rng.random(n) < 0.55, 0, rng.integers(1, len(CHANNELS), n))
    weights = np.array([c[1] for c in COUNTRIES])
    country_idx = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    city = [COUNTRIES[c][2][int(rng.integers(len(COUNTRIES[c][2])))] for c in country_idx]
    country = np.array([COUNTRIES[c][0] for c in country_idx])
    language = np.array([COUNTRIES[c][3] for c in country_idx])

    ids = np.array([f"C{i + 1:06d}" for i in range(n)])
    signup_ts = start + pd.to_timedelta(signup, unit="D") + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    age = rng.choice(len(AGE_BANDS), size=n, p=[0.12, 0.3, 0.25, 0.16, 0.11, 0.06])
    acquisition = rng.integers(0, len(ACQUISITION), n)
    # Newsletter subscribers skew price-sensitive: an observable proxy of a latent trait, as in real data.
    newsletter = rng.random(n) < 1 / (1 + np.exp(-(price_sensitivity - 0.3)))
    attributes = [json.dumps({"age_band": AGE_BANDS[a], "acquisition_channel": ACQUISITION[q], "newsletter": bool(m)})
                  for a, q, m in zip(age, acquisition, newsletter, strict=True)]
    customers = pd.DataFrame({"customer_id": ids, "signup_ts": signup_ts.tz_localize("UTC"), "country": country,
                              "city": city, "attributes": attributes})
    truth = pd.DataFrame({
        "customer_id": ids, "signup_day": signup, "lapse_day": lapse, "churn_day": churn,
        "lapse_ts": (start + pd.to_timedelta(lapse, unit="D")).tz_localize("UTC"),
        "churn_ts": (start + pd.to_timedelta(churn, unit="D")).tz_localize("UTC"),
        "orders_per_year": rate, "hazard_per_day": hazard, "price_sensitivity": price_sensitivity,
        "top_department": [DEPARTMENT_NAMES[LEAF_DEPARTMENT[t]] for t in top_leaves[:, 0]],
        "top_category": [LEAVES[t].path for t in top_leaves[:, 0]],
        "favourite_brand_1": favourite_brands[:, 0], "favourite_brand_2": favourite_brands[:, 1],
    })
    preferences = pd.DataFrame({
        "customer_id": np.repeat(ids, len(LEAVES)),
        "category": np.tile([leaf.path for leaf in LEAVES], n),
        "affinity": affinity.ravel(),
    })
    return Population(customers, truth, preferences, ids, signup, lapse, churn, rate, price_sensitivity,
                      np.log(affinity), top_leaves, favourite_brands, channel, country, language)


def daily_purchase_intensity(pop: Population, days: int, lapse_factor: float) -> np.ndarray:
    """Expected orders per day from the customers present that day (before seasonality and prices).

    Built with difference arrays: each customer adds its rate from sign-up to lapse, a fraction of it
    while lapsing, nothing after churn.
    """
    diff = np.zeros(days + 1)
    per_day = pop.rate / 365.0

    def add(first: np.ndarray, last: np.ndarray, amount: np.ndarray) -> None:
        lo, hi = np.clip(first, 0, days), np.clip(last, 0, days)
        keep = hi > lo
        np.add.at(diff, lo[keep], amount[keep])
        np.add.at(diff, hi[keep], -amount[keep])

    add(pop.signup_day, pop.lapse_day, per_day)
    add(np.maximum(pop.signup_day, pop.lapse_day), pop.churn_day, per_day * lapse_factor)
    return np.cumsum(diff)[:days]


def visit_weights(pop: Population, day: int, lapse_factor: float) -> np.ndarray:
    """Relative chance of each customer to shop on ``day``: zero unless signed up and not churned."""
    present = (pop.signup_day <= day) & (day < pop.churn_day)
    lapsing = day >= pop.lapse_day
    return np.where(present, pop.rate * np.where(lapsing, lapse_factor, 1.0), 0.0)


def state_on(truth: pd.DataFrame, day: int) -> pd.Series:
    """Each customer's latent state on a day index: not_signed_up, active, lapsing or churned."""
    state = np.select(
        [truth["signup_day"] > day, truth["churn_day"] <= day, truth["lapse_day"] <= day],
        ["not_signed_up", "churned", "lapsing"], default="active")
    return pd.Series(state, index=truth["customer_id"], name="state")
