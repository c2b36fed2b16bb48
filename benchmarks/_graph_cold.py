"""Cold-item recommendation on MovieLens-100K with RecBole's Freebase triples (issue 10, gate "Cold-item
recommendation on recbole_ml100k_kg"): part ``cold`` of benchmarks/graph.py.

Protocol (dataset ``recbole_ml100k_kg_cold``), per seed 0–4:

- data: movielens_100k ratings (u.data), products (u.item: titles with the year, genres) and the
  recbole_ml100k_kg triples (ml-100k.kg) with the item → entity links (ml-100k.link), each loaded by
  shoplens' own dataset loaders into a workspace;
- of the rated items linked to the graph, 20 % chosen at random (numpy ``default_rng(seed)``) become cold:
  all their ratings leave training;
- training interactions: the ratings ≥ 4 of the warm items (a "liked" item, the same definition as a
  test positive); every rating ≥ 4 of a cold item is a test positive;
- each customer with a test positive (and a training history) ranks all cold items; Recall@20 and
  NDCG@20 (binary relevance), the mean over those customers;
- settings are chosen on validation data only: inside the training part, 20 % of the linked warm items
  (``default_rng(seed + 100)``) are held out the same way, every grid point is fitted on the rest and
  scored by NDCG@20 on them; the best is refitted on the whole training part.

Models: ours ``kg_hybrid`` (shoplens.recommend.kg.KGHybrid); baselines (same run, same split) ``genre_profile``
(TagProfile: the genres of the customer's liked items), ``tfidf_text`` (TfidfKNN over title + genres) and
``content_map`` (ContentFactorMap: ridge map from genres, year and title to collaborative item factors
learned on the warm items). Gate: ours' mean NDCG@20 ≥ 1.05 × the best baseline's and better than it on at
least 4 of the 5 seeds.

Link quality. RecBole's ``ml-100k.link`` pairs item ids with Freebase films by MovieLens-1M ids, not
ML-100K's (RUCAIBox/RecSysDatasets issue #130). The benchmark measures it, without names: for each linked
item, its nearest other item in graph neighbourhood (entity cosine); the mean genre Jaccard (ML-100K genres)
of those pairs, beside the same with the links shuffled among the items (5 shuffles). Links that mean
something give pairs that share genres far more often than shuffled ones; the notes carry both figures.

Variants: ``as_shipped`` (the link file as distributed) always; ``relinked_by_title`` when MovieLens-1M's
``movies.dat`` (or a ``movies.csv`` with the same MovieLens movie ids) is given by ``$SHOPLENS_ML1M_MOVIES``:
each link's ML-1M id is read as that movie, matched to the ML-100K item of the same title and year, and
links that match no item are dropped. The file is never part of the repository.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoplens.evaluation.records import BenchmarkRecord, Protocol
from shoplens.recommend import ContentFactorMap, KGHybrid, Recommender, TagProfile, TfidfKNN
from shoplens.recommend.evaluate import evaluate_cold_items
from shoplens.recommend.kg import item_entities, tfidf_rows

BENCHMARK = "graph"
DATASET = "recbole_ml100k_kg_cold"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEEDS = (0, 1, 2, 3, 4)
COLD_SHARE = 0.2
LIKED = 4
KS = (20,)
METRIC = "ndcg@20"
OURS = "kg_hybrid"
ML1M_ENV = "SHOPLENS_ML1M_MOVIES"
# name → (role, class, grid chosen on validation, fixed parameters)
MODELS: dict[str, tuple[str, type[Recommender], dict[str, list[Any]]]] = {
    OURS: ("ours", KGHybrid, {"alpha": [3.0, 10.0, 30.0, 100.0, 300.0, 1000.0], "entity_weight": [0.0, 0.5, 1.0, 2.0],
                              "propagation": [0.0, 0.3, 0.6]}),
    "content_map": ("baseline", ContentFactorMap, {"alpha": [3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]}),
    "tfidf_text": ("baseline", TfidfKNN, {"neighbors": [20, 50, 100]}),
    "genre_profile": ("baseline", TagProfile, {}),
}


# -- data -------------------------------------------------------------------------------------------------

def load_data(folder: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Ratings (customer_id, product_id, rating), products (product_id, title, category) and triples, read
    by the movielens_100k and recbole_ml100k_kg loaders into a throw-away workspace."""
    import shoplens as sl
    from shoplens.data.datasets import load_dataset
    from shoplens.recommend.data import products_frame
    from shoplens.recommend.kg import triples_frame

    with tempfile.TemporaryDirectory(prefix="graph_cold_") as tmp:
        ws = sl.Workspace.init(Path(tmp) / "ws", name="graph_cold")
        load_dataset("movielens_100k", ws, (folder or DATA) / "movielens_100k")
        load_dataset("recbole_ml100k_kg", ws, (folder or DATA) / "recbole_ml100k_kg")
        ratings = ws.sql("SELECT customer_id, product_id, rating FROM ratings ORDER BY customer_id, product_id")
        products = products_frame(ws)[["product_id", "title", "category"]]
        triples = triples_frame(ws)
    return ratings, products, triples


def ml1m_titles(path: Path) -> pd.Series:
    """MovieLens movie id → 'Title (year)' from ML-1M's movies.dat (``id::title::genres``, Latin-1) or a
    ``movies.csv`` (movieId,title,genres) of the same id space."""
    if path.suffix == ".csv":
        frame = pd.read_csv(path, usecols=["movieId", "title"])
        return pd.Series(frame["title"].to_numpy(), index=frame["movieId"].astype(str))
    lines = path.read_text(encoding="latin-1").splitlines()
    fields = [line.split("::") for line in lines if line.strip()]
    return pd.Series([f[1] for f in fields], index=[f[0] for f in fields])


def _title_key(title: pd.Series) -> pd.Series:
    return title.str.lower().str.replace(r"[^a-z0-9()]+", " ", regex=True).str.strip()


def relink_by_title(triples: pd.DataFrame, products: pd.DataFrame, titles: pd.Series,
                    link_relation: str = "same_as") -> tuple[pd.DataFrame, int]:
    """The triples with each link's head (an ML-1M movie id) replaced by the ML-100K item of the same title
    and year; links without a match (or matching several items) are dropped. Returns them and how many
    links were kept."""
    links = triples[triples["relation"] == link_relation]
    key_of_ml1m = _title_key(titles)
    item_keys = _title_key(products["title"].astype(str))
    unique = item_keys[~item_keys.duplicated(keep=False)]
    item_of_key = pd.Series(products["product_id"].astype(str).to_numpy()[unique.index], index=unique.to_numpy())
    heads = links["head"].map(key_of_ml1m).map(item_of_key)
    relinked = links.assign(head=heads).dropna(subset=["head"]).drop_duplicates("head")
    return pd.concat([triples[triples["relation"] != link_relation], relinked], ignore_index=True), len(relinked)


def link_quality(triples: pd.DataFrame, products: pd.DataFrame, shuffles: int = 5) -> dict[str, float]:
    """Genre Jaccard of each linked item and its nearest graph neighbour, for the links as given and shuffled."""
    from shoplens.recommend.content import category_tags

    item_ids = products["product_id"].astype(str).to_numpy()
    genres = category_tags(products["category"].fillna("").to_numpy()).toarray() > 0

    def score(links_triples: pd.DataFrame) -> float:
        indicators, _ = item_entities(links_triples, item_ids)
        entities = tfidf_rows(indicators)
        linked = np.flatnonzero(entities.getnnz(axis=1) > 0)
        similarity = (entities[linked] @ entities[linked].T).toarray()
        np.fill_diagonal(similarity, -1.0)
        nearest = linked[similarity.argmax(axis=1)]
        a, b = genres[linked], genres[nearest]
        union = (a | b).sum(axis=1)
        return float(np.mean(np.where(union > 0, (a & b).sum(axis=1) / np.maximum(union, 1), 0.0)))

    rng = np.random.default_rng(0)
    links = triples["relation"] == "same_as"
    shuffled = []
    for _ in range(shuffles):
        copy = triples.copy()
        copy.loc[links, "tail"] = rng.permutation(copy.loc[links, "tail"].to_numpy())
        shuffled.append(score(copy))
    return {"genre_jaccard": score(triples), "genre_jaccard_shuffled": float(np.mean(shuffled))}


# -- protocol ---------------------------------------------------------------------------------------------

def cold_split(ratings: pd.DataFrame, linked: set[str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Training likes of the warm items, test positives of the cold ones, and the cold items."""
    candidates = np.sort(ratings.loc[ratings["product_id"].isin(linked), "product_id"].unique())
    count = round(COLD_SHARE * len(candidates))
    cold = np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False))
    is_cold = ratings["product_id"].isin(set(cold))
    liked = ratings["rating"] >= LIKED
    train = ratings[~is_cold & liked][["customer_id", "product_id"]]
    test = ratings[is_cold & liked][["customer_id", "product_id"]]
    return train, test, cold


def fit(make: type[Recommender], params: dict[str, Any], train: pd.DataFrame, products: pd.DataFrame,
        triples: pd.DataFrame) -> Recommender:
    model = make(**params)
    if isinstance(model, KGHybrid):
        return model.fit(train, products, triples=triples)
    return model.fit(train, products)


def choose(make: type[Recommender], grid: dict[str, list[Any]], train: pd.DataFrame, products: pd.DataFrame,
           triples: pd.DataFrame, linked: set[str], seed: int) -> tuple[dict[str, Any], str]:
    """The grid point with the best validation NDCG@20 (warm items held out of the training part)."""
    if not grid:
        return {}, "no setting to choose"
    fit_part, validation, held = cold_split(train.assign(rating=LIKED), linked, seed + 100)
    trials = []
    for values in product(*grid.values()):
        params = dict(zip(grid, values, strict=True))
        model = fit(make, params, fit_part, products, triples)
        trials.append((evaluate_cold_items(model, validation, held, KS)[METRIC], params))
    score, best = max(trials, key=lambda t: t[0])
    return best, (f"{best} chosen from {len(trials)} settings on validation: {len(held)} linked warm items held "
                  f"out of the training part (seed {seed + 100}), NDCG@20 {score:.4f}")


def run_variant(variant: str, ratings: pd.DataFrame, products: pd.DataFrame, triples: pd.DataFrame,
                note: str, seeds: tuple[int, ...] = SEEDS,
                log: Callable[[str], None] = print) -> tuple[list[BenchmarkRecord], dict[str, list[float]]]:
    linked = set(triples.loc[triples["relation"] == "same_as", "head"]) & set(ratings["product_id"])
    per_seed: dict[str, list[dict[str, float]]] = {name: [] for name in MODELS}
    records: list[BenchmarkRecord] = []
    for seed in seeds:
        train, test, cold = cold_split(ratings, linked, seed)
        protocol = Protocol(
            split="random", ratio=[1 - COLD_SHARE, COLD_SHARE], seed=seed, candidates="full", k=20,
            notes=f"{len(cold)} of the {len(linked)} rated graph-linked items cold (all their ratings out of "
                  "training); "
                  f"training = the {len(train):,} ratings ≥ 4 of warm items; each of the "
                  f"{test['customer_id'].nunique()} customers with a rating ≥ 4 of a cold item ranks all "
                  f"{len(cold)} cold items; {note}")
        for name, (role, make, grid) in MODELS.items():
            started = time.perf_counter()
            params, chosen = choose(make, grid, train, products, triples, linked, seed)
            model = fit(make, params, train, products, triples)
            metrics = evaluate_cold_items(model, test, cold, KS)
            seconds = time.perf_counter() - started
            per_seed[name].append(metrics)
            records.append(BenchmarkRecord.create(
                benchmark=BENCHMARK, dataset=DATASET, variant=f"{variant}_seed_{seed}", model=name, role=role,
                protocol=protocol.model_copy(update={"notes": f"{protocol.notes}; {chosen}"}),
                metrics={k: round(v, 6) for k, v in metrics.items() if k in ("ndcg@20", "recall@20")},
                seconds=round(seconds, 2)))
            log(f"  {variant} seed {seed} {name:14s} NDCG@20 {metrics['ndcg@20']:.4f} "
                f"Recall@20 {metrics['recall@20']:.4f} ({seconds:.0f} s; {params})")
    mean_protocol = Protocol(split="random", ratio=[1 - COLD_SHARE, COLD_SHARE], candidates="full", k=20,
                             notes=f"mean ± sd over seeds {', '.join(map(str, seeds))}; per seed as in the "
                                   f"records {variant}_seed_N; {note}")
    for name, runs in per_seed.items():
        metrics: dict[str, float] = {}
        for key in ("ndcg@20", "recall@20"):
            values = np.array([r[key] for r in runs])
            base, k = key.split("@")
            metrics[key] = round(float(values.mean()), 6)
            metrics[f"{base}_sd@{k}"] = round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 6)
        records.append(BenchmarkRecord.create(benchmark=BENCHMARK, dataset=DATASET, variant=variant, model=name,
                                              role=MODELS[name][0], protocol=mean_protocol, metrics=metrics))
    return records, {name: [r[METRIC] for r in runs] for name, runs in per_seed.items()}


def gate_of(variant: str, ndcg: dict[str, list[float]]) -> tuple[str, bool, str]:
    ours = np.array(ndcg[OURS])
    baselines = {n: np.array(v) for n, v in ndcg.items() if MODELS[n][0] == "baseline"}
    best = max(baselines, key=lambda n: baselines[n].mean())
    wins = int((ours > baselines[best]).sum())
    ratio = ours.mean() / baselines[best].mean()
    met = bool(ratio >= 1.05 and wins >= 4)
    detail = (f"{variant}: kg_hybrid NDCG@20 {ours.mean():.4f} ± {ours.std(ddof=1):.4f} vs best baseline {best} "
              f"{baselines[best].mean():.4f} ± {baselines[best].std(ddof=1):.4f} ({ratio:.2f}×), better on {wins} of "
              f"{len(ours)} seeds; per seed ours {', '.join(f'{v:.4f}' for v in ours)}, {best} "
              f"{', '.join(f'{v:.4f}' for v in baselines[best])}")
    return (f"recbole_ml100k_kg_cold ({variant}): KG-aware NDCG@20 ≥ 1.05 × best baseline, better on ≥ 4 of 5 seeds",
            met, detail)


def run(seeds: tuple[int, ...] = SEEDS) -> tuple[list[BenchmarkRecord], list[tuple[str, bool, str]]]:
    ratings, products, triples = load_data()
    quality = link_quality(triples, products)
    note = (f"link quality as shipped: genre Jaccard of each linked item and its nearest graph neighbour "
            f"{quality['genre_jaccard']:.3f} vs {quality['genre_jaccard_shuffled']:.3f} with the links shuffled "
            "(ml-100k.link carries MovieLens-1M ids, RecSysDatasets issue #130)")
    print(note, flush=True)
    records, ndcg = run_variant("as_shipped", ratings, products, triples, note, seeds)
    gates = [gate_of("as_shipped", ndcg)]
    movies = os.environ.get(ML1M_ENV)
    if movies:
        relinked, kept = relink_by_title(triples, products, ml1m_titles(Path(movies)))
        fixed = link_quality(relinked, products)
        note = (f"links repaired by title through MovieLens-1M's movie list (${ML1M_ENV}): {kept} links kept; "
                f"genre Jaccard with the nearest graph neighbour {fixed['genre_jaccard']:.3f} vs "
                f"{fixed['genre_jaccard_shuffled']:.3f} shuffled")
        print(note, flush=True)
        more, ndcg = run_variant("relinked_by_title", ratings, products, relinked, note, seeds)
        records += more
        gates.append(gate_of("relinked_by_title", ndcg))
    return records, gates
