"""The customer-service assistant in the service (read key):

- ``POST /api/v1/assistant/ask`` — ``{"question", "history"?, "product_id"?}`` → a reply with its citations;
- ``POST /api/v1/assistant/ask/stream`` — the same as server-sent events: ``delta`` events carry the reply's text
  piece by piece, a final ``reply`` event the whole reply (citations included); ``GET`` with the question in the
  address for a browser's ``EventSource`` (the dashboard's chat page);
- ``"generate": true`` (both): the answer is rewritten by a language model (docs/assistant-generate.md); streamed,
  ``delta`` events carry its tokens as they are generated, and when the check rejects it (or it is tidied) a
  ``replace`` event carries the text to show instead (``{"text", "reason"}``) before the ``reply`` event — a
  client must never keep the streamed text after a ``replace``;
- ``GET /api/v1/assistant/digest/{product_id}`` — what customers say about a product: its most praised and most
  criticised aspects with quoted review sentences and their citations;
- ``POST /api/v1/assistant/token`` (admin key) — ``{"customer_id", "hours"?}`` → a customer token.

Who asks about an order is never read from the question: a customer token (``X-Customer-Token``, issued by the
shop's key holder) names the customer; an admin key may instead name one in the body (``customer_id``, for the
shop's own support staff). Another customer's order is "not found", exactly like a missing one. The service never
trains the assistant (``shoplens assistant train`` or ``shoplens run`` do); without one it answers 503."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi import Path as Path_
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from shoplens.errors import InputError, NotFound
from shoplens.serve.auth import KeyInfo, Role
from shoplens.serve.compute import Compute
from shoplens.serve.deps import get_compute, get_workspace, require_admin, require_read
from shoplens.serve.models import error_responses
from shoplens.serve.registry import Capability
from shoplens.workspace import Workspace

PREFIX = "/api/v1/assistant"
MAX_HISTORY = 5

router = APIRouter(tags=["assistant"])
api = APIRouter(prefix=PREFIX, responses=error_responses(400, 401, 403, 503))


class AskRequest(BaseModel):
    question: str = Field(..., max_length=20_000, description="the customer's question (at most 2,000 characters "
                                                              "are read; longer is a 400 that says so)")
    history: list[str] = Field(default_factory=list, max_length=MAX_HISTORY,
                               description="the conversation's earlier questions, oldest first (for a follow-up)")
    product_id: str | None = Field(None, max_length=200, description="the product page the question is asked on")
    customer_id: str | None = Field(None, max_length=200, description="admin keys only: the customer asking")
    generate: bool = Field(False, description="rewrite the answer with the language model, checked against the "
                                              "cited evidence (the extractive answer where it fails)")


class Citation(BaseModel):
    evidence_id: str = Field(description="qa:<id>, review:<id>#<sentence>, product:<id> or policy:<file>#<section>")
    kind: str
    text: str
    score: float
    product_id: str | None = None
    title: str | None = None
    quoted: list[str] = Field(default_factory=list, description="the sentences of it the reply quotes")


class AskResponse(BaseModel):
    question: str
    text: str = Field(description="the reply; quoted sentences carry their citation mark, e.g. [qa:17]")
    language: str
    kind: str = Field(description="answer, order, handoff, out_of_scope or sign_in")
    intent: str | None = None
    intent_confidence: float | None = None
    confidence: float | None = None
    verdict: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    handoff: bool = False
    order: dict[str, Any] | None = None
    context: str | None = None
    generation: dict[str, Any] | None = Field(None, description="generative mode: accepted, reason, the model's "
                                                                  "text, its sentences and timings")


class TokenRequest(BaseModel):
    customer_id: str = Field(..., min_length=1, max_length=200)
    hours: float = Field(24.0, gt=0, le=24 * 366)


class TokenResponse(BaseModel):
    token: str
    hours: float


def _customer(ws: Workspace, key: KeyInfo, body: AskRequest, token: str | None) -> str | None:
    from shoplens.assistant.orders import customer_of_token

    if body.customer_id is not None:
        if key.role < Role.admin:
            raise HTTPException(403, "customer_id in the body needs an admin key; customers use X-Customer-Token")
        return body.customer_id
    if token is not None:
        customer = customer_of_token(ws, token)
        if customer is None:
            raise HTTPException(401, "the customer token is invalid or has expired")
        return customer
    return None


def _ask(ws: Workspace, body: AskRequest, customer: str | None,
         on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
    from shoplens.assistant import api as assistant_api

    try:
        return assistant_api.ask(ws, body.question, customer_id=customer, history=body.history,
                                 product_id=body.product_id, channel="api", generate=body.generate,
                                 on_token=on_token)
    except NotFound as exc:
        raise HTTPException(503, f"{exc}") from None


@api.post("/ask", response_model=AskResponse, summary="Answer a customer's question with cited evidence")
async def ask(body: AskRequest, x_customer_token: str | None = Header(None, max_length=1024),
              key: KeyInfo = Depends(require_read), compute: Compute = Depends(get_compute),
              ws: Workspace = Depends(get_workspace)) -> dict[str, Any]:
    customer = _customer(ws, key, body, x_customer_token)
    return await compute("assistant/ask", _ask, ws, body, customer, heavy=False)


def _pieces(text: str) -> list[str]:
    """The reply's text in the pieces a stream sends (lines, and words within a line)."""
    return [word + " " for line in text.split("\n") for word in (line + "\n").split(" ") if word]


def _stream(reply: dict[str, Any]) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        for piece in _pieces(reply["text"]):
            yield f"event: delta\ndata: {json.dumps({'text': piece}, ensure_ascii=False)}\n\n"
        yield f"event: reply\ndata: {json.dumps(reply, ensure_ascii=False)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _event(name: str, value: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(value, ensure_ascii=False)}\n\n"


async def _generated_stream(ws: Workspace, body: AskRequest, customer: str | None) -> StreamingResponse:
    """Generation streamed as it happens: the reply is made in a worker thread whose tokens reach the client as
    ``delta`` events; an error before the first token is raised here (a 4xx, not a broken stream)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def work() -> None:
        try:
            reply = _ask(ws, body, customer, lambda t: loop.call_soon_threadsafe(queue.put_nowait, ("delta", t)))
            loop.call_soon_threadsafe(queue.put_nowait, ("reply", reply))
        except Exception as exc:  # handed to the request (before streaming) or ends the stream
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

    threading.Thread(target=work, name="assistant-generate", daemon=True).start()
    first = await queue.get()
    if first[0] == "error":
        raise first[1]

    async def events() -> AsyncIterator[str]:
        item, streamed = first, []
        while True:
            if item[0] == "error":
                yield _event("error", {"detail": str(item[1])})
                return
            if item[0] == "reply":
                break
            streamed.append(item[1])
            yield _event("delta", {"text": item[1]})
            item = await queue.get()
        reply = item[1]
        if not streamed:  # nothing generated (an order, a hand-off, no evidence): the text piece by piece
            for piece in _pieces(reply["text"]):
                yield _event("delta", {"text": piece})
        elif "".join(streamed) != reply["text"]:
            reason = (reply.get("generation") or {}).get("reason")
            yield _event("replace", {"text": reply["text"], "reason": reason})
        yield _event("reply", reply)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@api.post("/ask/stream", summary="The same answer as server-sent events (delta …, [replace,] then reply)",
          response_class=StreamingResponse)
async def ask_stream(body: AskRequest, x_customer_token: str | None = Header(None, max_length=1024),
                     key: KeyInfo = Depends(require_read), compute: Compute = Depends(get_compute),
                     ws: Workspace = Depends(get_workspace)) -> StreamingResponse:
    customer = _customer(ws, key, body, x_customer_token)
    if body.generate:
        return await _generated_stream(ws, body, customer)
    return _stream(await compute("assistant/ask", _ask, ws, body, customer, heavy=False))  # errors before streaming


@api.get("/ask/stream", summary="Server-sent events for a browser's EventSource (the dashboard's chat page)",
         response_class=StreamingResponse)
async def ask_stream_get(question: str = Query(..., max_length=20_000),
                         history: str | None = Query(None, max_length=20_000,
                                                     description="JSON list of the earlier questions"),
                         product_id: str | None = Query(None, max_length=200),
                         customer_id: str | None = Query(None, max_length=200, description="admin sessions only"),
                         key: KeyInfo = Depends(require_read), compute: Compute = Depends(get_compute),
                         ws: Workspace = Depends(get_workspace)) -> StreamingResponse:
    body = AskRequest(question=question, history=_history(history), product_id=product_id, customer_id=customer_id)
    customer = _customer(ws, key, body, None)
    return _stream(await compute("assistant/ask", _ask, ws, body, customer, heavy=False))


def _history(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        history = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"history is not JSON ({exc.msg}); give a list of the earlier questions") from None
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise InputError("history must be a JSON list of the earlier questions (text)")
    return history[-MAX_HISTORY:]


@api.post("/token", response_model=TokenResponse, dependencies=[Depends(require_admin)],
          summary="Issue a customer token (admin key): the customer may then ask about their own orders")
def token(body: TokenRequest, ws: Workspace = Depends(get_workspace)) -> dict[str, Any]:
    from shoplens.assistant.orders import issue_customer_token

    if not body.customer_id.strip():
        raise InputError("customer_id is blank")
    return {"token": issue_customer_token(ws, body.customer_id, hours=body.hours), "hours": body.hours}


@api.get("/digest/{product_id}", dependencies=[Depends(require_read)], responses=error_responses(404),
         summary="What customers say about a product: praised and criticised aspects with cited quotes")
async def digest(product_id: str = Path_(..., max_length=200), top: int = Query(3, ge=1, le=10),
                 quotes: int = Query(2, ge=1, le=5), compute: Compute = Depends(get_compute),
                 ws: Workspace = Depends(get_workspace)) -> dict[str, Any]:
    from shoplens.assistant.digest import review_digest

    def work() -> dict[str, Any]:
        try:
            return review_digest(ws, product_id, top=top, quotes=quotes)
        except NotFound as exc:
            raise HTTPException(404, f"{exc}") from None

    return await compute("assistant/digest", work, heavy=False)


router.include_router(api)


def warm(workspace_path: Path) -> None:
    """Open the trained assistant and answer one question, so that the first customer does not wait."""
    from shoplens.assistant import api as assistant_api

    assistant_api.warm(Workspace.open(workspace_path))


capability = Capability(name="assistant", router=router, pages=(), requires=("shoplens.assistant",), warm=warm)
