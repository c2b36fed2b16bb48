"""Benchmark records: every committed results file matches the schema, the model refuses what the
design forbids, results files merge and round-trip, and BENCHMARKS.md is generated from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shoplens.errors import InputError
from shoplens.evaluation import measure, records, report
from shoplens.evaluation.records import BenchmarkRecord, Protocol, load_results, write_results
from tests.conftest import ROOT, shared_path

RESULTS = ROOT / "benchmarks" / "results"


def record_dict(**changes: Any) -> dict[str, Any]:
    """A valid record as parsed JSON, with ``changes`` applied."""
    data: dict[str, Any] = {
        "benchmark": "reviews", "dataset": "womens_clothing_5star", "variant": "default",
        "model": "minilm-finetuned", "role": "ours",
        "protocol": {"split": "stratified", "ratio": [0.8, 0.1, 0.1], "seed": 0, "candidates": None, "k": None,
                     "horizon": None, "windows": None, "notes": "title + text"},
        "metrics": {"accuracy": 0.71, "macro_f1": 0.55, "mae": 0.35},
        "seconds": 812.4, "peak_mb": 1900, "cpu": "AMD EPYC (2 cores)", "commit": "a" * 40,
        "date": "2026-05-01T12:00:00+00:00",
    }
    data.update(changes)
    return data


def make(benchmark: str = "recommend", dataset: str = "movielens_100k", model: str = "ease",
         role: str = "ours", **metrics: Any) -> BenchmarkRecord:
    protocol = Protocol(split="per_user_stratified", ratio=[0.75, 0.25], seed=42, candidates="full", k=10)
    return BenchmarkRecord.create(benchmark=benchmark, dataset=dataset, model=model, role=role, protocol=protocol,
                                  metrics=metrics or {"ndcg@10": 0.48}, seconds=1.5, peak_mb=300)


# -- the committed results -------------------------------------------------------------------------------

def test_every_results_file_matches_the_schema() -> None:
    problems = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            load_results(path)
        except InputError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_benchmarks_md_is_generated_from_the_results() -> None:
    expected = report.render_directory(RESULTS)
    current = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8") if (ROOT / "BENCHMARKS.md").exists() else ""
    assert current == expected, "BENCHMARKS.md is out of date: run `python benchmarks/report.py`"


def test_known_data_folders_are_those_of_shared_data() -> None:
    folders = {p.name for p in shared_path().iterdir() if p.is_dir()}
    assert folders == set(records.DATA_FOLDERS)


# -- the record model ------------------------------------------------------------------------------------

def test_a_record_of_the_design_validates_and_keeps_its_json() -> None:
    data = record_dict()
    assert BenchmarkRecord.model_validate(data).to_json_dict() == data


@pytest.mark.parametrize("metrics", [{"accuracy": 71.0}, {"ndcg@10": 48.7}, {"hr@10": 1.5}, {"macro_f1": -0.1},
                                     {"churn_auc": 80}, {"ci90_coverage": 90}])
def test_percents_are_rejected_for_fraction_metrics(metrics: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="fractions, never percents"):
        BenchmarkRecord.model_validate(record_dict(metrics=metrics))


def test_metrics_that_are_not_fractions_may_exceed_one() -> None:
    record = BenchmarkRecord.model_validate(record_dict(metrics={"mae": 1.2, "rows_per_s": 600_000, "alpha": 4.41,
                                                                "p99_ms": 3.1, "peak_under_2gb": True,
                                                                "spark_seconds": None}))
    assert record.metrics["rows_per_s"] == 600_000
    assert record.metrics["peak_under_2gb"] is True


@pytest.mark.parametrize("name", ["NDCG@10", "Accuracy", "macro-F1", "ndcg @10", "ndcg@k", "accuracy_pct",
                                  "error_percent"])
def test_metric_names_are_lower_case_with_at_k(name: str) -> None:
    with pytest.raises(ValueError, match=f"metric {name!r}"):
        BenchmarkRecord.model_validate(record_dict(metrics={name: 0.5}))


@pytest.mark.parametrize("role", ["mine", "Ours", "", None])
def test_unknown_roles_are_rejected(role: Any) -> None:
    with pytest.raises(ValueError, match="role"):
        BenchmarkRecord.model_validate(record_dict(role=role))


@pytest.mark.parametrize("dataset", ["movielens_100k", "womens_clothing_5star", "womens_clothing_binary",
                                     "s3rec_beauty", "cdnow", "cdnow_daily_revenue", "amazon_giftcards_coldstart",
                                     "online_shopping_10_cats", "simulator_ingest", "online_retail_ii"])
def test_dataset_names_of_the_issues_are_accepted(dataset: str) -> None:
    assert BenchmarkRecord.model_validate(record_dict(dataset=dataset)).dataset == dataset


@pytest.mark.parametrize("dataset", ["MovieLens", "movielens", "simulator_", "my_shop", "cdnow-daily", ""])
def test_other_dataset_names_are_rejected(dataset: str) -> None:
    with pytest.raises(ValueError, match="dataset"):
        BenchmarkRecord.model_validate(record_dict(dataset=dataset))


@pytest.mark.parametrize("changes", [
    {"extra_field": 1}, {"metrics": {}}, {"seconds": -1.0}, {"date": "yesterday"}, {"commit": "HEAD"},
    {"benchmark": "Reviews"}, {"seconds": float("nan")},
])
def test_malformed_records_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        BenchmarkRecord.model_validate(record_dict(**changes))


@pytest.mark.parametrize("field", ["cpu", "commit", "date", "protocol", "seconds", "variant"])
def test_every_field_is_required_in_a_file(field: str) -> None:
    data = record_dict()
    del data[field]
    with pytest.raises(ValueError, match=field):
        BenchmarkRecord.model_validate(data)


@pytest.mark.parametrize("protocol", [
    {"split": "random-ish"}, {"split": "random", "ratio": [75, 25]}, {"split": "random", "ratio": [0.7, 0.2]},
    {"split": "leave_one_out", "candidates": "100"}, {"split": "random", "k": 0}, {"split": "random", "seed": "x"},
])
def test_malformed_protocols_are_rejected(protocol: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Protocol.model_validate(protocol)


@pytest.mark.parametrize(("protocol", "label"), [
    (Protocol(split="per_user_stratified", ratio=[0.75, 0.25], seed=42, candidates="full", k=10),
     "per-user stratified 75/25, seed 42, full ranking, k=10"),
    (Protocol(split="stratified", ratio=[0.8, 0.1, 0.1], seed=0), "stratified 80/10/10, seed 0"),
    (Protocol(split="leave_one_out", candidates="sampled:100", k=10), "leave-one-out, 100 sampled candidates, k=10"),
    (Protocol(split="rolling_origin", horizon=7, windows=8), "rolling origin, horizon 7, 8 windows"),
    (Protocol(split="none", seed=0, notes="not in the label"), "whole data, seed 0"),
])
def test_protocol_labels(protocol: Protocol, label: str) -> None:
    assert protocol.label() == label


def test_create_fills_the_machine_commit_and_date() -> None:
    record = make()
    assert record.cpu and record.cpu == records.cpu_model()
    assert record.commit == "unknown" or len(record.commit) == 40
    assert record.date.endswith("+00:00")


# -- results files ---------------------------------------------------------------------------------------

def test_write_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "recommend.json"
    written = [make(model="ease", role="baseline"), make(model="ours-model"), make(model="bivae", role="reference")]
    write_results("recommend", written, path)
    loaded = load_results(path)
    assert loaded == records.sorted_records(written)
    assert [r.role for r in loaded] == ["ours", "baseline", "reference"]


def test_write_replaces_the_same_dataset_variant_model_and_keeps_others(tmp_path: Path) -> None:
    path = tmp_path / "recommend.json"
    write_results("recommend", [make(model="ease", **{"ndcg@10": 0.40}), make(dataset="s3rec_beauty")], path)
    write_results("recommend", [make(model="ease", **{"ndcg@10": 0.49})], path)
    by_key = {r.key: r for r in load_results(path)}
    assert set(by_key) == {("movielens_100k", "default", "ease"), ("s3rec_beauty", "default", "ease")}
    assert by_key[("movielens_100k", "default", "ease")].metrics["ndcg@10"] == 0.49


def test_writing_is_deterministic(tmp_path: Path) -> None:
    batch = [make(model=name) for name in ("b", "a", "c")]
    write_results("recommend", batch, tmp_path / "one.json")
    write_results("recommend", list(reversed(batch)), tmp_path / "two.json")
    assert (tmp_path / "one.json").read_text() == (tmp_path / "two.json").read_text()


def test_write_refuses_mixed_benchmarks_and_repeated_keys(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="benchmark"):
        write_results("recommend", [make(benchmark="reviews", dataset="womens_clothing_5star")],
                      tmp_path / "recommend.json")
    with pytest.raises(InputError, match="more than one"):
        write_results("recommend", [make(), make()], tmp_path / "recommend.json")


def test_load_names_the_file_and_record_of_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps([record_dict(), record_dict(model="x", metrics={"accuracy": 93.5})]))
    with pytest.raises(InputError, match=r"reviews\.json: record 1: metrics"):
        load_results(path)
    path.write_text(json.dumps([record_dict(benchmark="recommend")]))
    with pytest.raises(InputError, match="in the file of 'reviews'"):
        load_results(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_results(path)


# -- BENCHMARKS.md ---------------------------------------------------------------------------------------

def test_report_puts_baselines_beside_ours_per_dataset(tmp_path: Path) -> None:
    write_results("recommend", [make(model="ease", role="baseline", **{"ndcg@10": 0.487, "hr@10": 0.1}),
                                make(model="ours-model", **{"ndcg@10": 0.4953}),
                                make(dataset="s3rec_beauty", model="sasrec", **{"ndcg@10": 0.0401})],
                  tmp_path / "recommend.json")
    write_results("reviews", [BenchmarkRecord.model_validate(record_dict())], tmp_path / "reviews.json")
    text = report.render_directory(tmp_path)
    assert text.startswith("# Benchmarks\n\n<!-- Generated by `python benchmarks/report.py`")
    assert text.index("## recommend") < text.index("## reviews")
    section = text[text.index("### movielens_100k"):text.index("### s3rec_beauty")]
    assert "| model | role | ndcg@10 | hr@10 | time (s) | peak (MB) | protocol |" in section
    assert section.index("| ours-model | ours | 0.4953 |") < section.index("| ease | baseline | 0.4870 | 0.1000 |")
    assert "per-user stratified 75/25, seed 42, full ranking, k=10" in section
    assert "Protocol notes: title + text" in text
    assert report.render_directory(tmp_path) == text


def test_report_command_writes_and_checks(tmp_path: Path) -> None:
    write_results("recommend", [make()], tmp_path / "results" / "recommend.json")
    output = tmp_path / "BENCHMARKS.md"
    arguments = ["--results", str(tmp_path / "results"), "--output", str(output)]
    assert report.main([*arguments, "--check"]) == 1
    assert report.main(arguments) == 0
    assert report.main([*arguments, "--check"]) == 0


def test_report_without_results_says_so() -> None:
    assert "No results yet" in report.render({})


@pytest.mark.parametrize(("value", "text"), [(0.48712, "0.4871"), (15.456, "15.46"), (600000.0, "600,000"),
                                             (1234567, "1,234,567"), (True, "yes"), (None, "—")])
def test_report_number_format(value: Any, text: str) -> None:
    assert report.format_value(value) == text


# -- measuring -------------------------------------------------------------------------------------------

def test_timed_keeps_every_run_and_reports_the_median() -> None:
    timing = measure.timed(lambda: 7, runs=3)
    assert len(timing.runs) == 3 and timing.result == 7
    assert measure.Timing((3.0, 1.0, 2.0)).median == 2.0
    assert measure.Timing((3.0, 1.0, 2.0)).note("x") == "x: median of 3 runs 2 s (3, 1, 2)"


def test_fewer_than_three_runs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        measure.timed(lambda: None, runs=2)
    with pytest.raises(ValueError, match="at least 3"):
        measure.Timing((1.0, 2.0))


def test_peak_memory_sees_a_large_allocation() -> None:
    with measure.PeakMemory() as peak:
        block = bytearray(64 * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
    assert peak.mb >= 64
    assert measure.peak_rss_mb() > 0
