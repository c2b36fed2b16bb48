"""Part ``als`` of benchmarks/scale.py — Spark MLlib ALS beside our recommender on the same cluster, same run.

Protocols are the recommend benchmark's (``benchmarks/recommend.py``), reused from it:

- movielens_100k: per-user stratified 75/25 split, seed 42 (Microsoft Recommenders' semantics), full ranking,
  seen items excluded, binary relevance. Ours: SessionEASE; baselines: EASE and popularity. Every tuned model's
  hyper-parameters are chosen on a validation split carved from the training part with the same splitter (the
  recommend benchmark's grids for SessionEASE and EASE).
- s3rec_beauty: leave-one-out (last item test, second to last validation), full ranking over all items, history
  excluded, trained on all but the last two items and scored with all but the last. Ours: SASRec (early stopping
  on the validation item); baselines: EASE (λ chosen on the validation item) and popularity.

Reference: ``shoplens.recommend.spark_als.SparkALS`` — ``pyspark.ml.recommendation.ALS(implicitPrefs=True)``
fitted on the standalone cluster (two one-core workers); regParam and alpha are chosen by grid search (0.01, 0.1,
1 × 1, 10, 40) at rank 64, then the rank among 32, 64 and 128, on the validation split only (fit on the training
part less validation, NDCG@10 on validation; the recommend benchmark's ``tune``), maxIter 15, then refitted on the
whole training part. Test is never seen while tuning.

Every model's top-k lists for every customer are computed on the cluster (``recommend.spark.recommend_all``,
without explanations) and scored by the same metrics code as the recommend benchmark; the lists are checked
against the local path's (``evaluate_model``). Seconds: training (SparkALS on the cluster, the others in the
driver) and scoring on the cluster; tuning seconds in the notes.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

import recommend as protocols
from _scale_common import BENCHMARK, Gate, cluster_run, say, sizes
from shoplens.evaluation.records import BenchmarkRecord, Protocol
from shoplens.recommend import EASE, Popularity, SessionEASE, leave_one_out
from shoplens.recommend.evaluate import evaluate_model, relevant_rows, tune

KS = protocols.KS
SEED = 42


def spark_lists_metrics(spark: Any, model: Any, test: Any) -> tuple[dict[str, float], float, bool]:
    """Metrics of the top-k lists computed on Spark for every customer, the scoring seconds, and whether the
    metrics equal the local path's."""
    from shoplens.evaluation.ranking import ranking_metrics
    from shoplens.recommend.spark import recommend_all

    started = time.perf_counter()
    lists = recommend_all(spark, model, max(KS), explain=False).select("customer_id", "rank", "product_id")
    lists = lists.toPandas()
    seconds = time.perf_counter() - started
    users, relevant = relevant_rows(model, test)
    row_of = {model.user_ids_[user]: row for row, user in enumerate(users)}
    lists = lists[lists["customer_id"].isin(row_of)]
    recommended = np.full((len(users), max(KS)), -1, dtype=np.int64)
    recommended[lists["customer_id"].map(row_of).to_numpy(), lists["rank"].to_numpy() - 1] = \
        model.item_index(lists["product_id"].to_numpy())
    share = model.item_users_ / max(len(model.user_ids_), 1)
    metrics = ranking_metrics(recommended, relevant, KS, n_items=len(model.item_ids_), item_user_share=share)
    local = evaluate_model(model, test, KS)
    same = all(abs(metrics[name] - local[name]) < 1e-9 for name in metrics if name in local)
    return metrics, seconds, same


def als_maker() -> Any:
    from shoplens.recommend.spark_als import SparkALS

    return functools.partial(SparkALS, iterations=sizes().als_iterations, seed=0, partitions=4)


def tuned(make: Any, grid: dict[str, list[Any]], fit_part: Any, validation: Any, what: str
          ) -> tuple[dict, str, list[dict]]:
    """The best parameters of ``grid`` on the validation split (the recommend benchmark's ``tune``), a note, and
    every trial."""
    started = time.perf_counter()
    best, trials = tune(make, grid, fit_part, validation)
    seconds = time.perf_counter() - started
    say(f"{what}: {best} from {len(trials)} settings in {seconds:.0f} s")
    top = sorted(trials, key=lambda t: -t["ndcg@10"])[:3]
    return best, (f"{what} chosen on the validation split from {len(trials)} settings of {grid} in {seconds:.0f} s: "
                  f"{best} (validation NDCG@10 of the best three: "
                  f"{[(round(t['ndcg@10'], 4), {k: t[k] for k in grid}) for t in top]})"), trials


def tuned_als(fit_part: Any, validation: Any) -> tuple[dict, str]:
    """MLlib ALS's parameters in two stages on the validation split: regParam × alpha at the first rank of
    ``als_ranks``, then the other ranks with those (maxIter fixed); the best of every setting tried."""
    s = sizes()
    first, *others = s.als_ranks
    best, note, trials = tuned(functools.partial(als_maker(), rank=first), s.als_grid, fit_part, validation,
                               f"MLlib ALS regParam × alpha at rank {first}")
    chosen, score = {**best, "rank": first}, max(t["ndcg@10"] for t in trials)
    if others:
        _, rank_note, rank_trials = tuned(functools.partial(als_maker(), **best), {"rank": others}, fit_part,
                                          validation, "then the rank")
        note += f"; {rank_note}"
        top = max(rank_trials, key=lambda t: t["ndcg@10"])
        if top["ndcg@10"] > score:
            chosen["rank"] = top["rank"]
    say(f"MLlib ALS chosen: {chosen}")
    return chosen, f"{note}; chosen {chosen}"


def evaluated(spark: Any, name: str, role: str, model: Any, test: Any, dataset: str, protocol: Protocol,
              note: str) -> BenchmarkRecord:
    metrics, scoring_seconds, same = spark_lists_metrics(spark, model, test)
    train_seconds = float(model.fit_seconds_)
    shown = {k: round(v, 4) for k, v in metrics.items() if k in ("ndcg@10", "hr@10", "recall@10")}
    say(f"{dataset} {name}: {shown}, train {train_seconds:.1f} s, scoring on Spark {scoring_seconds:.1f} s, "
        f"same as local {same}")
    notes = "; ".join(filter(None, [protocol.notes, note, "top-k for every customer computed on the 2-worker "
                                    f"cluster (recommend_all), metrics equal to the local path's: {same}"]))
    record = BenchmarkRecord.create(
        benchmark=BENCHMARK, dataset=dataset, variant=sizes().variant, model=name, role=role,
        protocol=protocol.model_copy(update={"notes": notes}), seconds=round(train_seconds + scoring_seconds, 3),
        metrics=metrics | {"train_seconds": round(train_seconds, 3), "spark_scoring_seconds": round(scoring_seconds, 3),
                           "same_as_local": float(same)})
    return record


def movielens(spark: Any) -> list[BenchmarkRecord]:
    train, test, fit_part, validation = protocols.movielens_splits(protocols.movielens_frame(), SEED)
    protocol = protocols.movielens_protocol(SEED)
    s = sizes()
    session_grid = protocols.ML_GRIDS["session_ease"][1] if not s.quick else {"lam": [300]}
    ease_grid = protocols.ML_GRIDS["ease"][1] if not s.quick else {"lam": [300]}
    ours, ours_note, _ = tuned(SessionEASE, session_grid, fit_part, validation, "SessionEASE")
    ease, ease_note, _ = tuned(EASE, ease_grid, fit_part, validation, "EASE λ")
    als, als_note = tuned_als(fit_part, validation)
    models = [("session_ease", "ours", SessionEASE(**ours), ours_note), ("ease", "baseline", EASE(**ease), ease_note),
              ("popularity", "baseline", Popularity(), ""),
              ("spark_mllib_als", "reference", als_maker()(**als), als_note)]
    records = []
    for name, role, model, note in models:
        model.fit(train)
        records.append(evaluated(spark, name, role, model, test, "movielens_100k", protocol, note))
    return records


def beauty(spark: Any) -> list[BenchmarkRecord]:
    split = leave_one_out(protocols.beauty_frame())
    protocol = protocols.BEAUTY_PROTOCOL
    s = sizes()
    ease, ease_note, _ = tuned(EASE, protocols.BEAUTY_EASE_GRID if not s.quick else {"lam": [50]}, split.train,
                               split.validation, "EASE λ")
    als, als_note = tuned_als(split.train, split.validation)
    models = [("sasrec", "ours", protocols.beauty_sasrec(s.sasrec_epochs), ""),
              ("ease", "baseline", EASE(**ease), ease_note), ("popularity", "baseline", Popularity(), ""),
              ("spark_mllib_als", "reference", als_maker()(**als), als_note)]
    records = []
    for name, role, model, note in models:
        say(f"s3rec_beauty: fitting {name}")
        if name == "sasrec":
            model.fit(split.train, validation=split.validation)
            note = f"early stopping on validation NDCG@10: best epoch {model.best_epoch_} of {model.epochs_}"
        else:
            model.fit(split.train)
            model.extend_history(split.validation)
        records.append(evaluated(spark, name, role, model, split.test, "s3rec_beauty", protocol, note))
    return records


def run() -> tuple[list[BenchmarkRecord], list[Gate]]:
    with cluster_run("als", 2) as cluster:
        records = movielens(cluster.spark) + beauty(cluster.spark)
    return records, []
