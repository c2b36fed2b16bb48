"""Drift: how far the data that arrived since a model was trained are from the data it was trained on.

The *reference* is what the warehouse held when the deployed model was trained: the rows of the ingest runs (and
event batches) that had finished when its registry card was written. The *new* data are the rows of the runs
after it — or, at an ingest, the rows of that one run. Each feature compares the two:

| feature | from | measure |
|---|---|---|
| review_length | reviews.body, characters | PSI over the reference's deciles |
| language_mix | reviews.language | PSI over the languages |
| star_distribution | reviews.rating | PSI over the stars |
| basket_size | units per order (order_items) | PSI over the reference's deciles |
| price_level | unit_price of the lines sold | PSI over the reference's deciles |
| category_mix | top-level category of the lines sold | PSI over the categories |
| interactions_per_day | events per day (order lines without events), the reference's last 8 weeks | PSI, deciles |
| unseen_products | share of the new lines and events whose product the reference never had | share |
| unseen_customers | share of the new orders whose customer the reference never had | share |

The population stability index ``PSI = Σ (new − ref) · ln(new / ref)`` over the bins of the reference; by
convention below 0.1 is stable, 0.1–0.25 a moderate shift (``warn``) and above 0.25 a significant one
(``alarm``). A feature with fewer than ``min_rows`` new rows (``min_days`` days) is ``too few rows``, never an
alarm. Every check is stored in the warehouse table ``drift_checks`` (docs/operations.md, "Drift").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from shoplens.errors import InputError, NotFound

if TYPE_CHECKING:
    import duckdb

    from shoplens.registry import ModelCard
    from shoplens.workspace import Workspace

TABLE = "drift_checks"
CREATE_SQL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    check_id VARCHAR, checked_at TIMESTAMP, "trigger" VARCHAR, model VARCHAR, model_version VARCHAR,
    reference_cutoff TIMESTAMP, feature VARCHAR, measure VARCHAR, value DOUBLE, warn DOUBLE, alarm DOUBLE,
    status VARCHAR, n_reference BIGINT, n_new BIGINT, detail VARCHAR)"""
DECILES = [i / 10 for i in range(1, 10)]
SMOOTHING = 0.5  # added to every bin's count: an empty bin gives a large, finite PSI instead of infinity
RECENT_DAYS = 56  # interactions_per_day: the reference's last eight weeks


@dataclass(frozen=True)
class Thresholds:
    """When a feature warns and when it raises the alarm (PSI, and the share of unseen products/customers)."""

    psi_warn: float = 0.1
    psi_alarm: float = 0.25
    unseen_warn: float = 0.1
    unseen_alarm: float = 0.25
    min_rows: int = 100
    min_days: int = 14

    def __post_init__(self) -> None:
        if not 0 < self.psi_warn <= self.psi_alarm or not 0 < self.unseen_warn <= self.unseen_alarm <= 1:
            raise InputError("drift thresholds: need 0 < warn ≤ alarm (and shares ≤ 1)")


@dataclass
class FeatureDrift:
    feature: str
    measure: str  # "psi" or "share"
    value: float | None
    warn: float
    alarm: float
    status: str  # ok, warn, alarm, too few rows
    n_reference: int
    n_new: int
    detail: str = ""


@dataclass
class DriftReport:
    """One comparison of new data with a deployed model's training data."""

    check_id: str
    checked_at: str
    trigger: str
    model: str
    model_version: str
    reference_cutoff: str
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def alarms(self) -> list[str]:
        return [f.feature for f in self.features if f.status == "alarm"]

    @property
    def drifted(self) -> bool:
        return bool(self.alarms)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "alarms": self.alarms}

    def line(self) -> str:
        """One sentence for the command line."""
        if not self.features:
            return f"drift: no new data since {self.model} {self.model_version} was trained"
        if self.alarms:
            return f"drift alarm on {', '.join(self.alarms)} (against the training data of {self.model})"
        return f"no drift alarm (against the training data of {self.model} {self.model_version})"


# -- features -----------------------------------------------------------------------------------------------
# Each feature is SQL over one side; ``{side}`` filters a table's rows (by alias) to the side's runs.
@dataclass(frozen=True)
class Feature:
    name: str
    tables: tuple[str, ...]  # tables whose rows it reads (an ingest into one of them checks it)
    kind: str  # numeric, categorical, share, daily
    sql: Callable[[Callable[[str], str]], str]


def _review_length(side: Callable[[str], str]) -> str:
    return f"SELECT CAST(length(r.body) AS DOUBLE) AS v FROM reviews r WHERE r.body IS NOT NULL AND {side('r')}"


def _language(side: Callable[[str], str]) -> str:
    return f"SELECT coalesce(lower(r.language), 'unknown') AS v FROM reviews r WHERE {side('r')}"


def _stars(side: Callable[[str], str]) -> str:
    return ("SELECT CAST(CAST(r.rating AS INTEGER) AS VARCHAR) AS v FROM reviews r "
            f"WHERE r.rating IS NOT NULL AND {side('r')}")


def _basket(side: Callable[[str], str]) -> str:
    return (f"SELECT CAST(sum(i.quantity) AS DOUBLE) AS v FROM order_items i WHERE i.quantity > 0 AND {side('i')} "
            "GROUP BY i.order_id")


def _price(side: Callable[[str], str]) -> str:
    return f"SELECT CAST(i.unit_price AS DOUBLE) AS v FROM order_items i WHERE i.unit_price > 0 AND {side('i')}"


def _category(side: Callable[[str], str]) -> str:
    return ("SELECT coalesce(nullif(trim(split_part(p.category, '>', 1)), ''), 'unknown') AS v "
            f"FROM order_items i LEFT JOIN products p USING (product_id) WHERE i.quantity > 0 AND {side('i')}")


def _events_per_day(side: Callable[[str], str]) -> str:
    return f"SELECT CAST(e.event_ts AS DATE) AS day FROM events e WHERE e.event_ts IS NOT NULL AND {side('e')}"


def _lines_per_day(side: Callable[[str], str]) -> str:
    return (f"SELECT CAST(o.order_ts AS DATE) AS day FROM order_items i JOIN orders o USING (order_id) "
            f"WHERE o.order_ts IS NOT NULL AND {side('i')}")


FEATURES = (
    Feature("review_length", ("reviews",), "numeric", _review_length),
    Feature("language_mix", ("reviews",), "categorical", _language),
    Feature("star_distribution", ("reviews",), "categorical", _stars),
    Feature("basket_size", ("order_items",), "numeric", _basket),
    Feature("price_level", ("order_items",), "numeric", _price),
    Feature("category_mix", ("order_items",), "categorical", _category),
    Feature("interactions_per_day", ("events", "order_items"), "daily", _events_per_day),
    Feature("unseen_products", ("order_items", "events"), "share", lambda side: ""),
    Feature("unseen_customers", ("orders",), "share", lambda side: ""),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)


# -- which rows are the reference, which are new ----------------------------------------------------------
def reference_card(ws: Workspace, model: str | None = None) -> ModelCard | None:
    """The deployed card whose training data are the reference: ``model``'s, or the newest deployed one."""
    deployed = ws.models.deployed()
    if model is not None:
        if model not in deployed:
            raise NotFound(f"no deployed model {model!r}; deployed: {', '.join(deployed) or 'none'}")
        return deployed[model]
    return max(deployed.values(), key=lambda c: c.created_at) if deployed else None


def _runs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dt.datetime]]:
    """(run id, when it finished) of every ingest run and event batch that loaded rows."""
    runs = con.execute("SELECT run_id, finished_at FROM ingest_runs WHERE status = 'ok'").fetchall()
    if has_table(con, "event_batches"):
        runs += con.execute("SELECT batch_id, committed_at FROM event_batches").fetchall()
    return [(run, when) for run, when in runs if when is not None]


def _cutoff(card: ModelCard) -> dt.datetime:
    created = dt.datetime.fromisoformat(card.created_at)
    # cards keep whole seconds: a run that finished within the card's second is counted as reference
    return (created.astimezone(dt.UTC).replace(tzinfo=None) if created.tzinfo else created) + dt.timedelta(seconds=1)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # not shoplens.workspace.has_table: ingest imports this module, and the workspace imports ingest
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                            "AND table_name = ?", [name]).fetchone()[0])


# -- the comparison --------------------------------------------------------------------------------------
def check_drift(ws: Workspace, *, model: str | None = None, new_runs: list[str] | None = None,
                trigger: str = "check", thresholds: Thresholds | None = None, store: bool = True) -> DriftReport | None:
    """Compare new data with the training data of the deployed ``model`` (default: the newest deployed one).

    ``new_runs``: the runs whose rows are new (an ingest passes its own); default every run after the model's
    training. ``None`` when no model is deployed (nothing to compare with)."""
    card = reference_card(ws, model)
    if card is None:
        return None
    limits = thresholds or Thresholds()
    cutoff = _cutoff(card)
    with ws.connect() as con:
        runs = _runs(con)
        reference = [run for run, when in runs if when < cutoff]
        new = new_runs if new_runs is not None else [run for run, when in runs if when >= cutoff]
        touched = _tables_of(con, new)
        features = [_compare(con, f, reference, new, limits) for f in FEATURES if set(f.tables) & touched]
    report = DriftReport(check_id=f"drift-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S%f')}",
                         checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), trigger=trigger,
                         model=card.name, model_version=card.version, reference_cutoff=cutoff.isoformat(),
                         features=features)
    if store and features:
        save(ws, report)
    return report


def _tables_of(con: duckdb.DuckDBPyConnection, runs: list[str]) -> set[str]:
    """The canonical tables that the runs loaded rows into."""
    if not runs:
        return set()
    marks = ", ".join("?" for _ in runs)
    found = {row[0] for row in con.execute(
        f'SELECT DISTINCT "table" FROM ingest_runs WHERE run_id IN ({marks})', runs).fetchall()}
    if has_table(con, "event_batches") and con.execute(
            f"SELECT count(*) FROM event_batches WHERE batch_id IN ({marks})", runs).fetchone()[0]:
        found.add("events")
    return found


def _side(runs: list[str]) -> Callable[[str], str]:
    # run ids are ours (table-timestamp-hex, batch ids checked by the service): still quoted as literals
    listed = ", ".join("'" + r.replace("'", "''") + "'" for r in runs) or "NULL"
    return lambda alias: f"{alias}._ingest_run IN ({listed})"


def _compare(con: duckdb.DuckDBPyConnection, feature: Feature, reference: list[str], new: list[str],
             limits: Thresholds) -> FeatureDrift:
    ref_side, new_side = _side(reference), _side(new)
    if feature.kind == "share":
        return _unseen(con, feature.name, ref_side, new_side, limits)
    if feature.kind == "daily":
        return _daily(con, feature, ref_side, new_side, limits)
    ref_sql, new_sql = feature.sql(ref_side), feature.sql(new_side)
    if feature.kind == "numeric":
        ref_counts, new_counts, detail = _numeric_bins(con, ref_sql, new_sql)
    else:
        ref_counts, new_counts, detail = _category_bins(con, ref_sql, new_sql)
    return _psi_result(feature.name, ref_counts, new_counts, limits, limits.min_rows, detail)


def _numeric_bins(con: duckdb.DuckDBPyConnection, ref_sql: str, new_sql: str) -> tuple[list[int], list[int], str]:
    """Counts per bin of the reference's deciles (repeated edges merged: a discrete feature gets fewer bins)."""
    edges = con.execute(f"SELECT quantile_cont(v, {DECILES}) FROM ({ref_sql}) WHERE v IS NOT NULL").fetchone()[0]
    edges = sorted(set(edges or []))
    if not edges:
        return [], [int(con.execute(f"SELECT count(v) FROM ({new_sql})").fetchone()[0])], ""
    bin_of = " + ".join(f"CAST(v > {float(e)!r} AS INTEGER)" for e in edges)

    def counts(sql: str) -> list[int]:
        query = f"SELECT {bin_of} AS b, count(*) FROM ({sql}) WHERE v IS NOT NULL GROUP BY b"
        rows = dict(con.execute(query).fetchall())
        return [int(rows.get(b, 0)) for b in range(len(edges) + 1)]
    medians = con.execute(f"SELECT (SELECT median(v) FROM ({ref_sql})), (SELECT median(v) FROM ({new_sql}))").fetchone()
    return counts(ref_sql), counts(new_sql), f"median {_num(medians[0])} → {_num(medians[1])}"


def _category_bins(con: duckdb.DuckDBPyConnection, ref_sql: str, new_sql: str) -> tuple[list[int], list[int], str]:
    """Counts per category of the reference (those under 1 % of it, and new ones, pooled as ``(other)``)."""
    ref = dict(con.execute(f"SELECT v, count(*) FROM ({ref_sql}) GROUP BY v").fetchall())
    new = dict(con.execute(f"SELECT v, count(*) FROM ({new_sql}) GROUP BY v").fetchall())
    total = sum(ref.values()) or 1
    kept = sorted(k for k, n in ref.items() if n / total >= 0.01)
    ref_counts = [ref[k] for k in kept] + [sum(n for k, n in ref.items() if k not in kept)]
    new_counts = [new.get(k, 0) for k in kept] + [sum(n for k, n in new.items() if k not in kept)]
    new_total = sum(new.values()) or 1
    moved = sorted(kept, key=lambda k: -abs(new.get(k, 0) / new_total - ref[k] / total))[:2]
    detail = "; ".join(f"{k}: {ref[k] / total:.0%} → {new.get(k, 0) / new_total:.0%}" for k in moved)
    return ref_counts, new_counts, detail


def _daily(con: duckdb.DuckDBPyConnection, feature: Feature, ref_side: Callable[[str], str],
           new_side: Callable[[str], str], limits: Thresholds) -> FeatureDrift:
    """Rows per day: events when the reference has events, order lines otherwise; the reference is its last
    ``RECENT_DAYS`` days (a shop's volume trends: what matters is the level the model saw last)."""
    source = feature.sql if con.execute(f"SELECT count(*) FROM ({_events_per_day(ref_side)})").fetchone()[0] \
        else _lines_per_day
    per_day = "SELECT CAST(count(*) AS DOUBLE) AS v, day FROM ({}) GROUP BY day"
    recent = f"SELECT v FROM ({per_day.format(source(ref_side))}) ORDER BY day DESC LIMIT {RECENT_DAYS}"
    ref_counts, new_counts, detail = _numeric_bins(con, recent, per_day.format(source(new_side)))
    return _psi_result(feature.name, ref_counts, new_counts, limits, limits.min_days, detail + " a day")


def _unseen(con: duckdb.DuckDBPyConnection, name: str, ref_side: Callable[[str], str],
            new_side: Callable[[str], str], limits: Thresholds) -> FeatureDrift:
    if name == "unseen_products":
        known = (f"SELECT product_id FROM products p WHERE {ref_side('p')} UNION SELECT product_id FROM order_items i "
                 f"WHERE {ref_side('i')} UNION SELECT product_id FROM events e WHERE {ref_side('e')}")
        new = (f"SELECT product_id AS id FROM order_items i WHERE {new_side('i')} UNION ALL "
               f"SELECT product_id FROM events e WHERE e.product_id IS NOT NULL AND {new_side('e')}")
        n_ref = con.execute(f"SELECT count(*) FROM ({known})").fetchone()[0]
    else:
        known = (f"SELECT customer_id FROM customers c WHERE {ref_side('c')} UNION SELECT customer_id FROM orders o "
                 f"WHERE {ref_side('o')}")
        new = f"SELECT customer_id AS id FROM orders o WHERE o.customer_id IS NOT NULL AND {new_side('o')}"
        n_ref = con.execute(f"SELECT count(*) FROM ({known})").fetchone()[0]
    column = "product_id" if name == "unseen_products" else "customer_id"
    n_new, unseen = con.execute(f"SELECT count(*), count(*) FILTER (WHERE id NOT IN (SELECT {column} FROM ({known}) "
                                f"WHERE {column} IS NOT NULL)) FROM ({new}) WHERE id IS NOT NULL").fetchone()
    share = unseen / n_new if n_new else None
    status = _status(share, limits.unseen_warn, limits.unseen_alarm, n_new >= limits.min_rows)
    return FeatureDrift(name, "share", None if share is None else round(share, 4), limits.unseen_warn,
                        limits.unseen_alarm, status, int(n_ref), int(n_new), f"{unseen:,} of {n_new:,} rows")


def psi(reference: list[int], new: list[int]) -> float:
    """Population stability index of two histograms over the same bins (counts smoothed by ``SMOOTHING``)."""
    if len(reference) != len(new) or not reference:
        raise InputError("psi: two histograms over the same bins")
    ref_total = sum(reference) + SMOOTHING * len(reference)
    new_total = sum(new) + SMOOTHING * len(new)
    value = 0.0
    for r, n in zip(reference, new, strict=True):
        p, q = (r + SMOOTHING) / ref_total, (n + SMOOTHING) / new_total
        value += (q - p) * math.log(q / p)
    return value


def _psi_result(name: str, ref_counts: list[int], new_counts: list[int], limits: Thresholds, minimum: int,
                detail: str) -> FeatureDrift:
    n_ref, n_new = sum(ref_counts), sum(new_counts)
    enough = n_ref >= minimum and n_new >= minimum
    value = round(psi(ref_counts, new_counts), 4) if ref_counts and n_ref and n_new else None
    return FeatureDrift(name, "psi", value, limits.psi_warn, limits.psi_alarm,
                        _status(value, limits.psi_warn, limits.psi_alarm, enough), n_ref, n_new, detail)


def _status(value: float | None, warn: float, alarm: float, enough: bool) -> str:
    if value is None or not enough:
        return "too few rows"
    return "alarm" if value >= alarm else "warn" if value >= warn else "ok"


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.4g}"


# -- storage --------------------------------------------------------------------------------------------
def save(ws: Workspace, report: DriftReport) -> None:
    """Append the report's features to ``drift_checks`` (one transaction)."""
    rows = [(report.check_id, dt.datetime.fromisoformat(report.checked_at).replace(tzinfo=None), report.trigger,
             report.model, report.model_version, dt.datetime.fromisoformat(report.reference_cutoff), f.feature,
             f.measure, f.value, f.warn, f.alarm, f.status, f.n_reference, f.n_new, f.detail)
            for f in report.features]
    with ws.connect(read_only=False, command="drift check") as con:
        con.execute(CREATE_SQL)
        con.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' for _ in range(15))})", rows)


def latest(con: duckdb.DuckDBPyConnection, limit_checks: int = 1) -> list[dict[str, Any]]:
    """The features of the latest ``limit_checks`` drift checks, newest first (none stored: empty)."""
    if not has_table(con, TABLE):
        return []
    cursor = con.execute(
        f"SELECT * FROM {TABLE} WHERE check_id IN (SELECT check_id FROM {TABLE} GROUP BY check_id "
        f"ORDER BY max(checked_at) DESC, check_id DESC LIMIT ?) ORDER BY checked_at DESC, check_id DESC, feature",
        [limit_checks])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
