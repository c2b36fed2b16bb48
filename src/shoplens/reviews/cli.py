"""``shoplens reviews train|evaluate|predict|aspects``: review intelligence from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shoplens import clitools as cli
from shoplens.errors import InputError, NotFound

app = cli.command_group("Review intelligence: star rating, sentiment, aspects with quotes, explanations.")


def _metric_rows(records: list[Any]) -> list[dict[str, Any]]:
    from shoplens.reviews.evaluate import summary

    return [{"dataset": r.dataset, **row} for r, row in zip(records, summary(records), strict=True)]


def _show_records(rows: list[dict[str, Any]], title: str) -> None:
    columns = ["dataset", "model", "role", *[k for k in ("accuracy", "macro_f1", "mae", "within_one") if rows and
                                             any(k in r for r in rows)], "seconds"]
    cli.console.print(cli.table_of(rows, columns, title=title))


@cli.command(app)
def train(method: Annotated[str, typer.Option(help="English: finetune-stack (default), finetune, stack, tfidf, "
                                                   "embedding.")] = "finetune-stack",
          chinese_method: Annotated[str, typer.Option(help="Chinese: finetune-stack (default), finetune, stack, "
                                                                 "tfidf.")] = "finetune-stack",
          encoder: Annotated[str, typer.Option(help="Encoder to fine-tune: minilm or mpnet (or a folder).")] = "minilm",
          epochs: Annotated[int, typer.Option(min=1, help="Fine-tuning epochs (early stopping on validation).")] = 2,
          max_steps: Annotated[int | None, typer.Option(min=1, help="Stop fine-tuning after this many steps.")] = None,
          deploy: Annotated[bool, typer.Option(help="Deploy the new versions and store predictions and "
                                                    "aspects in the warehouse.")] = True,
          adapt: Annotated[bool, typer.Option(help="Then self-train on the workspace's reviews without a rating "
                                                   "or label (docs/reviews.md).")] = False,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Train the rating (or sentiment) and aspect models on the workspace's reviews and evaluate them."""
    from shoplens.reviews.api import train as run

    ws = cli.open_workspace(workspace)
    trained = run(ws, deploy=deploy, store=deploy, method=method, chinese_method=chinese_method, encoder=encoder,
                  epochs=epochs, max_steps=max_steps, adapt=adapt, show_progress=cli.show_progress(as_json))
    rows = _metric_rows(trained.records)
    cli.emit({"versions": trained.versions, "records": [r.model_dump() for r in trained.records]}, as_json,
             lambda: (_show_records(rows, "test split (80/10/10 stratified, seed 0)"),
                      cli.console.print(cli.table_of(
                          [{"model": k, "version": v} for k, v in trained.versions.items()], ["model", "version"],
                          title="registered" + (" and deployed" if deploy else "")))))


@cli.command(app)
def evaluate(version: Annotated[str, typer.Option(help="Model version: deployed, latest or an id.")] = "deployed",
             baselines: Annotated[bool, typer.Option(help="Train and score the two baselines beside.")] = True,
             workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Score the rating/sentiment model on its test split, beside TF-IDF and frozen-embedding baselines."""
    from shoplens.reviews.models import RatingModel, SentimentModel

    ws = cli.open_workspace(workspace)
    records, report = [], {}
    for model_class in (RatingModel, SentimentModel):
        try:
            model = model_class.from_registry(ws, version)
        except NotFound:
            continue
        records += model.evaluate(ws, baselines=baselines)
        report[model.registry_name] = model.report_
    if not records:
        raise NotFound(f"no review model in {ws.path}; train one with `shoplens reviews train`")
    rows = _metric_rows(records)

    def render() -> None:
        _show_records(rows, "test split (80/10/10 stratified, seed 0)")
        for name, detail in report.items():
            cli.console.print(cli.table_of(detail["per_class"], ["class", "precision", "recall", "f1", "support"],
                                           title=f"{name}: per class"))
            names = detail["class_names"]
            cli.console.print(cli.table_of([{"true \\ predicted": n, **dict(zip(names, row, strict=True))}
                                            for n, row in zip(names, detail["confusion"], strict=True)],
                                           ["true \\ predicted", *names], title=f"{name}: confusion matrix"))

    cli.emit({"records": [r.model_dump() for r in records], "report": report}, as_json, render)


@cli.command(app)
def predict(texts: Annotated[list[str] | None, typer.Argument(help="Review texts.")] = None,
            file: Annotated[Path | None, typer.Option("--file", help="A text file, one review per line.")] = None,
            explain: Annotated[bool, typer.Option(help="Show the words that drove each prediction.")] = False,
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Stars and sentiment of review texts with the deployed model (and, with --explain, why)."""
    from shoplens.reviews.api import load_deployed

    items = list(texts or [])
    if file is not None:
        if not file.is_file():
            raise InputError("no such file", file=str(file))
        items += [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not items:
        raise InputError("give review texts as arguments or with --file")
    models = load_deployed(cli.open_workspace(workspace))
    model = models.get("rating") or models.get("sentiment")
    if model is None:
        raise NotFound("no deployed rating or sentiment model; run `shoplens reviews train` first")
    rows = predict_rows(model, items, explain)
    columns = ["text", "stars", "sentiment", "confidence"] + (["why"] if explain else [])
    cli.emit(rows, as_json, lambda: cli.console.print(cli.table_of(
        [{**r, "why": ", ".join(f"{w['text']} ({w['weight']:+.2f})" for w in r.get("words", []))} for r in rows],
        columns)))


def predict_rows(model: Any, texts: list[str], explain: bool,
                 languages: list[str] | None = None) -> list[dict[str, Any]]:
    """Stars (rating models), sentiment and its probability, and the explanation, per text (one pass of the
    model for the predictions, one per word for the explanations); ``languages``: detected when absent."""
    import numpy as np

    from shoplens.reviews.models import RatingModel, stars_to_sentiment

    index, probs, groups = model.predict_with_proba(texts, languages)
    if isinstance(model, RatingModel):
        stars, probs = index + 1, stars_to_sentiment(probs)
        names = ["negative", "neutral", "positive"]
        sentiment = model.sentiment_of(probs, groups)
    else:
        stars, names = [None] * len(texts), model.class_names_
        sentiment = np.asarray(names, dtype=object)[index]
    rows = [{"text": text, "stars": None if stars[i] is None else int(stars[i]), "sentiment": str(sentiment[i]),
             "confidence": round(float(probs[i, names.index(sentiment[i])]), 4)} for i, text in enumerate(texts)]
    if explain:
        for row, why in zip(rows, model.explain(texts, languages), strict=True):
            row["explained_label"] = why["label"]
            row["words"] = why["words"]
    return rows


@cli.command(app)
def aspects(product: Annotated[str | None, typer.Option(help="Only this product id.")] = None,
            category: Annotated[str | None, typer.Option(help="Only this category (its full path).")] = None,
            by: Annotated[str, typer.Option(help="Summarise by product or category.")] = "category",
            top: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 20,
            refresh: Annotated[bool, typer.Option(help="Recompute mentions and summaries with the deployed "
                                                       "models first.")] = False,
            workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """What customers praise and complain about, per product or category, with counts and quotes."""
    import json

    from shoplens.reviews.aspects import summary_sentence
    from shoplens.reviews.store import SUMMARY
    from shoplens.workspace import has_table

    if by not in ("product", "category"):
        raise InputError(f"--by must be product or category, not {by!r}")
    ws = cli.open_workspace(workspace)
    with ws.connect() as con:
        stored = has_table(con, SUMMARY)
    if refresh or not stored:
        from shoplens.reviews.api import load_deployed
        from shoplens.reviews.store import score_workspace

        models = load_deployed(ws)
        if "aspects" not in models:
            raise NotFound("no deployed aspect model; run `shoplens reviews train` first")
        score_workspace(ws, **models)
    level, key = ("product", product) if product else ("category", category) if category else (by, None)
    query = f"SELECT * FROM {SUMMARY} WHERE level = ?" + (" AND key = ?" if key else "")
    table = ws.sql(query + " ORDER BY mentions DESC, key, aspect", [level, key] if key else [level])
    if key and table.empty:
        raise NotFound(f"no aspect mentions for {level} {key!r}")
    for column in ("positive_quotes", "negative_quotes"):
        table[column] = table[column].map(json.loads)
    records = json.loads(table.to_json(orient="records", force_ascii=False))
    sentence = summary_sentence(table) if key else None

    def render() -> None:
        rows = [{**r, "quote +": (r["positive_quotes"] or [""])[0], "quote −": (r["negative_quotes"] or [""])[0]}
                for r in records[:top]]
        columns = ["key", "label", "mentions", "positive", "negative", "net", "quote +", "quote −"]
        cli.console.print(cli.table_of(rows, columns, title=f"aspects by {level}"))
        if sentence:
            cli.console.print(sentence)

    cli.emit({"level": level, "key": key, "summary": sentence, "aspects": records}, as_json, render)
