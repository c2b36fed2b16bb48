"""``shoplens assistant …``: train the customer-service assistant, ask it a question (as a customer with
``--customer``), issue a customer token for the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shoplens import clitools as cli

app = cli.command_group("Customer-service assistant: train, evaluate, ask, token, digest.")


@cli.command(app)
def train(seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Learn the shop's intents (assistant/intents.csv) and index its knowledge into assistant/model/."""
    from shoplens.assistant import api

    assistant = api.train(cli.open_workspace(workspace), seed=seed)
    summary = {"folder": str(assistant.folder_), "passages": assistant.passages_,
               "intents": assistant.router_.classes_}
    cli.emit(summary, as_json, lambda: cli.console.print(
        f"assistant trained into {assistant.folder_}: "
        f"{', '.join(f'{n:,} {kind}' for kind, n in assistant.passages_.items())} passages; "
        f"intents {', '.join(summary['intents'])}", highlight=False))


@cli.command(app)
def evaluate(workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Answer retrieval on the shop's own past questions, beside BM25 and the dense cosine alone."""
    from shoplens.assistant import api

    ws = cli.open_workspace(workspace)
    records = [r.to_json_dict() for r in api.load(ws).evaluate(ws)]
    rows = [{"model": r["model"], **r["metrics"]} for r in records]
    cli.emit(records, as_json, lambda: cli.console.print(cli.table_of(
        rows, ["model", "mrr@10", "recall@10"], title=records[0]["protocol"]["notes"] if records else "")))


@cli.command(app)
def ask(question: Annotated[str, typer.Argument(help="The customer's question.")],
        customer: Annotated[str | None, typer.Option("--customer", help="Ask as this customer (order look-ups).")]
        = None,
        product: Annotated[str | None, typer.Option("--product", help="The product page it is asked on.")] = None,
        generate: Annotated[bool, typer.Option("--generate", help="Rewrite the answer with a language model "
                                               "($SHOPLENS_LLM, default Qwen), streamed; kept only if every "
                                               "sentence is supported by the evidence it cites.")] = False,
        workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Answer a question with cited evidence (or an order status, a hand-off)."""
    from shoplens.assistant import api

    def show(piece: str) -> None:
        cli.console.print(piece, end="", highlight=False, markup=False)

    reply = api.ask(cli.open_workspace(workspace), question, customer_id=customer, product_id=product,
                    channel="cli", generate=generate, on_token=None if as_json else show)
    cli.emit(reply, as_json, lambda: _render(reply))


def _render(reply: dict[str, Any]) -> None:
    generation = reply.get("generation") or {}
    if generation.get("text"):  # the streamed text is on screen already
        verdict = "checked: every sentence supported" if generation["accepted"] else \
            f"replaced by the extractive answer ({generation['reason']}):"
        cli.console.print(f"\n[dim]{verdict}[/dim]", highlight=False)
    if not generation.get("accepted"):
        cli.console.print(reply["text"], highlight=False)
    facts = [reply["kind"], f"intent {reply['intent']} ({reply['intent_confidence']:.2f})" if reply["intent"] else "",
             f"confidence {reply['confidence']:.2f}" if reply["confidence"] is not None else "",
             "handed to a person" if reply["handoff"] else ""]
    cli.console.print(f"[dim]{' · '.join(f for f in facts if f)}[/dim]", highlight=False)
    rows = [{"evidence": c["evidence_id"], "kind": c["kind"], "score": round(c["score"], 3),
             "text": c["text"][:100]} for c in reply["citations"]]
    if rows:
        cli.console.print(cli.table_of(rows, ["evidence", "kind", "score", "text"], title="evidence"))


@cli.command(app)
def token(customer: Annotated[str, typer.Argument(help="The customer the token is for.")],
          hours: Annotated[float, typer.Option(help="How long it is valid.")] = 24.0,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Issue a customer token: with it (X-Customer-Token) the customer may ask about their own orders."""
    from shoplens.assistant.orders import issue_customer_token

    value = issue_customer_token(cli.open_workspace(workspace), customer, hours=hours)
    cli.emit({"token": value, "hours": hours}, as_json, lambda: cli.console.print(
        f"{value}\n[dim]valid {hours:g} h; give it to that customer only[/dim]", highlight=False))


@cli.command(app)
def digest(product: Annotated[str, typer.Argument(help="The product.")],
           top: Annotated[int, typer.Option(min=1, max=10, help="Aspects per side.")] = 3,
           workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """What customers say about a product: praised and criticised aspects, quoted with their citations."""
    from shoplens.assistant.digest import review_digest

    result = review_digest(cli.open_workspace(workspace), product, top=top)

    def render() -> None:
        cli.console.print(f"[bold]{result['title'] or result['product_id']}[/bold] — {result['reviews']} reviews. "
                          f"{result['summary']}", highlight=False)
        for side in ("praised", "criticised"):
            for aspect in result[side]:
                cli.console.print(f"{side} {aspect['label']} ({aspect['positive']}+ / {aspect['negative']}−)",
                                  highlight=False)
                for quote in aspect["quotes"]:
                    cli.console.print(f"  “{quote['text']}” [{quote['evidence_id']}]", highlight=False)
    cli.emit(result, as_json, render)
