"""Spark Structured Streaming KPIs (local[2]): late events inside the watermark counted, duplicates dropped, the
output equal to a batch recount of the same files, and a query stopped and restarted from its checkpoint with
new files loses nothing and counts nothing twice."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shoplens.engine.streaming import (
    compare_with_recount,
    land_events,
    read_kpis,
    recount_kpis,
    run_kpis,
    start_kpis,
)

pytestmark = pytest.mark.spark
START = dt.datetime(2026, 2, 1, 12, 0)


def event(event_id: str, minute: float, event_type: str = "view", session: str = "s1", **more: Any) -> dict:
    return {"event_id": event_id, "session_id": session, "event_type": event_type,
            "event_ts": (START + dt.timedelta(minutes=minute)).isoformat() + "Z", **more}


def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "in").mkdir()
    return tmp_path / "in", tmp_path / "out", tmp_path / "checkpoint"


def rows_by_minute(table: Any) -> dict[int, dict]:
    return {int((row["window_start"] - START).total_seconds() // 60): row for row in table.to_pylist()}


def test_late_events_count_duplicates_do_not_and_the_output_equals_the_recount(spark, tmp_path: Path) -> None:
    source, output, checkpoint = folders(tmp_path)
    land_events(source, [
        event("a1", 0.1), event("a2", 0.2, "add_to_cart"), event("a3", 0.3, "purchase", price=4.5, quantity=2),
        event("a4", 0.5, session="s2"), event("a4", 0.5, session="s2"),  # the same event twice in one file
        event("a5", 1.5, "PV", session="s3"), event("a6", 4.9, "buy", session="s3", price=1.25),
        event("bad", 2.0, "teleport"),  # not an event type: left out
    ])
    first = run_kpis(source, output, checkpoint, spark=spark, once=True)
    assert first.input_rows == 8 and read_kpis(output).num_rows == 0  # no window is final yet (watermark 11:54:54)

    land_events(source, [
        event("late1", 0.7, session="s4"), event("late2", 1.1, "purchase", session="s4", price=10),  # 4 min late
        event("a1", 0.1), event("a3", 0.3, "purchase", price=4.5, quantity=2),  # resent by the producer
        event("z1", 20.0, session="s9"),  # moves the watermark to 12:10: the windows before it are final
    ])
    second = run_kpis(source, output, checkpoint, spark=spark, once=True)  # a new query: from the checkpoint
    assert second.input_rows == 5 and first.duplicates_dropped + second.duplicates_dropped == 3
    assert first.late_rows_dropped == second.late_rows_dropped == 0
    kpis = rows_by_minute(read_kpis(output))
    assert sorted(kpis) == [0, 1, 4]
    assert {k: kpis[0][k] for k in ("sessions", "views", "carts", "purchases", "revenue")} == {
        "sessions": 3, "views": 3, "carts": 1, "purchases": 1, "revenue": Decimal("9.00")}
    assert {k: kpis[1][k] for k in ("sessions", "views", "purchases", "revenue")} == {
        "sessions": 2, "views": 1, "purchases": 1, "revenue": Decimal("10.00")}
    assert kpis[4]["purchases"] == 1 and kpis[4]["revenue"] == Decimal("1.25")
    assert read_kpis(output).equals(recount_kpis(spark, source))
    assert compare_with_recount(spark, source, output)["exactly_once"] == 1


def test_a_stopped_query_restarts_from_its_checkpoint_without_loss_or_double_counting(spark, tmp_path: Path) -> None:
    source, output, checkpoint = folders(tmp_path)
    sessions = [f"s{i}" for i in range(7)]

    def minutes(first: int, last: int, tag: str) -> list[dict]:
        return [event(f"{tag}-{m}-{s}-{k}", m + k / 4, kind, session=s, price=2.5 if kind == "purchase" else None)
                for m in range(first, last) for s in sessions[m % 3:]
                for k, kind in enumerate(("view", "add_to_cart", "purchase")[: 1 + (m + len(s)) % 3])]

    query = start_kpis(spark, source, output, checkpoint, trigger_seconds=0.5)
    try:
        land_events(source, minutes(0, 6, "a"))
        query.processAllAvailable()
        land_events(source, minutes(4, 18, "b") + minutes(0, 3, "a"))  # overlaps the first file's events
    finally:
        query.stop()  # perhaps in the middle of the second file's batch
    land_events(source, minutes(10, 40, "c") + minutes(12, 14, "b") + [event("x", 31.5, session="s1")])
    run_kpis(source, output, checkpoint, spark=spark, once=True)

    result = compare_with_recount(spark, source, output)
    assert result["repeated"] == [] and result["differ"] == []
    assert result["exactly_once"] == 1 and result["written"] == 29  # 12:00 … 12:28: final below the watermark 12:29:30


def test_an_event_later_than_the_watermark_is_dropped_and_reported_by_the_cli(spark, tmp_path: Path) -> None:
    from shoplens.cli import app

    source, output, checkpoint = folders(tmp_path)
    land_events(source, [event("a", 0.5), event("b", 30.0)])  # the watermark moves to 12:20
    arguments = ["stream", "kpis", "--input", str(source), "--output", str(output), "--checkpoint", str(checkpoint),
                 "--once", "--json"]
    runner = CliRunner()
    assert runner.invoke(app, arguments).exit_code == 0
    land_events(source, [event("too-late", 1.5)])  # 28.5 minutes behind the latest event
    run = runner.invoke(app, arguments)
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["late_rows_dropped"] == 1
    assert sorted(rows_by_minute(read_kpis(output))) == [0]  # 12:01 never appears: the stream dropped it
    check = runner.invoke(app, ["stream", "check", "--input", str(source), "--output", str(output), "--json"])
    assert check.exit_code == 1 and json.loads(check.output)["exactly_once"] == 0  # the recount counts it
    assert json.loads(check.output)["differ"] == [(START + dt.timedelta(minutes=1)).isoformat()]


def test_the_service_and_the_stream_count_the_same_kpis(spark, workspace, tmp_path: Path) -> None:
    """The same events appended through the service's path (DuckDB, price in properties) and landed as a file
    (Spark): the live read and the recount agree minute by minute."""
    from shoplens.data.live import append_events, check_events
    from shoplens.engine.live_kpis import live_kpis

    events = [event(f"e{i}", i / 7, ("view", "add_to_cart", "purchase", "search")[i % 4], session=f"s{i % 5}",
                    price=round(1 + i / 8, 2), quantity=1 + i % 3) for i in range(60)]
    batch = check_events(list(enumerate(events + events[:5], start=1)), timezone="UTC", keys=workspace.pii_keys())
    append_events(workspace, batch)
    source, _, _ = folders(tmp_path)
    land_events(source, events + events[:5])
    with workspace.connect() as con:
        live = live_kpis(con, 15, now=START + dt.timedelta(minutes=14))
    served = {row["minute"]: row for row in live["per_minute"] if row["views"] or row["sessions"]}
    recounted = recount_kpis(spark, source, final_only=False).to_pylist()
    assert len(recounted) == 9 and len(served) == 9
    for row in recounted:
        shown = served[row["window_start"].isoformat()]
        assert [shown[k] for k in ("sessions", "views", "carts", "purchases")] == [
            row[k] for k in ("sessions", "views", "carts", "purchases")]
        assert Decimal(str(shown["revenue"])) == row["revenue"]
