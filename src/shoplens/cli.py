"""The ``shoplens`` command line: one typer app; every command is a thin call into the Python API.

Every command takes ``--workspace`` (default ``$SHOPLENS_WORKSPACE`` or ``./shoplens-workspace``), prints
tables for people and JSON with ``--json``, and exits non-zero with a one-line message on failure (with ``--json``:
one JSON object on stdout, ``{"error", "file", "row", "column"}``; see :mod:`shoplens.clitools`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from shoplens.analytics import cli as analytics_cli
from shoplens.assistant import cli as assistant_cli
from shoplens.clitools import (
    JsonErrorsGroup,
    JsonOpt,
    WorkspaceOpt,
    command,
    command_group,
    console,
    emit,
    err_console,
    init_workspace,
    open_workspace,
    show_progress,
    table_of,
)
from shoplens.engine import cli as spark_cli
from shoplens.engine import stream_cli
from shoplens.errors import ShoplensError
from shoplens.forecast import cli as forecast_cli
from shoplens.graph import cli as graph_cli
from shoplens.logs import capture_warnings, logged_warnings, run_log
from shoplens.pricing import cli as pricing_cli
from shoplens.recommend import cli as recommend_cli
from shoplens.reviews import cli as reviews_cli
from shoplens.search import cli as search_cli
from shoplens.workspace import Workspace

app = typer.Typer(name="shoplens", help="Turn an online shop's raw data into decisions.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, cls=JsonErrorsGroup)
datasets_app = command_group("Public datasets: list them, load one into the workspace.")
keys_app = command_group("API keys of the REST service.")
quarantine_app = command_group("Rows that ingest rejected, with reasons.")
models_app = command_group("The model registry: versions, cards, deploy, roll back, compare (docs/operations.md).")


def _version(shown: bool) -> None:
    if shown:
        from shoplens import __version__

        console.print(f"shoplens {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False) -> None:
    """Turn an online shop's raw data into decisions."""


app.add_typer(datasets_app, name="datasets")
app.add_typer(keys_app, name="keys")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(models_app, name="models")

# Command groups of the capabilities (their heavy imports happen inside the commands).
app.add_typer(analytics_cli.app, name="analyze")
app.add_typer(reviews_cli.app, name="reviews")
app.add_typer(recommend_cli.app, name="recommend")
app.add_typer(forecast_cli.app, name="forecast")
# ``shoplens inventory …`` was the command group before it moved under ``forecast``; kept for one release
app.add_typer(forecast_cli.inventory_app, name="inventory", hidden=True, deprecated=True)
app.add_typer(pricing_cli.app, name="pricing")
app.add_typer(graph_cli.app, name="graph")
app.add_typer(search_cli.app, name="search")
app.add_typer(assistant_cli.app, name="assistant")
# The engine's own group: a Spark standalone cluster on this machine (docs/scale.md).
app.add_typer(spark_cli.app, name="spark")
app.add_typer(stream_cli.app, name="stream")


# -- workspace ------------------------------------------------------------------------------------------
@command(app)
def init(path: Annotated[Path | None, typer.Argument(help="Folder to create (default ./shoplens-workspace).")] = None,
         timezone: Annotated[str, typer.Option(help="The shop's IANA timezone, for days and weeks.")] = "UTC",
         currency: Annotated[str, typer.Option(help="ISO 4217 currency code.")] = "USD",
         as_json: JsonOpt = False) -> None:
    """Create a workspace: shoplens.toml, warehouse.duckdb and the folders for models, indexes and reports."""
    ws = init_workspace(path, timezone=timezone, currency=currency)
    emit({"workspace": str(ws.path), "timezone": ws.config.timezone}, as_json,
         lambda: console.print(f"workspace ready: [bold]{ws.path}[/bold] (timezone {ws.config.timezone})"))


@command(app)
def ingest(table: Annotated[str, typer.Argument(help="Canonical table: orders, order_items, products …")],
           file: Annotated[Path, typer.Argument(help="CSV (any delimiter/encoding), JSON lines or Parquet; .gz ok.")],
           map_: Annotated[list[str] | None, typer.Option(
               "--map", help="SOURCE=CANONICAL column mapping; repeat.")] = None,
           format_: Annotated[str | None, typer.Option(
               "--format", help="csv, jsonl or parquet (default: by name).")] = None,
           tz: Annotated[str | None, typer.Option(
               "--tz", help="Timezone of naive timestamps (default: the shop's).")] = None,
           ts_format: Annotated[str | None, typer.Option(
               help="strptime format of the timestamps, if ambiguous.")] = None,
           delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
           encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
           no_header: Annotated[bool, typer.Option("--no-header", help="The CSV has no header row.")] = False,
           keep_pii: Annotated[bool, typer.Option("--keep-pii", help="Do not pseudonymize personal data.")] = False,
           reader: Annotated[str, typer.Option(
               help="CSV reader: auto (fastest exact one), arrow or python (to compare or rule one out).")] = "auto",
           workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Validate and load a file into a canonical table; rejected rows go to the quarantine with reasons."""
    from shoplens.data.mapping import parse_map_options

    ws = open_workspace(workspace)
    report = ws.ingest(table, file, mapping=parse_map_options(map_), format=format_, tz=tz, ts_format=ts_format,
                       delimiter=delimiter, encoding=encoding, header=not no_header, keep_pii=keep_pii,
                       reader=reader, progress=show_progress(as_json))
    emit(report.to_dict(), as_json, lambda: _print_report(report))


def _print_report(report: Any) -> None:
    style = "green" if report.quarantined == 0 else "yellow"
    console.print(f"[{style}]{report}[/{style}]", highlight=False)
    for message in report.messages:
        console.print(f"  note: {message}", highlight=False)
    if report.quarantine_file:
        console.print(f"  quarantined rows and reasons: {report.quarantine_file} "
                      f"(`shoplens quarantine show {report.table}`)", highlight=False)


@command(app)
def tables(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Row counts of the canonical tables and the latest ingest runs."""
    summary = open_workspace(workspace).summary()

    def render() -> None:
        rows = [{"table": k, "rows": v} for k, v in summary["tables"].items()]
        console.print(table_of(rows, ["table", "rows"], title=f"{summary['workspace']}"))
        runs = summary["ingest_runs"][:10]
        if runs:
            console.print(table_of(runs, ["table", "source", "read", "loaded", "quarantined", "started_at"],
                                   title="latest ingest runs (read = loaded + quarantined)"))
    emit(summary, as_json, render)


@command(quarantine_app, "show")
def quarantine_show(table: Annotated[str, typer.Argument(help="Canonical table.")],
                    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
                    workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Quarantined rows of a table, newest run first, with the reason and the source row."""
    from shoplens.data.quarantine import read_quarantine

    rows = read_quarantine(open_workspace(workspace), table, limit=limit)
    emit(rows, as_json, lambda: console.print(table_of(rows, ["run_id", "source_row", "reason", "values"])))


@command(app)
def forget(customer_id: Annotated[str, typer.Argument(help="The customer's id, or the e-mail it was given as.")],
           allow_missing: Annotated[bool, typer.Option(
               "--allow-missing", help="Succeed when the customer is not there (repeated erasures).")] = False,
           workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Erase a customer from everything the workspace holds: tables, derived results, models, caches, reports."""
    report = open_workspace(workspace).forget(customer_id, allow_missing=allow_missing)

    def render() -> None:
        rows = [{"place": c.place, "action": c.action, "count": c.count} for c in report.cleaned if c.count]
        console.print(table_of(rows, ["place", "action", "count"], title=f"erased {report.customer_key}"))
        if not report.found:
            console.print("the customer was not in the tables (--allow-missing): leftovers cleaned", highlight=False)
        console.print(f"no trace left in the {len(report.checked):,} places searched", highlight=False)
    emit(report.to_dict(), as_json, render)


# -- simulator and demo ---------------------------------------------------------------------------------
DEMO_SHOP = {"n_customers": 2_000, "n_products": 200, "days": 365}


@command(app)
def simulate(customers: Annotated[int, typer.Option(help="Customers.")] = DEMO_SHOP["n_customers"],
             products: Annotated[int, typer.Option(help="Products.")] = DEMO_SHOP["n_products"],
             days: Annotated[int, typer.Option(help="Days of history.")] = DEMO_SHOP["days"],
             start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "2024-01-01",
             seed: Annotated[int, typer.Option(help="Random seed (same seed, same shop).")] = 0,
             difficulty: Annotated[str, typer.Option(help="realistic (default) or easy.")] = "realistic",
             workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Simulate a shop with known ground truth into the workspace (truth stored in truth/)."""
    ws = init_workspace(workspace)
    reports = _simulate_into(ws, dict(n_customers=customers, n_products=products, days=days, start=start, seed=seed,
                                      difficulty=difficulty), quiet=as_json)
    emit({k: r.to_dict() for k, r in reports.items()}, as_json,
         lambda: [_print_report(r) for r in reports.values()])


def _simulate_into(ws: Workspace, params: dict[str, Any], quiet: bool) -> dict[str, Any]:
    from shoplens.data.synth import simulate as run_simulator

    if params.setdefault("difficulty", "realistic") not in ("realistic", "easy"):
        raise ShoplensError(f"--difficulty {params['difficulty']!r}: use realistic or easy")
    with err_console.status("simulating the shop …", spinner="dots") if not quiet else contextlib.nullcontext():
        shop = run_simulator(**params)
    return shop.write(ws, progress=not quiet and sys.stderr.isatty())


@command(app)
def demo(seed: Annotated[int, typer.Option(help="Random seed of the simulated shop.")] = 0,
         workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """init + simulate a shop + run every capability with demo settings + the report."""
    import time

    started = time.perf_counter()
    ws = init_workspace(workspace)
    if any(ws.counts().values()):
        raise ShoplensError(f"{ws.path} already holds data; give the demo an empty folder with --workspace")
    reports = _simulate_into(ws, {**DEMO_SHOP, "seed": seed}, quiet=as_json)
    results, report_path = _run_and_report(ws, None, "demo", quiet=as_json)
    summary = {"workspace": str(ws.path), "tables": {k: r.loaded for k, r in reports.items()},
               "steps": [r.__dict__ for r in results], "report": str(report_path),
               "seconds": round(time.perf_counter() - started, 1), **_failures(results)}

    def render() -> None:
        console.print(table_of([{"table": k, "rows": v} for k, v in summary["tables"].items()], ["table", "rows"],
                               title="simulated shop"))
        _print_steps(results, report_path)
        console.print(f"demo finished in {summary['seconds']} s — explore it with `shoplens serve -w {ws.path}`",
                      highlight=False)
    emit(summary, as_json, render)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


# -- datasets -------------------------------------------------------------------------------------------
@command(datasets_app, "list")
def datasets_list(as_json: JsonOpt = False) -> None:
    """Public datasets shoplens can load, with the tables they fill and their licences."""
    from shoplens.data.datasets import list_datasets

    infos = [d.to_dict() for d in list_datasets()]
    rows = [{"name": d["name"], "tables": ", ".join(d["tables"]), "licence": d["licence"]} for d in infos]
    emit(infos, as_json, lambda: console.print(table_of(rows, ["name", "tables", "licence"], title="datasets")))


@command(datasets_app, "load")
def datasets_load(name: Annotated[str, typer.Argument(help="Dataset name (see `shoplens datasets list`).")],
                  path: Annotated[Path, typer.Argument(help="The dataset's folder or file, as downloaded.")],
                  workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Load a public dataset from PATH into the canonical tables (validated like any ingest)."""
    from shoplens.data.datasets import load_dataset

    reports = load_dataset(name, open_workspace(workspace), path, progress=show_progress(as_json))
    emit({k: r.to_dict() for k, r in reports.items()}, as_json,
         lambda: [_print_report(r) for r in reports.values()])


# -- service --------------------------------------------------------------------------------------------
@command(app)
def serve(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8000,
          max_upload_mb: Annotated[int, typer.Option(help="Largest ingest upload accepted.")] = 512,
          retrain: Annotated[str | None, typer.Option(
              help="Retrain in the background on a schedule: 'daily 03:00' (the shop's timezone), 'hourly', "
                   "'every 6h' (`shoplens retrain` in a child process, one at a time).", show_default=False)] = None,
          workspace: WorkspaceOpt = None) -> None:
    """Serve the REST API and the dashboard (keys from `shoplens keys create`)."""
    from shoplens.retrain import parse_schedule
    from shoplens.serve import ServiceSettings, run_server

    if retrain is not None:
        parse_schedule(retrain)  # a bad schedule fails now, not in the background
    ws = open_workspace(workspace)
    console.print(f"serving {ws.path} on http://{host}:{port}/ — sign in with a key "
                  "(`shoplens keys create --role read`)", highlight=False)
    run_server(ws.path, host=host, port=port, settings=ServiceSettings(max_upload_bytes=max_upload_mb * 1024 * 1024,
                                                                       retrain_schedule=retrain))


@command(keys_app, "create")
def keys_create(role: Annotated[str, typer.Option(help="read, write or admin.")] = "read",
                name: Annotated[str, typer.Option(help="Who or what the key is for.")] = "default",
                workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Create an API key; it is printed once and stored only as a salted hash."""
    from shoplens.serve import create_key

    key = create_key(open_workspace(workspace), role, name)
    emit({"key": key, "role": role, "name": name}, as_json, lambda: console.print(
        f"{key}\n[dim]role {role}; shown once — keep it somewhere safe[/dim]", highlight=False))


@command(keys_app, "list")
def keys_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The API keys (ids, names, roles; never the secrets)."""
    from shoplens.serve import list_keys

    rows = [k.to_dict() for k in list_keys(open_workspace(workspace))]
    emit(rows, as_json, lambda: console.print(table_of(rows, ["id", "name", "role", "created_at"])))


@command(keys_app, "revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (or the key itself).")],
                workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an API key; the running service refuses it from the next request on."""
    from shoplens.serve import revoke_key

    info = revoke_key(open_workspace(workspace), key_id).to_dict()
    emit(info, as_json, lambda: console.print(f"revoked {info['id']} ({info['name']})", highlight=False))


# -- model registry ---------------------------------------------------------------------------------------
ModelName = Annotated[str, typer.Argument(help="The model's registry name (`shoplens models list`).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the deploy history).")]


@command(models_app, "list")
def models_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The registry's models: versions, the deployed one, and what a rollback would deploy."""
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(open_workspace(workspace))
    rows = [{"name": name, "capability": (cards := registry.versions(name))[-1].capability, "versions": len(cards),
             "deployed": registry.deployed_version(name), "latest": cards[-1].version,
             "rollback_to": registry.rollback_target(name)} for name in registry.names()]
    emit(rows, as_json, lambda: console.print(table_of(rows, ["name", "capability", "versions", "deployed", "latest",
                                                              "rollback_to"]) if rows else "no models yet"))


@command(models_app, "show")
def models_show(name: ModelName, version: Annotated[str | None, typer.Argument(
                    help="A version (or latest / deployed): its card and curves. Without: every version.")] = None,
                workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """A model's versions and deploy history, or one version's card (parameters, metrics with their protocol,
    data fingerprint) and training curves."""
    from shoplens.registry import ModelRegistry, protocol_label

    registry = ModelRegistry(open_workspace(workspace))
    if version is None:
        registry.path(name)  # a clear error for an unknown model
        deployed = registry.deployed_version(name)
        rows = [{"version": c.version, "created_at": c.created_at, "deployed": c.version == deployed,
                 "data_fingerprint": c.data_fingerprint, "notes": c.notes} for c in registry.versions(name)]
        history = [e.to_dict() for e in registry.history(name)]

        def show_versions() -> None:
            console.print(table_of(rows, list(rows[0]), title=f"{name}: versions"))
            if history:
                console.print(table_of(history[-10:], ["ts", "action", "version", "previous", "by", "reason"],
                                       title="deploy history (latest 10)"))

        emit({"name": name, "deployed": deployed, "versions": rows, "history": history}, as_json, show_versions)
        return
    card = registry.card(name, version)
    curves = registry.curves(name, card.version)
    metrics = [{"model": r.get("model"), "role": r.get("role"), "protocol": protocol_label(r.get("protocol")),
                **(r.get("metrics") or {})} for r in card.metrics]

    def show_card() -> None:
        console.print(f"{card.name} {card.version} ({card.capability}), trained {card.created_at}, data "
                      f"{card.data_fingerprint}\n{card.notes}", highlight=False)
        console.print(table_of([{"param": k, "value": v} for k, v in card.params.items()], ["param", "value"]))
        if metrics:
            console.print(table_of(metrics, list(dict.fromkeys(k for m in metrics for k in m))))
        console.print(_curves_line(curves), highlight=False)

    emit({**card.to_dict(), "curves": curves}, as_json, show_card)


def _curves_line(curves: dict[str, Any]) -> str:
    if not curves:
        return "no training curves (fitted in one go)"
    parts = []
    for part, series in curves.items():
        counts = ", ".join(f"{len(points)} {name} points" for name, points in series.items() if points)
        parts.append(f"{part or 'curves'}: {counts}")
    return "; ".join(parts)


@command(models_app, "deploy")
def models_deploy(name: ModelName, version: Annotated[str, typer.Argument(help="The version (or latest).")],
                  reason: ReasonOpt = "", workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Deploy a version: a running service serves it within a second (hot reload)."""
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(open_workspace(workspace))
    registry.deploy(name, version, by=_cli_user(), reason=reason)
    _print_event(name, registry.last_event, as_json)


@command(models_app, "rollback")
def models_rollback(name: ModelName, reason: ReasonOpt = "", workspace: WorkspaceOpt = None,
                    as_json: JsonOpt = False) -> None:
    """Deploy again the version deployed before the current one (twice: two deploys back)."""
    from shoplens.registry import ModelRegistry

    registry = ModelRegistry(open_workspace(workspace))
    registry.rollback(name, by=_cli_user(), reason=reason)
    _print_event(name, registry.last_event, as_json)


def _cli_user() -> str:
    import getpass

    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):  # no user name in this environment (a bare container)
        return "cli"


def _print_event(name: str, event: Any, as_json: bool) -> None:
    data = {"name": name, **event.to_dict()}
    emit(data, as_json, lambda: console.print(
        f"{name}: {event.action} to {event.version} (was {event.previous or 'none'})", highlight=False))


@command(models_app, "diff")
def models_diff(name: ModelName, a: Annotated[str, typer.Argument(help="The first version (or deployed).")],
                b: Annotated[str, typer.Argument(help="The second version (or latest).")],
                workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Two versions side by side: data fingerprint, parameters that differ, every metric with the change."""
    from shoplens.registry import ModelRegistry

    diff = ModelRegistry(open_workspace(workspace)).diff(name, a, b)
    changed = [p for p in diff["params"] if p["changed"]]
    fingerprint = diff["data_fingerprint"]

    def show_diff() -> None:
        console.print(f"{name}: a = {diff['a']}, b = {diff['b']}; data {fingerprint['a']} / {fingerprint['b']} "
                      f"({'same data' if fingerprint['same'] else 'different data'})", highlight=False)
        console.print(table_of(changed, ["param", "a", "b"], title="parameters that differ") if changed
                      else "the same parameters")
        if diff["metrics"]:
            console.print(table_of(diff["metrics"], ["role", "model", "metric", "protocol", "a", "b", "delta"],
                                   title="metrics"))

    emit(diff, as_json, show_diff)


# -- pipeline ---------------------------------------------------------------------------------------------
@command(app, "run")
def run_pipeline(capability: Annotated[list[str] | None, typer.Option(
                     "--capability", "-c", help="Run only these capabilities (repeat); default all.")] = None,
                 profile: Annotated[str, typer.Option(help="demo (small, fast settings) or full.")] = "full",
                 engine: Annotated[str, typer.Option(
                     help="duckdb (default) or spark: the analyses and every deployed model's batch scoring on "
                          "Spark (docs/scale.md); needs shoplens[spark] and Java.")] = "duckdb",
                 source: Annotated[Path | None, typer.Option(
                     help="With --engine spark: a folder of <table>.parquet files (a lake) to read instead of the "
                          "warehouse.", show_default=False)] = None,
                 spark_master: Annotated[str | None, typer.Option(
                     "--spark-master", "--master", show_default=False,
                     help="With --engine spark: spark://host:7077, local[4] …; default $SHOPLENS_SPARK_MASTER, else "
                          "local[2].")] = None,
                 full_rerun: Annotated[bool, typer.Option(
                     "--full-rerun", help="Run every step and retrain every model, even where the data did not "
                                          "change since the last run (default: incremental).")] = False,
                 workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Run the six stages (prepare → load pretrained → preprocess → train → evaluate → deploy), then the report.
    Incremental: a step whose inputs did not change since its last run is skipped, and a model whose data grew a
    little scores the new rows instead of retraining (docs/operations.md, "Incremental runs"); --full-rerun redoes
    everything. With --engine spark: the SQL analyses and the deployed models' scoring on Spark, results as
    Parquet in <workspace>/spark/results/ and in the warehouse."""
    ws = open_workspace(workspace)
    options = _engine_options(engine, source, spark_master)
    results, report_path = _run_and_report(ws, capability, profile, quiet=as_json, engine=engine, options=options,
                                           full_rerun=full_rerun)
    emit({"steps": [r.__dict__ for r in results], "report": str(report_path), **_failures(results)}, as_json,
         lambda: _print_steps(results, report_path))
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _engine_options(engine: str, source: Path | None, master: str | None) -> dict[str, Any]:
    """The Spark run's options, checked before anything runs (PySpark and Java present, the lake a folder)."""
    if engine not in ("duckdb", "spark"):
        raise ShoplensError(f"--engine {engine!r}: use duckdb or spark")
    if engine == "duckdb":
        if source is not None or master is not None:
            raise ShoplensError("--source and --spark-master go with --engine spark")
        return {}
    from shoplens.engine.scoring import check_spark

    check_spark()
    if source is not None and not source.is_dir():
        raise ShoplensError(f"--source {source}: not a folder of <table>.parquet files")
    return {"source": source, "master": master}


def _run_and_report(ws: Workspace, capabilities: list[str] | None, profile: str, quiet: bool, *,
                    engine: str = "duckdb", options: dict[str, Any] | None = None,
                    full_rerun: bool = True) -> tuple[list, Path]:
    from shoplens.pipeline import STAGE_TITLES, run
    from shoplens.report import build_report

    if profile not in ("demo", "full"):
        raise ShoplensError(f"--profile {profile!r}: use demo or full")

    def on_step(step: Any, result: Any) -> None:
        # the log says which step a library warning came from
        run_log.info("%s · %s %s", step.capability, step.name, result.status if result else "started")
        if quiet:
            return
        if result is None:
            err_console.print(f"[dim]{STAGE_TITLES[step.stage]}:[/dim] {step.capability} · {step.name} …",
                              highlight=False)
        elif result.status != "ok":
            err_console.print(f"  [red]{result.status}[/red]: {(result.error or '').splitlines()[0]}", highlight=False)

    def on_note(line: str) -> None:
        run_log.info("  %s", line)
        if not quiet:
            err_console.print(f"  [dim]{escape(line)}[/dim]", highlight=False, soft_wrap=True)

    results = run(ws, capabilities, profile=profile, on_step=on_step, engine=engine,  # type: ignore[arg-type]
                  options=options, on_note=on_note, full_rerun=full_rerun)
    return results, build_report(ws, results)


def _failures(results: list) -> dict[str, str]:
    """``{"error": …}`` naming the failed steps, for the JSON of a run that exits 1 (empty when none failed)."""
    failed = [f"{r.capability} · {r.name}" for r in results if r.status == "failed"]
    if not failed:
        return {}
    return {"error": f"{len(failed)} step{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}"}


def _print_steps(results: list, report_path: Path) -> None:
    from shoplens.pipeline import STAGE_TITLES

    rows = [{"stage": STAGE_TITLES[r.stage], "capability": r.capability, "step": r.name,
             "status": r.status, "seconds": r.seconds} for r in results]
    console.print(table_of(rows, ["stage", "capability", "step", "status", "seconds"], title="shoplens run"))
    console.print(f"report: [bold]{report_path}[/bold]", highlight=False, soft_wrap=True)  # paths stay whole
    logged = logged_warnings()
    if logged and logged[0]:
        err_console.print(f"[dim]{logged[0]:,} library warnings in {logged[1]}[/dim]", highlight=False,
                          soft_wrap=True)


@command(app)
def report(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Write the HTML report (one self-contained file) from what the workspace holds now; says so when the last
    run did not finish (``last_run`` in JSON)."""
    from shoplens.pipeline import last_run, unfinished_line
    from shoplens.report import build_report

    ws = open_workspace(workspace)
    path = build_report(ws)
    run = last_run(ws)

    def render() -> None:
        console.print(f"report: [bold]{path}[/bold]", highlight=False, soft_wrap=True)
        if run and not run["finished"]:
            console.print(f"[yellow]warning:[/yellow] {escape(unfinished_line(run))}", highlight=False,
                          soft_wrap=True)
    emit({"report": str(path), "last_run": run}, as_json, render)


# -- operations: retraining and drift ---------------------------------------------------------------------
@command(app, "retrain")
def retrain_models(capability: Annotated[str | None, typer.Option(
                       "--capability", "-c", help="Retrain only this capability (default: every one that can).",
                       show_default=False)] = None,
                   if_drift: Annotated[bool, typer.Option(
                       "--if-drift", help="Only when drift raised the alarm against the champion's training data.")]
                   = False,
                   min_gain: Annotated[float, typer.Option(
                       help="Deploy the challenger only when it beats the champion by this fraction.")] = 0.02,
                   window_days: Annotated[int, typer.Option(
                       help="The most recent days both are scored on (the challenger never trains on them).")] = 28,
                   profile: Annotated[str, typer.Option(
                       help="The recipe when no champion is deployed: demo or full.")] = "full",
                   workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Champion against challenger on the most recent days; deploy only what is better (docs/operations.md)."""
    from shoplens.retrain import retrain

    ws = open_workspace(workspace)
    note = None if as_json else (lambda line: err_console.print(f"[dim]{escape(line)}[/dim]", highlight=False))
    rows = [d.to_dict() for d in retrain(ws, capability, if_drift=if_drift, min_gain=min_gain,
                                         window_days=window_days, profile=profile, on_note=note)]

    def render() -> None:
        shown = [{"capability": r["capability"], "deployed": r["deployed"], "metric": r["metric"],
                  "champion": (r["champion"] or {}).get("value"), "challenger": (r["challenger"] or {}).get("value"),
                  "gain": None if r["gain"] is None else f"{r['gain']:.1%}", "reason": r["reason"]} for r in rows]
        console.print(table_of(shown, ["capability", "deployed", "metric", "champion", "challenger", "gain",
                                       "reason"]))
    emit(rows, as_json, render)


@command(app, "drift")
def drift_check(model: Annotated[str | None, typer.Option(
                    help="Compare with this deployed model's training data (default: the newest deployed).",
                    show_default=False)] = None,
                workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Drift of the data since a deployed model was trained: PSI per feature, unseen products and customers."""
    from shoplens.drift import check_drift
    from shoplens.errors import NotFound

    report = check_drift(open_workspace(workspace), model=model, trigger="cli")
    if report is None:
        raise NotFound("no model is deployed: drift compares new data with a deployed model's training data")

    def render() -> None:
        rows = [{**vars(f), "value": f.value} for f in report.features]
        console.print(table_of(rows, ["feature", "measure", "value", "alarm", "status", "n_reference", "n_new",
                                      "detail"], title=report.line()))
    emit(report.to_dict(), as_json, render)


def main() -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    capture_warnings()  # library warnings go to the workspace's log, not the terminal (shoplens.logs)
    app()


if __name__ == "__main__":
    main()
