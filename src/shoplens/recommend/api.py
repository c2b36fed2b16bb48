"""The recommend capability on a workspace: train and register a model, evaluate it against the baselines
on a protocol-labelled split, recommend for a customer, list similar products, and score every customer
into the warehouse.

```python
import shoplens as sl
from shoplens.recommend import api
ws = sl.Workspace.open("shop")
card = api.train(ws, deploy=True)                       # the candidate best on validation, registered
card.params["selection"]                                 # every candidate's validation score
api.for_user(ws, "C000042", k=5)                         # rank, product_id, title, score, reason (+ graph path)
records = api.evaluate(ws)                               # ours and the baselines, per-user stratified 75/25
```
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoplens.errors import InputError, NotFound
from shoplens.recommend.base import Recommender
from shoplens.recommend.data import ITEM, USER, interactions_frame, products_frame, run_sql
from shoplens.recommend.persist import ARRAYS_FILE, MODELS

REGISTRY_NAME = "recommend"
DEFAULT_MODEL = "auto"  # AutoRecommender: the candidate that scores best on validation
# the demo profile chooses among the closed-form candidates (seconds on the demo shop; the text hybrid's encoder
# and SASRec's training would multiply `shoplens demo`'s time for recommendations), within this many seconds
DEMO_TIME_BUDGET = 20.0
BASELINES = ("popularity", "itemknn", "ease")
TOP_K_TABLE = "recommend_top_k"
EVALUATION_FILE = "recommend_evaluation.json"
HISTORY_SQL = """
SELECT i.ts, i.kind, i.product_id, p.title, p.category, i.weight
FROM interactions i LEFT JOIN products p USING (product_id)
WHERE i.customer_id = ? AND i.weight > 0 ORDER BY i.ts DESC NULLS LAST, i.product_id, i.kind LIMIT ?
"""
# (folder, version) → ((inode, mtime) of the arrays file, model)
_CACHE: dict[tuple[str, str], tuple[tuple[int, int], Recommender]] = {}
_CACHE_LOCK = threading.Lock()


def model_names() -> list[str]:
    return sorted(MODELS)


def make_model(name: str = DEFAULT_MODEL, **params: Any) -> Recommender:
    """A new, unfitted model by name (``auto``, ``session_ease``, ``ease``, ``itemknn``, ``als``, ``bpr``, ``sasrec``
    …)."""
    names = model_names()
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; models are {', '.join(names)}")
    return MODELS[name](**params)


def _catalogue(ws: Any, name: str, products: pd.DataFrame | None) -> Any:
    """What a model reads beside the interactions: the products frame, or the workspace itself for models
    that read more of it (the knowledge graph's ``kg_triples``, the text models' embedding cache)."""
    return ws if MODELS[name].reads_workspace else products


def split_interactions(frame: pd.DataFrame, split: str = "stratified", seed: int = 42) -> Any:
    """A protocol split of interactions and its label: ``stratified`` (per user 75/25), ``temporal``
    (global 80/20 in time) or ``leave_one_out`` (last item per user)."""
    from shoplens.evaluation.records import Protocol
    from shoplens.recommend import splits

    if split == "stratified":
        return splits.stratified_split(frame, 0.75, seed), Protocol(
            split="per_user_stratified", ratio=[0.75, 0.25], seed=seed, candidates="full", k=10)
    if split == "temporal":
        return splits.temporal_split(frame, 0.8), Protocol(split="temporal", ratio=[0.8, 0.2], candidates="full",
                                                           k=10)
    if split == "leave_one_out":
        return splits.leave_one_out(frame, validation=False), Protocol(split="leave_one_out", candidates="full", k=10)
    raise InputError(f"unknown split {split!r}; use stratified, temporal or leave_one_out")


def train(ws: Any, model: str = DEFAULT_MODEL, *, params: dict[str, Any] | None = None, deploy: bool = False,
          evaluate_first: bool = True, seed: int = 42) -> Any:
    """Fit ``model`` on all interactions of the workspace and register it (name ``recommend``).

    With ``evaluate_first`` the card carries the model's metrics on a per-user stratified 75/25 split
    (fitted on the 75 %, tested on the 25 %) beside popularity's, so every registered model says how
    good it is; the registered model itself is then fitted on everything."""

    frame = interactions_frame(ws)
    products = products_frame(ws)
    metrics: list[dict[str, Any]] = []
    if evaluate_first:
        metrics = [r.to_json_dict() for r in evaluate(ws, models=(model,), baselines=("popularity",),
                                                      params={model: params or {}}, seed=seed, frame=frame)]
    fitted = make_model(model, **(params or {})).fit(frame, _catalogue(ws, model, products))
    chose = f" (chose {fitted.chosen_} on validation)" if hasattr(fitted, "chosen_") else ""
    return fitted.register(ws, deploy=deploy, metrics=metrics,
                           notes=f"{model}{chose} on {len(frame):,} interactions of {len(fitted.user_ids_):,} "
                                 f"customers and {len(fitted.item_ids_):,} products")


def profile_params(profile: str) -> dict[str, Any]:
    """The default model's parameters for a pipeline profile (``demo``: the closed-form candidates, a short time
    budget; ``full``: every default candidate the data suit, the default budget)."""
    from shoplens.recommend.auto import closed_form_candidates

    if profile != "demo":
        return {}
    return {"candidates": tuple(closed_form_candidates()), "time_budget": DEMO_TIME_BUDGET}


def evaluate(ws: Any, models: tuple[str, ...] = (DEFAULT_MODEL,), *, baselines: tuple[str, ...] = BASELINES,
             split: str = "stratified", seed: int = 42, ks: tuple[int, ...] = (10, 20),
             params: dict[str, dict[str, Any]] | None = None, frame: pd.DataFrame | None = None,
             max_customers: int | None = None) -> list[Any]:
    """Benchmark records of ``models`` (role ours) and ``baselines`` on one protocol split of the workspace; with
    ``max_customers``, every model is scored on the same random sample of that many test customers (said in the
    protocol's notes), trained on the whole training part as usual."""
    from shoplens.recommend.evaluate import evaluate_model, record_for

    frame = interactions_frame(ws) if frame is None else frame
    products = products_frame(ws)
    pieces, protocol = split_interactions(frame, split, seed)
    test_customers = pieces.test[USER].nunique()
    if max_customers is not None and test_customers > max_customers:
        chosen = pd.Series(pieces.test[USER].unique()).sample(n=max_customers, random_state=seed)
        pieces = pieces._replace(test=pieces.test[pieces.test[USER].isin(set(chosen))])
        protocol = protocol.model_copy(update={"notes": f"scored on a random sample of {max_customers:,} of the "
                                                        f"{test_customers:,} test customers (seed {seed})"})
    records = []
    for name in dict.fromkeys((*models, *baselines)):
        model = make_model(name, **(params or {}).get(name, {})).fit(pieces.train, _catalogue(ws, name, products))
        metrics = evaluate_model(model, pieces.test, ks=ks)
        role = "ours" if name in models else "baseline"
        records.append(record_for(model, metrics, dataset=_dataset_name(ws), protocol=protocol, role=role,
                                  notes=f"interactions view of {getattr(ws, 'path', 'the workspace')}"))
    return records


def save_evaluation(ws: Any, records: list[Any]) -> Path:
    """Keep the latest evaluation of the workspace (for the report and the dashboard)."""
    import json

    target = ws.dir("reports") / EVALUATION_FILE
    target.write_text(json.dumps([r.to_json_dict() for r in records], indent=2), encoding="utf-8")
    return target


def latest_evaluation(ws: Any) -> list[dict[str, Any]]:
    """The records saved by :func:`save_evaluation` (empty when there are none)."""
    import json

    target = ws.dir("reports") / EVALUATION_FILE
    return json.loads(target.read_text(encoding="utf-8")) if target.exists() else []


def selection_rows(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The candidates an AutoRecommender scored on validation, as its card lists them (best first): candidate, the
    validation metric, status, parameters, seconds. Empty for another model. One builder for the CLI and report."""
    metric = params.get("metric")
    return [{"candidate": r["candidate"], "metric": metric, "value": r.get(metric), "status": r["status"],
             "params": dict(r.get("params") or {}), "seconds": r.get("seconds")}
            for r in params.get("selection") or []]


def _dataset_name(ws: Any) -> str:
    """``simulator_<shop>`` for a simulated shop (it has ``truth/``), else ``shop_<shop>``."""
    simulated = (Path(ws.path) / "truth").is_dir()
    name = "".join(c if c.isalnum() else "_" for c in ws.config.name.lower()).strip("_") or "shop"
    return f"simulator_{name}" if simulated else f"shop_{name}"


def load(ws: Any, version: str = "deployed") -> Recommender:
    """The registered model (deployed, else the latest), loaded once per process and version, and again when
    the version's files were rewritten (an erasure scrubs customers from them in place)."""
    from shoplens.registry import ModelRegistry

    folder = ModelRegistry(ws).path(REGISTRY_NAME, version)
    key = (str(folder.resolve()), version)
    stat = (folder / ARRAYS_FILE).stat()
    written = (stat.st_ino, stat.st_mtime_ns)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None or cached[0] != written:
            cached = _CACHE[key] = (written, Recommender.load(folder))
        return cached[1]


def for_user(ws: Any, customer_id: str, k: int = 10, *, version: str = "deployed") -> pd.DataFrame:
    """Top-``k`` recommendations with explanations for one customer from the registered model; when the
    workspace has a product graph, an explanation names the graph path (``path``, ``path_kind``) where one
    connects the product to the customer's purchases (:mod:`shoplens.recommend.graph_paths`)."""
    from shoplens.recommend.graph_paths import explain_with_graph

    return explain_with_graph(ws, load(ws, version).recommend(str(customer_id), k), str(customer_id))


def similar(ws: Any, product_id: str, k: int = 10, *, version: str = "deployed") -> pd.DataFrame:
    """Products similar to one product under the registered model."""
    return load(ws, version).similar(str(product_id), k)


def history(source: Any, customer_id: str, limit: int = 20) -> pd.DataFrame:
    """A customer's latest interactions with product titles, newest first (a workspace or a connection)."""
    frame = run_sql(source, HISTORY_SQL, [str(customer_id), int(limit)])
    if frame.empty:
        known = run_sql(source, "SELECT count(*) AS n FROM customers WHERE customer_id = ?", [str(customer_id)])
        if not known["n"].iloc[0]:
            raise NotFound(f"unknown customer {customer_id!r}")
    return frame


def active_customers(source: Any, limit: int = 30) -> pd.DataFrame:
    """The customers with the most interactions (for pickers)."""
    return run_sql(source, """SELECT customer_id, count(*) AS interactions FROM interactions WHERE weight > 0
                              GROUP BY customer_id ORDER BY interactions DESC, customer_id LIMIT ?""", [int(limit)])


def score_all(ws: Any, model: Recommender | None = None, k: int = 10, *, table: str = TOP_K_TABLE,
              progress: bool = False) -> int:
    """Top-``k`` for every customer the model knows, with explanations, into the warehouse table ``table``
    (replaced in one transaction). Returns the number of rows written."""
    from shoplens.recommend.serving import batch_recommendations

    model = model or load(ws)
    frame = batch_recommendations(model, k, progress=progress)
    with ws.connect(read_only=False, command="shoplens recommend score") as con:
        con.execute("BEGIN TRANSACTION")
        con.register("recs", frame)
        con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM recs ORDER BY {USER}, rank')
        con.unregister("recs")
        con.execute("COMMIT")
    return len(frame)


def interactions_until(ws: Any) -> str | None:
    """The time of the newest interaction (ISO text; ``None`` when none has a time): what a model fitted now has
    seen, for :func:`rescore_since` later."""
    value = ws.sql("SELECT max(ts) AS ts FROM interactions WHERE weight > 0")["ts"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()


def rescore_since(ws: Any, model: Recommender, since: str, k: int = 10, *, table: str = TOP_K_TABLE) -> dict[str, int]:
    """Without refitting ``model``: add the interactions after ``since`` to its customers' histories
    (:meth:`Recommender.extend_history`) and recompute the top-``k`` of the customers who have such interactions,
    replacing their rows of ``table``. Customers the model does not know get no rows (the service answers them
    with popular products) until the next refit. Counts of what was done."""
    from shoplens.recommend.serving import batch_recommendations

    recent = ws.sql("SELECT customer_id, product_id, ts, kind, weight FROM interactions WHERE weight > 0 AND ts > ? "
                    "ORDER BY customer_id, ts, product_id, kind", [pd.Timestamp(since).to_pydatetime()])
    if recent.empty:
        return {"new interactions": 0, "customers rescored": 0, "unknown customers": 0}
    model.extend_history(recent)
    users = model.user_indices(recent[USER].astype(str).unique())
    known = np.unique(users[users >= 0])
    frame = batch_recommendations(model, k, users=known)
    with ws.connect(read_only=False, command="shoplens recommend score (changed customers)") as con:
        con.execute("BEGIN TRANSACTION")
        con.register("recs", frame)
        con.register("changed", pd.DataFrame({USER: model.user_ids_[known]}))
        con.execute(f'DELETE FROM "{table}" WHERE {USER} IN (SELECT {USER} FROM changed)')
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM recs')
        con.unregister("recs")
        con.unregister("changed")
        con.execute("COMMIT")
    return {"new interactions": len(recent), "customers rescored": len(known),
            "unknown customers": int((users < 0).sum())}


def stored(ws: Any, customer_id: str, *, table: str = TOP_K_TABLE) -> pd.DataFrame:
    """The batch-scored recommendations of one customer from the warehouse."""
    if table not in ws.table_names():
        raise NotFound(f"no table {table!r}: run `shoplens recommend score` (or `shoplens run`) first")
    return ws.sql(f'SELECT rank, {ITEM}, title, score, reason FROM "{table}" WHERE {USER} = ? ORDER BY rank',
                  [str(customer_id)])
