"""The benchmark's pandas and Polars implementations give the SQL engine's results (so that the speed
comparison compares the same work), and the documentation's example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shoplens.analytics import api, queries
from shoplens.analytics.funnels import Funnel
from shoplens.analytics.parity import differences
from shoplens.analytics.reference import pandas_impl

MIN_SUPPORT = 0.0005
DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shoplens.data.synth import write_bulk_shop

    folder = tmp_path_factory.mktemp("bulk")
    write_bulk_shop(folder, 60_000, 120_000, seed=3, n_products=800)
    return folder


@pytest.fixture(scope="module")
def sql_results(bulk: Path) -> dict:
    spec = Funnel.parse()
    batch = [*queries.kpis("day"), *queries.rfm(), *queries.cohorts(), *queries.funnel(spec),
             *queries.baskets(MIN_SUPPORT)]
    with api.AnalysisSession(bulk) as session:
        return {name: table.to_pandas() for name, table in session.run(batch).items()}


def assert_same(expected: dict, actual: dict) -> None:
    assert set(actual) <= set(expected)
    problems = [p for name, frame in actual.items() for p in differences(name, expected[name], frame,
                                                                         money_tolerance=0.01)]
    assert not problems, "\n".join(problems)


def test_pandas_equals_sql(bulk: Path, sql_results: dict) -> None:
    results = pandas_impl.run_all(bulk, Funnel.parse(), MIN_SUPPORT)
    assert results["pair_counts"].shape[0] > 10 and results["funnel"]["entities"].iloc[-1] > 0
    assert_same(sql_results, results)


def test_polars_equals_sql(bulk: Path, sql_results: dict) -> None:
    pytest.importorskip("polars")  # a test dependency (shoplens[test])
    from shoplens.analytics.reference import polars_impl

    results = polars_impl.run_all(bulk, Funnel.parse(), MIN_SUPPORT)
    assert_same(sql_results, {name: frame.to_pandas() for name, frame in results.items()})


def test_the_documented_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert code, "docs/analytics.md lost its example"
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code.group(1), str(DOCS), "exec"), scope)
    assert len(scope["rules"]) > 0 and scope["clv"]["clv"].notna().all()
    assert scope["steps"]["entities"].iloc[0] > 0
