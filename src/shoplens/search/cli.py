"""``shoplens search …``: build the product index, query it (``--explain`` shows every signal and field), evaluate
it on the shop's own queries, fine-tune the search encoder."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from shoplens import clitools as cli

app = cli.command_group("Product search: build, query, evaluate, finetune.")

FilterOpt = Annotated[str | None, typer.Option("--filters", "-f", help='JSON object: {"category": "Shoes", '
                                               '"brand": "Nike", "price_min": 10, "price_max": 50}')]


def parse_filters(text: str | None) -> dict[str, Any]:
    from shoplens.errors import InputError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--filters is not JSON ({exc.msg}); e.g. '{{\"price_max\": 50}}'") from None
    if not isinstance(value, dict):
        raise InputError(f"--filters must be a JSON object, got {type(value).__name__}")
    return value


@cli.command(app)
def build(lexical_only: Annotated[bool, typer.Option("--lexical-only", help="BM25 only, no encoder.")] = False,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Index every product (BM25 fields + dense vectors) into the workspace's search/ folder."""
    from shoplens.search import api

    search = api.build(cli.open_workspace(workspace), encoder=None if lexical_only else "minilm")
    summary = {"folder": str(search.folder_), "products": search.products_, "signals": list(search.signal_weights()),
               "ranker": search.ranker_info_,
               "finetuned_encoder": search.finetuned_encoder_}
    cli.emit(summary, as_json, lambda: cli.console.print(
        f"indexed {search.products_:,} products into {search.folder_} (signals: "
        f"{', '.join(summary['signals'])})", highlight=False))


@cli.command(app)
def query(text: Annotated[str, typer.Argument(help="What to search for.")],
          k: Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="How many results.")] = 10,
          filters: FilterOpt = None,
          explain: Annotated[bool, typer.Option("--explain", help="Show each signal and each field's BM25.")] = False,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Search the built index; results with their signals and facets."""
    from shoplens.search import api

    page = api.load(cli.open_workspace(workspace)).query(text, k=k, filters=parse_filters(filters), explain=explain)
    cli.emit(page.to_dict(), as_json, lambda: _render(page, explain))


def _render(page: Any, explain: bool) -> None:
    rows = []
    for item in page.items:
        row = {key: item[key] for key in ("rank", "product_id", "title", "brand", "price", "score")}
        row |= item["signals"]
        if explain:
            row["fields"] = ", ".join(f"{f} {v:.2f}" for f, v in item.get("fields", {}).items())
        rows.append(row)
    columns = ["rank", "product_id", "title", "brand", "price", "score", *page.signals] + (["fields"] if explain
                                                                                           else [])
    title = f"{page.query!r} → terms {' '.join(page.terms) or '(none)'}; weights {page.weights}"
    cli.console.print(cli.table_of(rows, columns, title=title))
    for name, values in page.facets.items():
        shown = ", ".join(f"{v['value'] if 'value' in v else _band(v)} ({v['count']})" for v in values)
        cli.console.print(f"[bold]{name}[/bold]: {shown or '-'}", highlight=False)


def _band(value: dict[str, Any]) -> str:
    high = value["max"]
    return f"{value['min']:g}+" if high is None else f"{value['min']:g}–{high:g}"


@cli.command(app)
def evaluate(max_queries: Annotated[int, typer.Option(min=1, help="Pairs sampled as queries.")] = 500,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Known-item search on the shop's own (query, product) pairs, the built search beside BM25 alone."""
    from shoplens.search import api

    ws = cli.open_workspace(workspace)
    records = api.load(ws).evaluate(ws, max_queries=max_queries)
    rows = [{"model": r.model, "role": r.role, **r.metrics} for r in records]
    cli.emit([r.to_json_dict() for r in records], as_json, lambda: cli.console.print(
        cli.table_of(rows, ["model", "role", "recall@10", "mrr@10"], title=records[0].protocol.label())))


@cli.command(app)
def finetune(seconds: Annotated[float, typer.Option(min=10, help="CPU budget of the training.")] = 600.0,
             seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Fine-tune the search encoder on the shop's pairs; deployed only when it beats off-the-shelf on validation
    (run `shoplens search build` afterwards to use it)."""
    from shoplens.search import api

    model, card = api.finetune(cli.open_workspace(workspace), seconds=seconds, seed=seed)
    cli.emit({"version": card.version, "validation": model.validation_, "deployed": model.beats_base_}, as_json,
             lambda: cli.console.print(f"search encoder {card.version}: {card.notes}", highlight=False))


@cli.command(app)
def stats(kind: Annotated[str, typer.Option(help="zero: found nothing; slow; all.")] = "all",
          top: Annotated[int, typer.Option(min=1, max=2000, help="How many query texts.")] = 20,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """The service's searches that found nothing or were slow, counted by query text (no customer, no session)."""
    from shoplens.search.querylog import QueryLog

    summary = QueryLog.of(cli.open_workspace(workspace)).stats(kind, top)
    title = (f"{summary['zero_results']:,} searches found nothing, {summary['slow']:,} took ≥ "
             f"{summary['slow_ms']:g} ms ({summary['queries_logged']:,} texts in {summary['file']})")
    cli.emit(summary, as_json, lambda: cli.console.print(cli.table_of(
        summary["queries"], ["query", "zero_results", "slow", "median_ms", "last_seen"], title=title)))
