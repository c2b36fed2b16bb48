"""Pipeline steps of the assistant (``shoplens run`` / ``shoplens demo``):

- train: the shop's intents (``assistant/intents.csv``, created from the default set on first use) and its knowledge
  (Q&A, review sentences, catalog, policy pages) into ``ws/assistant/model/`` — what the service and
  ``shoplens assistant ask`` answer from;
- evaluate: the answers to a few of the shop's own frequent questions, with their citations (shown in the report),
  and how sure the evidence is (the answer confidence's accuracy on the shop's validation questions).
"""

from __future__ import annotations

import json
from typing import Any

from shoplens.pipeline import NotApplicable, RunContext, step

CAPABILITY = "assistant"
SAMPLES_FILE = "samples.json"  # the evaluate step's answered questions, for the report
SAMPLE_QUESTIONS = 3


@step(CAPABILITY, "train", "customer-service assistant")
def train_assistant(ctx: RunContext) -> dict[str, Any]:
    from shoplens.assistant import api
    from shoplens.errors import InputError

    try:
        assistant = api.train(ctx.ws)
    except InputError as exc:
        raise NotApplicable(str(exc)) from None
    ctx.outputs["assistant.trained"] = True
    return {"passages": ", ".join(f"{n:,} {kind}" for kind, n in assistant.passages_.items()),
            "intents": len(assistant.router_.classes_), "folder": str(assistant.folder_)}


@step(CAPABILITY, "evaluate", "assistant answers")
def sample_answers(ctx: RunContext) -> dict[str, Any]:
    from shoplens.assistant import api

    if not ctx.outputs.get("assistant.trained"):
        return {"skipped": "no assistant was trained"}
    assistant = api.load(ctx.ws)
    questions = frequent_questions(ctx.ws, SAMPLE_QUESTIONS)
    replies = [assistant.ask(q, channel="pipeline").to_dict() for q in questions]
    (assistant.folder_ / SAMPLES_FILE).write_text(json.dumps(replies, ensure_ascii=False, indent=2),
                                                  encoding="utf-8")
    confidence = assistant.confidence_
    return {"questions answered": sum(r["kind"] == "answer" and bool(r["citations"]) for r in replies),
            "validation questions": confidence.questions, "top passage right": confidence.accuracy_at_1}


def frequent_questions(ws: Any, n: int) -> list[str]:
    """The shop's general questions (FAQ and policy entries first), the ones an assistant is asked most."""
    frame = ws.sql("SELECT question FROM qa WHERE question IS NOT NULL ORDER BY CASE source WHEN 'faq' THEN 0 "
                   "WHEN 'policy' THEN 1 ELSE 2 END, qa_id LIMIT ?", [n])
    return frame["question"].tolist()
