"""Prices, promotions and demand per product and day: where the known elasticities live.

Expected order lines of product p on day d::

    mu[p, d] = scale · intensity[d] · popularity[p] · exp(week[d] + season[dept(p), d])
               · (net_price[p, d] / reference_price[p]) ** elasticity[p]
               · exp(hidden_lift[p, d] + shock[p, d])

and the drawn lines are Poisson(mu · Gamma(k, 1/k)), i.e. negative binomial (overdispersed). The
confounders are what make elasticities hard to recover, by design (docs/simulator.md):

- the shop runs more promotions when its department is out of season and moves regular prices with
  the season (removed by department × week fixed effects);
- every promotion comes with an unrecorded lift (display, newsletter) on top of its price effect, and
  some regular price cuts are featured for a few days (the first is absorbed by a promotion control,
  the second is not: it biases every estimator a little);
- persistent demand shocks (AR(1)) and viral spikes, to which regular price changes react mildly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.data.synth.config import DemandShift, Difficulty
from shoplens.data.synth.vocab import DEPARTMENTS

DEPARTMENT_NAMES = tuple(DEPARTMENTS)
# Day-of-week multipliers on the log scale (Monday first): weekends sell more online.
WEEKDAY_LOG = np.log(np.array([0.97, 0.93, 0.94, 0.98, 1.02, 1.06, 1.10]))
# Mean regime length of a regular price, and how far a price may wander from the reference.
PRICE_CHANGE_EVERY_DAYS = 28
PRICE_BAND = np.log(1.35)
PROMO_START_RATE = 1 / 50
PROMO_DISCOUNTS = np.array([0.10, 0.15, 0.20, 0.25, 0.30, 0.40])
PROMO_DISCOUNT_WEIGHTS = np.array([0.22, 0.22, 0.24, 0.14, 0.12, 0.06])
FEATURE_DAYS = 5
# Sitewide sales: (name, month, day, length in days, share of products, discount range).
SITEWIDE = (("new_year_sale", 1, 1, 6, 0.30, (0.15, 0.30)), ("summer_sale", 7, 1, 14, 0.35, (0.15, 0.30)),
            ("singles_day", 11, 11, 1, 0.40, (0.10, 0.25)))


@dataclass
class Calendar:
    """Seasonality per day: the global weekly/holiday pattern and each department's yearly season."""

    dates: pd.DatetimeIndex
    week_log: np.ndarray  # days
    season_log: np.ndarray  # departments × days, includes holidays

    def frame(self) -> pd.DataFrame:
        out = pd.DataFrame({"day": self.dates.date, "weekday_log": self.week_log})
        for k, name in enumerate(DEPARTMENT_NAMES):
            out[f"season_log:{name}"] = self.season_log[k]
        return out


@dataclass
class Demand:
    shelf_price: np.ndarray  # products × days, regular price on the shelf (rounded to cents)
    discount_rate: np.ndarray  # products × days, promotion discount as a fraction of the shelf price
    hidden_lift: np.ndarray  # products × days, log lift nobody records
    shock: np.ndarray  # products × days, log demand shock
    mu: np.ndarray  # products × days, expected order lines
    lines: np.ndarray  # products × days, drawn order lines
    promotions: pd.DataFrame  # one row per promotion episode
    price_changes: int


def black_friday(year: int) -> pd.Timestamp:
    """The day after the fourth Thursday of November."""
    first = pd.Timestamp(year=year, month=11, day=1)
    thursday = first + pd.Timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + pd.Timedelta(days=1)


def _holiday_log(dates: pd.DatetimeIndex) -> np.ndarray:
    """Traffic bumps shared by every department: Black Friday weekend, Christmas run-up and lull."""
    out = np.zeros(len(dates))
    for year in sorted(set(dates.year)):
        bf = black_friday(year)
        out += np.where((dates >= bf) & (dates <= bf + pd.Timedelta(days=3)), 0.55, 0.0)
        xmas = pd.Timestamp(year=year, month=12, day=1)
        out += np.where((dates >= xmas) & (dates <= xmas + pd.Timedelta(days=19)), 0.25, 0.0)
        out += np.where((dates >= xmas + pd.Timedelta(days=24)) & (dates <= xmas + pd.Timedelta(days=26)), -0.45, 0.0)
        singles = pd.Timestamp(year=year, month=11, day=11)
        out += np.where(dates == singles, 0.35, 0.0)
    return out


def build_calendar(start: pd.Timestamp, days: int, difficulty: Difficulty) -> Calendar:
    dates = pd.date_range(start, periods=days, freq="D")
    week = WEEKDAY_LOG[dates.day_of_week]
    doy = dates.day_of_year.to_numpy()
    holidays = _holiday_log(dates)
    rows = []
    for dept in DEPARTMENTS.values():
        peak, amp = (dept.peak_day, dept.season_amplitude) if difficulty.department_seasons else (330, 0.25)
        rows.append(amp * np.cos(2 * np.pi * (doy - peak) / 365.25) + holidays)
    return Calendar(dates, week, np.vstack(rows))


def _sitewide_promos(rng: np.random.Generator, dates: pd.DatetimeIndex, n_products: int,
                     launch_day: np.ndarray) -> list[tuple[int, int, int, float, str]]:
    """(product, first day, last day, discount, kind) for Black Friday and the calendar sales."""
    days = len(dates)
    starts: list[tuple[str, pd.Timestamp, int, float, tuple[float, float]]] = []
    for year in sorted(set(dates.year)):
        starts.append(("black_friday", black_friday(year), 4, 0.6, (0.20, 0.40)))
        for name, month, day, length, share, rng_disc in SITEWIDE:
            starts.append((name, pd.Timestamp(year=year, month=month, day=day), length, share, rng_disc))
    out = []
    for name, first, length, share, (lo, hi) in starts:
        d0 = int((first - dates[0]).days)
        if d0 + length <= 0 or d0 >= days:
            continue
        chosen = np.flatnonzero((rng.random(n_products) < share) & (launch_day <= max(d0, 0)))
        for p in chosen:
            disc = round(float(rng.uniform(lo, hi)) * 20) / 20  # 5% steps, as shops advertise them
            out.append((int(p), max(d0, 0), min(d0 + length, days) - 1, disc, name))
    return out


def _promotions(rng: np.random.Generator, season: np.ndarray, n_products: int, days: int, difficulty: Difficulty,
                launch_day: np.ndarray, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Promotion discount and hidden lift per product-day, and the table of episodes.

    Product promotions start more often when the product's department is out of season (clearance):
    a confounder of price and seasonal demand.
    """
    discount = np.zeros((n_products, days))
    lift = np.zeros((n_products, days))
    episodes = _sitewide_promos(rng, dates, n_products, launch_day)
    against_season = 4.0 * difficulty.price_follows_season / 0.06 if difficulty.price_follows_season else 0.0
    start_prob = np.clip(PROMO_START_RATE * np.exp(-against_season * season), 0, 0.2)
    busy_until = np.full(n_products, -1)
    draws = rng.random((n_products, days))
    for d in range(days):
        begin = np.flatnonzero((draws[:, d] < start_prob[:, d]) & (busy_until < d) & (launch_day <= d))
        if len(begin) == 0:
            continue
        length = rng.integers(3, 11, size=len(begin))
        disc = rng.choice(PROMO_DISCOUNTS, size=len(begin), p=PROMO_DISCOUNT_WEIGHTS)
        for p, n, r in zip(begin, length, disc, strict=True):
            episodes.append((int(p), d, min(d + int(n), days) - 1, float(r), "product"))
        busy_until[begin] = d + length + 7  # at least a week between a product's own promotions
    rows = []
    for p, d0, d1, disc, kind in episodes:
        hidden = max(float(rng.normal(difficulty.promo_hidden_lift, difficulty.promo_hidden_lift_sd)), 0.0)
        if difficulty.promo_hidden_lift == 0:
            hidden = 0.0
        discount[p, d0:d1 + 1] = np.maximum(discount[p, d0:d1 + 1], disc)
        lift[p, d0:d1 + 1] = np.maximum(lift[p, d0:d1 + 1], hidden)
        rows.append((p, d0, d1, disc, kind, hidden))
    table = pd.DataFrame(rows, columns=["product", "first_day", "last_day", "discount_rate", "kind", "hidden_log_lift"])
    return discount, lift, table.sort_values(["first_day", "product", "kind"], ignore_index=True)


def _shocks(rng: np.random.Generator, n_products: int, days: int, difficulty: Difficulty) -> np.ndarray:
    shock = np.zeros((n_products, days))
    phi, sd = difficulty.shock_ar, difficulty.shock_sd
    innovation = sd * np.sqrt(max(1 - phi**2, 1e-9))
    level = rng.normal(0, sd, n_products) if sd else np.zeros(n_products)
    spike = np.zeros(n_products)
    lo, hi = difficulty.spike_lift
    for d in range(days):
        if sd:
            level = phi * level + rng.normal(0, innovation, n_products)
        spike *= 0.6  # a viral spike fades within a week
        if difficulty.spike_rate:
            hit = rng.random(n_products) < difficulty.spike_rate
            spike[hit] += rng.uniform(lo, hi, hit.sum())
        shock[:, d] = level + spike
    return shock


def _round_price(price: np.ndarray) -> np.ndarray:
    """Shelf prices end in .99 above 5 (as shops price), else to the cent."""
    return np.where(price > 5, np.floor(price) + 0.99, np.round(price, 2))


def _regular_prices(rng: np.random.Generator, reference: np.ndarray, season: np.ndarray, shock: np.ndarray,
                    difficulty: Difficulty) -> tuple[np.ndarray, np.ndarray, int]:
    """Piecewise-constant regular prices; changes every few weeks, some of them featured (hidden lift).

    Returns the shelf prices, the hidden feature lift and the number of changes.
    """
    n, days = season.shape
    log_ref = np.log(reference)
    current = log_ref + rng.normal(0, 0.04, n)
    shelf = np.empty((n, days))
    feature = np.zeros((n, days))
    changes = 0
    draws = rng.random((n, days))
    for d in range(days):
        change = draws[:, d] < 1 / PRICE_CHANGE_EVERY_DAYS
        if d > 0 and change.any():
            idx = np.flatnonzero(change)
            target = (log_ref[idx] + 0.5 * (current[idx] - log_ref[idx]) + rng.normal(0, 0.09, len(idx))
                      + difficulty.price_follows_season / 0.25 * season[idx, d]
                      + difficulty.price_reacts_to_shock * shock[idx, d])
            new = np.clip(target, log_ref[idx] - PRICE_BAND, log_ref[idx] + PRICE_BAND)
            cut = new < current[idx]
            featured = idx[cut & (rng.random(len(idx)) < difficulty.feature_on_price_cut)]
            feature[featured, d:d + FEATURE_DAYS] = difficulty.feature_lift
            current[idx] = new
            changes += len(idx)
        shelf[:, d] = current
    return _round_price(np.exp(shelf)), feature, changes


def build_demand(rng: np.random.Generator, calendar: Calendar, intensity: np.ndarray, popularity: np.ndarray,
                 department: np.ndarray, reference: np.ndarray, elasticity: np.ndarray, launch_day: np.ndarray,
                 target_lines: float, difficulty: Difficulty, shift: DemandShift | None = None) -> Demand:
    """Prices, promotions and drawn order lines per product and day, scaled to ``target_lines`` expected (before
    a ``shift``, which then changes prices and demand from its day on)."""
    n, days = len(popularity), len(calendar.dates)
    season = calendar.season_log[department]  # products × days
    shock = _shocks(rng, n, days, difficulty)
    shelf, feature, changes = _regular_prices(rng, reference, season, shock, difficulty)
    discount, promo_lift, promotions = _promotions(rng, season, n, days, difficulty, launch_day, calendar.dates)
    net = shelf * (1 - discount)
    hidden = promo_lift + feature
    log_mu = (np.log(np.maximum(intensity, 1e-9))[None, :] + np.log(popularity)[:, None] + calendar.week_log[None, :]
              + season + elasticity[:, None] * np.log(net / reference[:, None]) + hidden + shock)
    mu = np.exp(log_mu)
    mu[np.arange(days)[None, :] < launch_day[:, None]] = 0.0
    mu *= target_lines / max(mu.sum(), 1e-9)
    rate = mu if difficulty.nb_shape is None else mu * rng.gamma(difficulty.nb_shape, 1 / difficulty.nb_shape, mu.shape)
    lines = rng.poisson(rate)
    if shift is not None:
        shelf = _apply_shift(shift, rng, mu, rate, lines, shelf, department, elasticity)
    return Demand(shelf, discount, hidden, shock, mu, lines, promotions, changes)


def _apply_shift(shift: DemandShift, rng: np.random.Generator, mu: np.ndarray, rate: np.ndarray, lines: np.ndarray,
                 shelf: np.ndarray, department: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    """Demand from the shift's day on (``mu`` and ``lines`` in place) and the new shelf prices (returned). The
    lines after the shift are drawn again from a generator of their own, so that every draw of ``rng`` — and with
    it the demand before the shift — stays exactly as without the shift."""
    after = slice(shift.day, None)
    by_department = np.array([shift.departments.get(name, 1.0) for name in DEPARTMENT_NAMES])
    factor = (shift.volume * by_department[department] * shift.price ** elasticity)[:, None]  # price effect too
    mu[:, after] *= factor
    own = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])  # type: ignore[attr-defined]
    lines[:, after] = own.poisson(rate[:, after] * factor)
    shelf = shelf.copy()
    shelf[:, after] = _round_price(shelf[:, after] * shift.price)
    return shelf
