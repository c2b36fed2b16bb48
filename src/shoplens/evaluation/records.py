"""Benchmark records: the one format every benchmark writes (DESIGN.md, "Benchmark records").

Each benchmark writes ``benchmarks/results/<benchmark>.json``, a JSON list of records, one per
(dataset, variant, model)::

    {"benchmark": "reviews", "dataset": "womens_clothing_5star", "variant": "default",
     "model": "minilm-finetuned", "role": "ours" | "baseline" | "reference",
     "protocol": {"split": "stratified", "ratio": [0.8, 0.1, 0.1], "seed": 0, "candidates": "full",
                  "k": 10, "horizon": null, "windows": null, "notes": "..."},
     "metrics": {"accuracy": 0.71, "macro_f1": 0.55},
     "seconds": 812.4, "peak_mb": 1900, "cpu": "<model name>", "commit": "<sha>", "date": "<iso>"}

Validation enforces what the design promises: a role out of three, lower-case metric names with
``@k`` (``ndcg@10``), fractions (never percents) for metrics that are fractions by nature, dataset
names that are a ../shared/data folder name (plus a task suffix) or ``simulator_<task>``.

Example::

    from shoplens.evaluation.records import BenchmarkRecord, Protocol, write_results

    protocol = Protocol(split="per_user_stratified", ratio=[0.75, 0.25], seed=42, candidates="full", k=10)
    record = BenchmarkRecord.create(benchmark="recommend", dataset="movielens_100k", model="ease",
                                    role="baseline", protocol=protocol,
                                    metrics={"ndcg@10": 0.487, "precision@10": 0.41}, seconds=0.5)
    write_results("recommend", [record])      # benchmarks/results/recommend.json
    protocol.label()                           # 'per-user stratified 75/25, seed 42, full ranking, k=10'
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shoplens.errors import InputError

Role = Literal["ours", "baseline", "reference"]
ROLE_ORDER: dict[str, int] = {"ours": 0, "baseline": 1, "reference": 2}

# The evaluation splits of DESIGN.md ("Evaluation rules"), with how a protocol label names them.
SPLIT_LABELS: dict[str, str] = {
    "random": "random",
    "stratified": "stratified",
    "per_user_stratified": "per-user stratified",
    "leave_one_out": "leave-one-out",
    "temporal": "temporal",
    "rolling_origin": "rolling origin",
    "simulator_truth": "simulator ground truth",
    "leave_one_category_out": "leave-one-category-out",  # train on the other categories, test on the one left out
    "cross_domain": "cross-domain",  # train on one shop's data, test on another shop's
    "none": "whole data",  # no split: throughput, fits to published references
}

# Folder names of ../shared/data (a test checks this list against the folder when it is present),
# and sources that users supply themselves.
DATA_FOLDERS: tuple[str, ...] = (
    "amazon_cellphones_catalog", "amazon_giftcards", "amazon_qa", "bakery_transactions", "cdnow", "clinc150",
    "diginetica", "groceries_baskets", "movielens_100k", "online_shoppers_intention", "online_shopping_10_cats",
    "recbole_ml100k_kg", "s3rec_amazon_seq", "taobao_userbehavior_sample", "womens_clothing_reviews",
)
USER_SUPPLIED_SOURCES: tuple[str, ...] = ("online_retail_ii",)
# Evaluation sets written by hand and committed with the code (not data from anywhere): the file they live in.
HAND_WRITTEN_SETS: dict[str, str] = {"query_cases": "tests/search/query_cases.json",
                                     "shop_intents": "tests/assistant/data/heldout_intents.csv",
                                     "support_cases": "tests/assistant/data/support_cases.csv"}
# Short forms of folder names used as dataset prefixes, e.g. ``womens_clothing_5star``, ``s3rec_beauty``.
DATASET_PREFIXES: dict[str, str] = {
    **{name: name for name in DATA_FOLDERS + USER_SUPPLIED_SOURCES + tuple(HAND_WRITTEN_SETS)},
    "womens_clothing": "womens_clothing_reviews",
    "giftcards": "amazon_giftcards",
    "s3rec": "s3rec_amazon_seq",
}
SIMULATOR_PREFIX = "simulator_"

# Metrics that are fractions by nature: values must lie in [0, 1] (0.71, never 71).
FRACTION_METRICS: frozenset[str] = frozenset({
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_f1", "micro_f1", "weighted_f1",
    "ndcg", "hr", "mrr", "map", "coverage", "auc", "within_one", "novelty_share",
})
FRACTION_SUFFIXES: tuple[str, ...] = ("_accuracy", "_auc", "_coverage", "_precision", "_recall", "_f1",
                                      "_ndcg", "_hr", "_mrr", "_map", "_service_level")
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*(@[0-9]+)?$")
PERCENT_WORDS = re.compile(r"(^|_)(pct|percent|percentage)(_|$|@)")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
COMMIT = re.compile(r"^([0-9a-f]{7,64}|unknown)$")

MetricValue = bool | int | float | None


def is_fraction_metric(name: str) -> bool:
    """Whether a metric is a fraction by nature (``accuracy``, ``ndcg@10``, ``churn_auc`` …)."""
    base = name.split("@", 1)[0]
    return base in FRACTION_METRICS or base.endswith(FRACTION_SUFFIXES)


def workspace_dataset(ws: Any, task: str) -> str:
    """The dataset name of a workspace's data in records: ``simulator_<task>`` for a simulated shop (it keeps
    its truth), else ``workspace_<shop name>_<task>``."""
    if (ws.path / "truth" / "manifest.json").exists():
        return f"{SIMULATOR_PREFIX}{task}"
    name = "".join(c if c.isalnum() else "_" for c in ws.config.name.lower()).strip("_") or "shop"
    return f"workspace_{name}_{task}"


def dataset_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid dataset name, or None when it is."""
    if not NAME.match(name):
        return f"dataset {name!r} must be lower-case letters, digits and '_'"
    if name.startswith(SIMULATOR_PREFIX):
        return None if len(name) > len(SIMULATOR_PREFIX) else "dataset 'simulator_' needs a task: simulator_<task>"
    for prefix in DATASET_PREFIXES:
        if name == prefix or name.startswith(prefix + "_"):
            return None
    return (f"dataset {name!r} is neither simulator_<task> nor a ../shared/data folder name (plus a task "
            f"suffix); known prefixes: {', '.join(sorted(DATASET_PREFIXES))}")


def _format_ratio(ratio: list[float]) -> str:
    return "/".join(f"{part * 100:.4g}" for part in ratio)


class Protocol(BaseModel):
    """How a number was measured: split, ratio, seed, candidate set, k, horizon, windows, notes.

    ``candidates`` is ``"full"`` (rank every item) or ``"sampled:N"`` (N sampled candidates, labelled so).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: str
    ratio: list[float] | None = None
    seed: int | None = None
    candidates: str | None = None
    k: int | None = Field(default=None, ge=1)
    horizon: int | None = Field(default=None, ge=1)
    windows: int | None = Field(default=None, ge=1)
    notes: str = ""

    @field_validator("split")
    @classmethod
    def _known_split(cls, split: str) -> str:
        if split not in SPLIT_LABELS:
            raise ValueError(f"unknown split {split!r}; one of {', '.join(SPLIT_LABELS)}")
        return split

    @field_validator("ratio")
    @classmethod
    def _fractions_summing_to_one(cls, ratio: list[float] | None) -> list[float] | None:
        if ratio is None:
            return None
        if not ratio or any(not 0 < part <= 1 for part in ratio):
            raise ValueError(f"ratio {ratio} must be fractions in (0, 1] (0.75, never 75)")
        if not math.isclose(sum(ratio), 1.0, abs_tol=1e-6):
            raise ValueError(f"ratio {ratio} must sum to 1")
        return ratio

    @field_validator("candidates")
    @classmethod
    def _full_or_sampled(cls, candidates: str | None) -> str | None:
        if candidates is not None and not re.fullmatch(r"full|sampled:[1-9][0-9]*", candidates):
            raise ValueError(f"candidates {candidates!r} must be 'full' or 'sampled:N'")
        return candidates

    def label(self) -> str:
        """A short human label, e.g. ``per-user stratified 75/25, seed 42, full ranking, k=10``."""
        split = SPLIT_LABELS[self.split]
        parts = [f"{split} {_format_ratio(self.ratio)}" if self.ratio else split]
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        if self.candidates == "full":
            parts.append("full ranking")
        elif self.candidates:
            parts.append(f"{self.candidates.split(':')[1]} sampled candidates")
        if self.k is not None:
            parts.append(f"k={self.k}")
        if self.horizon is not None:
            parts.append(f"horizon {self.horizon}")
        if self.windows is not None:
            parts.append(f"{self.windows} windows")
        return ", ".join(parts)


class BenchmarkRecord(BaseModel):
    """One measured (dataset, variant, model) of one benchmark. Build new ones with :meth:`create`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    benchmark: str = Field(pattern=NAME.pattern)
    dataset: str
    variant: str = Field(min_length=1)
    model: str = Field(min_length=1)
    role: Role
    protocol: Protocol
    metrics: dict[str, MetricValue] = Field(min_length=1)
    seconds: float | None = Field(ge=0)
    peak_mb: float | None = Field(ge=0)
    cpu: str = Field(min_length=1)
    commit: str = Field(pattern=COMMIT.pattern)
    date: str

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, dataset: str) -> str:
        problem = dataset_name_problem(dataset)
        if problem:
            raise ValueError(problem)
        return dataset

    @field_validator("metrics")
    @classmethod
    def _metric_names_and_fractions(cls, metrics: dict[str, MetricValue]) -> dict[str, MetricValue]:
        for name, value in metrics.items():
            if not METRIC_NAME.match(name):
                raise ValueError(f"metric {name!r}: names are lower-case, '_' between words, '@k' for a cut-off "
                                 f"('ndcg@10')")
            if PERCENT_WORDS.search(name):
                raise ValueError(f"metric {name!r}: metrics are fractions, never percents; drop 'pct'")
            if isinstance(value, bool) or value is None:
                continue
            if is_fraction_metric(name) and not 0 <= value <= 1:
                raise ValueError(f"metric {name!r} = {value} is outside [0, 1]: fractions, never percents "
                                 f"(0.71, not 71)")
        return metrics

    @field_validator("date")
    @classmethod
    def _iso_date(cls, date: str) -> str:
        try:
            dt.datetime.fromisoformat(date)
        except ValueError:
            raise ValueError(f"date {date!r} is not ISO 8601 (e.g. 2026-05-01T12:00:00+00:00)") from None
        return date

    @classmethod
    def create(cls, *, benchmark: str, dataset: str, model: str, role: Role, protocol: Protocol,
               metrics: Mapping[str, MetricValue], variant: str = "default", seconds: float | None = None,
               peak_mb: float | None = None) -> BenchmarkRecord:
        """A new record, with the machine (``cpu``), ``commit`` and ``date`` filled in from here and now."""
        return cls(benchmark=benchmark, dataset=dataset, variant=variant, model=model, role=role, protocol=protocol,
                   metrics=dict(metrics), seconds=seconds, peak_mb=peak_mb, cpu=cpu_model(), commit=git_commit(),
                   date=now_iso())

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a record within its benchmark: (dataset, variant, model)."""
        return (self.dataset, self.variant, self.model)

    def sort_key(self) -> tuple[str, str, int, str]:
        return (self.dataset, self.variant, ROLE_ORDER[self.role], self.model)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# -- the machine and the moment ------------------------------------------------------------------------

def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux) and the number of cores this process may use."""
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
    return f"{name} ({cores} cores)" if cores else name


def git_commit(cwd: str | os.PathLike | None = None) -> str:
    """``git rev-parse HEAD`` of the checkout (the current folder by default), or ``"unknown"``."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path.cwd(), capture_output=True,
                                text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and COMMIT.match(sha) else "unknown"


def now_iso() -> str:
    """The current time in UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# -- results files -------------------------------------------------------------------------------------

def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The project checkout holding ``benchmarks/`` (searched upward from ``start``, default the current folder)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "benchmarks").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return here


def results_dir(root: str | os.PathLike | None = None) -> Path:
    """``benchmarks/results`` of the checkout (``$SHOPLENS_RESULTS_DIR`` overrides it)."""
    override = os.environ.get("SHOPLENS_RESULTS_DIR")
    return Path(override) if override else repo_root(root) / "benchmarks" / "results"


def results_path(benchmark: str, directory: str | os.PathLike | None = None) -> Path:
    """``<results dir>/<benchmark>.json``."""
    if not NAME.match(benchmark):
        raise InputError(f"benchmark name {benchmark!r} must be lower-case letters, digits and '_'")
    return (Path(directory) if directory else results_dir()) / f"{benchmark}.json"


def sorted_records(records: Iterable[BenchmarkRecord]) -> list[BenchmarkRecord]:
    """Records in the order files and reports use: dataset, variant, role (ours first), model."""
    return sorted(records, key=BenchmarkRecord.sort_key)


def parse_results(data: Any, source: str, benchmark: str | None = None) -> list[BenchmarkRecord]:
    """Validate the parsed JSON of a results file; an :class:`InputError` names the file, record and field."""
    if not isinstance(data, list):
        raise InputError("a results file holds a JSON list of records", file=source)
    records: list[BenchmarkRecord] = []
    for index, item in enumerate(data):
        try:
            record = BenchmarkRecord.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors())
            raise InputError(f"record {index}: {problems}", file=source) from None
        if benchmark is not None and record.benchmark != benchmark:
            raise InputError(f"record {index}: benchmark {record.benchmark!r} in the file of {benchmark!r}",
                             file=source)
        records.append(record)
    keys = [r.key for r in records]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise InputError(f"more than one record for (dataset, variant, model) {repeated}", file=source)
    return records


def load_results(benchmark: str | os.PathLike, directory: str | os.PathLike | None = None) -> list[BenchmarkRecord]:
    """The validated records of a benchmark (by name, or by the path of its results file)."""
    path = Path(benchmark)
    if path.suffix != ".json":
        path = results_path(str(benchmark), directory)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no results file", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg}, line {exc.lineno})", file=str(path)) from None
    return parse_results(data, str(path), benchmark=path.stem)


def load_all_results(directory: str | os.PathLike | None = None) -> dict[str, list[BenchmarkRecord]]:
    """Every ``*.json`` in the results folder, by benchmark name, in name order."""
    folder = Path(directory) if directory else results_dir()
    return {path.stem: load_results(path) for path in sorted(folder.glob("*.json"))}


def dumps_records(records: Iterable[BenchmarkRecord]) -> str:
    """The text of a results file: sorted records, two-space indent, keys in schema order, final newline."""
    return json.dumps([r.to_json_dict() for r in sorted_records(records)], indent=2, ensure_ascii=False) + "\n"


def write_results(benchmark: str, records: Iterable[BenchmarkRecord],
                  path: str | os.PathLike | None = None) -> Path:
    """Merge ``records`` into ``benchmarks/results/<benchmark>.json`` and return its path.

    Records already in the file with the same (dataset, variant, model) are replaced, others are kept;
    the file is sorted deterministically and replaced atomically.
    """
    new = list(records)
    target = Path(path) if path else results_path(benchmark)
    for record in new:
        if record.benchmark != benchmark:
            raise InputError(f"record of benchmark {record.benchmark!r} written to {benchmark!r}", file=str(target))
    new_keys = [r.key for r in new]
    repeated = sorted({k for k in new_keys if new_keys.count(k) > 1})
    if repeated:
        raise InputError(f"more than one new record for (dataset, variant, model) {repeated}", file=str(target))
    kept = [r for r in load_results(target) if r.key not in set(new_keys)] if target.exists() else []
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(dumps_records(kept + new), encoding="utf-8")
    temporary.replace(target)
    return target
