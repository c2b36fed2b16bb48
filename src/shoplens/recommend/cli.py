"""``shoplens recommend …``: train and register a recommender, evaluate it against the baselines, recommend
for a customer (with explanations), list similar or bought-together products, and score every customer
into the warehouse."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from shoplens import clitools as cli

app = cli.command_group("Recommendations: train, evaluate, for-user, similar, together, score.")

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="auto (default: the candidate best on validation), "
                                                             "session_ease, ease, itemknn, popularity, als, bpr, "
                                                             "sasrec, text_hybrid, tfidf_knn …")]
KOpt = Annotated[int, typer.Option("--k", "-k", min=1, max=1000, help="How many products.")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE model parameter; repeat "
                                                                          "(auto: -p time_budget=120 -p "
                                                                          "'candidates=[\"ease\", \"sasrec\"]').")]


def _records(frame: Any) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _params(pairs: list[str] | None) -> dict[str, Any]:
    return cli.name_values(pairs, "--param", "lam=300")


@cli.command(app)
def train(model: ModelOpt = "auto", param: ParamOpt = None,
          deploy: Annotated[bool, typer.Option("--deploy/--no-deploy", help="Serve this version.")] = True,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Fit a model on the workspace's interactions and register it (with its metrics on a 75/25 split)."""
    from shoplens.recommend import api

    card = api.train(cli.open_workspace(workspace), model, params=_params(param), deploy=deploy)
    rows = [{"model": m["model"], "role": m["role"], "ndcg@10": m["metrics"].get("ndcg@10"),
             "recall@10": m["metrics"].get("recall@10"), "protocol": m["protocol"]["split"]} for m in card.metrics]
    cli.emit(card.to_dict(), as_json, lambda: (
        cli.console.print(f"registered recommend version [bold]{card.version}[/bold]"
                          f"{' (deployed)' if deploy else ''}: {card.notes}", highlight=False),
        cli.console.print(cli.table_of(rows, ["model", "role", "ndcg@10", "recall@10", "protocol"])),
        _print_selection(card.params)))


def _print_selection(params: dict[str, Any]) -> None:
    """The candidates an AutoRecommender scored on validation (nothing for another model)."""
    from shoplens.recommend.api import selection_rows

    selection = selection_rows(params)
    if not selection:
        return
    metric = params["metric"]
    rows = [{"candidate": r["candidate"], metric: r["value"], "status": r["status"], "params": json.dumps(r["params"]),
             "seconds": r["seconds"]} for r in selection]
    cli.console.print(cli.table_of(rows, ["candidate", metric, "status", "params", "seconds"],
                                   title=f"candidates on validation ({params['validation']['split']})"))


@cli.command(app)
def evaluate(model: ModelOpt = "auto", param: ParamOpt = None,
             split: Annotated[str, typer.Option(help="stratified (per user 75/25), temporal or leave_one_out.")]
             = "stratified",
             seed: Annotated[int, typer.Option(help="Seed of the stratified split.")] = 42,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """The model and the baselines (popularity, ItemKNN, EASE) on one protocol-labelled split."""
    from shoplens.recommend import api

    records = api.evaluate(cli.open_workspace(workspace), (model,), split=split, seed=seed,
                           params={model: _params(param)})
    data = [r.to_json_dict() for r in records]
    metrics = ["ndcg@10", "hr@10", "precision@10", "recall@10", "map@10", "recall@20", "coverage@10"]
    rows = [{"model": r.model, "role": r.role, **{m: r.metrics.get(m) for m in metrics}} for r in records]
    cli.emit(data, as_json, lambda: cli.console.print(cli.table_of(rows, ["model", "role", *metrics],
                                                                   title=records[0].protocol.label())))


@cli.command(app, "for-user")
def for_user(customer_id: Annotated[str, typer.Argument(help="The customer.")], k: KOpt = 10,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Recommendations for one customer from the deployed model, each with its explanation."""
    from shoplens.recommend import api

    frame = api.for_user(cli.open_workspace(workspace), customer_id, k)
    cli.emit(_records(frame), as_json, lambda: cli.console.print(cli.table_of(
        _records(frame), ["rank", "product_id", "title", "score", "reason"], title=f"for customer {customer_id}")))


@cli.command(app)
def similar(product_id: Annotated[str, typer.Argument(help="The product.")], k: KOpt = 10,
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Products similar to one product (customers who chose one also chose the other)."""
    from shoplens.recommend import api

    frame = api.similar(cli.open_workspace(workspace), product_id, k)
    cli.emit(_records(frame), as_json, lambda: cli.console.print(cli.table_of(
        _records(frame), ["rank", "product_id", "title", "score", "reason"], title=f"similar to {product_id}")))


@cli.command(app)
def together(product_id: Annotated[str, typer.Argument(help="The product.")], k: KOpt = 10,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Products bought in the same orders as one product (support, confidence, lift)."""
    from shoplens.recommend.related import bought_together

    frame = bought_together(cli.open_workspace(workspace), product_id, k)
    cli.emit(_records(frame), as_json, lambda: cli.console.print(cli.table_of(
        _records(frame), ["rank", "other_id", "together", "confidence", "lift", "reason"],
        title=f"bought together with {product_id}")))


@cli.command(app)
def score(k: KOpt = 10, workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Top-k with explanations for every customer into the warehouse table recommend_top_k."""
    from shoplens.recommend import api

    rows = api.score_all(cli.open_workspace(workspace), k=k, progress=cli.show_progress(as_json))
    cli.emit({"table": api.TOP_K_TABLE, "rows": rows}, as_json,
             lambda: cli.console.print(f"wrote {rows:,} recommendations to {api.TOP_K_TABLE}", highlight=False))
