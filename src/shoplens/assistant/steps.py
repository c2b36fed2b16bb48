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
# The fast (demo) profile indexes the sentences of at most this many reviews in all, the newest of each product
# evenly (at least FAST_MIN_PER_PRODUCT each): encoding every sentence of a mid-size shop's 43,000 reviews (106,000
# sentences) took 8 of the 25 minutes of its run; at 10,000 reviews (5 per product of 2,000, 23,000 sentences) the
# encoding still took 70 of the assistant's 146 s. Q&A, catalog and policy passages are always indexed whole.
FAST_MAX_REVIEWS = 6_000
FAST_MIN_PER_PRODUCT = 3
# the knowledge (Q&A, reviews, catalog, policy pages) and the shop's intents
READS = ("qa", "reviews", "products", "file:assistant/policies", "file:assistant/intents.csv")


@step(CAPABILITY, "train", "customer-service assistant", reads=READS)
def train_assistant(ctx: RunContext) -> dict[str, Any]:
    from shoplens.assistant import api
    from shoplens.errors import InputError

    previous = ctx.reusable()
    if previous is not None and api.is_trained(ctx.ws):
        ctx.outputs["assistant.trained"] = True
        ctx.outputs["assistant.kept"] = True
        ctx.reuse(f"assistant kept: the Q&A, reviews and catalog grew within the {ctx.reuse_limit:.0%} it is kept "
                  f"for; the {ctx.grown_rows('reviews'):,} new reviews and {ctx.grown_rows('qa'):,} new Q&A are "
                  "cited after the next retrain (past that growth, or `shoplens run --full-rerun`)")
        return {**previous.summary, "kept": True}
    try:
        assistant = api.train(ctx.ws, **_profile_params(ctx))
    except InputError as exc:
        raise NotApplicable(str(exc)) from None
    ctx.outputs["assistant.trained"] = True
    return {"passages": ", ".join(f"{n:,} {kind}" for kind, n in assistant.passages_.items()),
            "intents": len(assistant.router_.classes_), "folder": str(assistant.folder_)}


def _profile_params(ctx: RunContext) -> dict[str, Any]:
    """The fast profile's cap on review passages, when the shop has more reviews than it indexes (said so)."""
    if ctx.profile != "demo":
        return {}
    counts = ctx.ws.sql("SELECT count(*) AS reviews, count(DISTINCT product_id) AS products FROM reviews "
                        "WHERE body IS NOT NULL").iloc[0]
    if int(counts["reviews"]) <= FAST_MAX_REVIEWS:
        return {}
    per_product = max(FAST_MIN_PER_PRODUCT, FAST_MAX_REVIEWS // max(int(counts["products"]), 1))
    ctx.limit(f"fast profile: the sentences of each product's {per_product} newest reviews are indexed, not all "
              f"{int(counts['reviews']):,} reviews' (the full profile indexes up to 200 per product)")
    return {"reviews_per_product": per_product}


@step(CAPABILITY, "evaluate", "assistant answers", reads=READS)
def sample_answers(ctx: RunContext) -> dict[str, Any]:
    from shoplens.assistant import api

    if not ctx.outputs.get("assistant.trained"):
        return {"skipped": "no assistant was trained"}
    if ctx.outputs.get("assistant.kept") and ctx.previous is not None:
        ctx.reuse("not evaluated again: the kept assistant's sample answers and confidence stay as they were")
        return {**ctx.previous.summary, "kept": True}
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
