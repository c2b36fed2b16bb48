"""``shoplens stream kpis|check``: one-minute KPIs from a folder of event files on Spark Structured Streaming, and
the check that its output equals a batch recount of the same files (docs/scale.md, "Real time")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shoplens import clitools as cli

app = cli.command_group("Real-time KPIs on Spark Structured Streaming: run the query, check it against a recount.")

InputOpt = Annotated[Path, typer.Option("--input", help="Folder the JSON-lines event files land in.")]
OutputOpt = Annotated[Path, typer.Option("--output", help="Folder of the KPI Parquet files (one row per minute).")]
MasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", "--master", show_default=False,
    help="Spark master (default $SHOPLENS_SPARK_MASTER, else local[2]), e.g. spark://127.0.0.1:7077.")]


@cli.command(app)
def kpis(input_dir: InputOpt, output_dir: OutputOpt,
         checkpoint: Annotated[Path, typer.Option(help="Checkpoint folder: keep it to go on where a run stopped.")],
         master: MasterOpt = None,
         once: Annotated[bool, typer.Option("--once", help="Read the files there now, then stop.")] = False,
         trigger_seconds: Annotated[float, typer.Option(min=0.1, help="Seconds between micro-batches.")] = 1.0,
         timeout: Annotated[float | None, typer.Option(min=0, show_default=False,
                                                       help="Stop after this many seconds.")] = None,
         as_json: cli.JsonOpt = False) -> None:
    """Run the streaming query until stopped (Ctrl-C, --timeout) or, with --once, over the files there now."""
    from shoplens.engine.streaming import run_kpis

    report = run_kpis(input_dir, output_dir, checkpoint, master=master, once=once, trigger_seconds=trigger_seconds,
                      timeout_s=timeout)
    result = report.to_dict()
    cli.emit(result, as_json, lambda: cli.console.print(cli.table_of(
        [{"what": k, "value": v} for k, v in result.items() if k != "messages"], ["what", "value"],
        title="streaming KPIs"), highlight=False))


@cli.command(app)
def check(input_dir: InputOpt, output_dir: OutputOpt, master: MasterOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Compare the query's output with a batch recount of the same files (exactly_once 1 when equal); exits 1
    when they differ."""
    from shoplens.engine.spark_engine import start_session
    from shoplens.engine.streaming import compare_with_recount

    result = compare_with_recount(start_session(master), input_dir, output_dir)
    cli.emit(result, as_json, lambda: _render(result))
    if not result["exactly_once"]:
        raise typer.Exit(1)


def _render(result: dict[str, Any]) -> None:
    verdict = "equal to the recount" if result["exactly_once"] else "NOT equal to the recount"
    cli.console.print(f"{result['written']:,} windows written, {result['windows']:,} final in the recount: {verdict}",
                      highlight=False)
    for name in ("repeated", "differ"):
        if result[name]:
            cli.console.print(f"{name}: {', '.join(result[name][:10])}", highlight=False)
