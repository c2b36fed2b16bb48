"""The dashboard's assistant page: a chat with the shop's assistant, the evidence of each answer shown beside it
(citations, with the quoted sentences marked) and a hand-off button. The page only carries where to ask:
``static/assistant.js`` opens ``GET /api/v1/assistant/ask/stream`` (server-sent events, with this session) and
shows the reply as it arrives; the conversation's earlier questions go with each question (for a follow-up)."""

from __future__ import annotations

from typing import Any

from shoplens.serve.registry import Capability, Page, PageQuery
from shoplens.serve.warehouse import Warehouse

PAGE_PATH = "/assistant"
STREAM_API = "/api/v1/assistant/ask/stream"  # the assistant router's route
HANDOFF_QUESTION = "I would like to talk to a person, please."


def assistant_page(warehouse: Warehouse, query: PageQuery) -> dict[str, Any]:
    """The page's context: where the script asks; or how to train the assistant when there is none."""
    from shoplens.assistant import api

    if not api.is_trained(warehouse.ws):
        return {"missing": "No assistant yet: run `shoplens assistant train` (or `shoplens run`)."}
    return {"api": STREAM_API, "handoff": HANDOFF_QUESTION, "product_id": query.get("product_id", "")}


capability = Capability(
    name="assistant-page",
    pages=(Page(path=PAGE_PATH, title="Assistant", template="assistant.html", context=assistant_page, order=38),),
    requires=("shoplens.assistant",),
)
