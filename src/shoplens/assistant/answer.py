"""Replies: extractive answers quoted from cited evidence, in the customer's language.

An extractive reply is built only from evidence the retriever returned: each quoted sentence carries the citation
of the passage it comes from (``[qa:17]``), nothing else is asserted beyond fixed, translated framing ("Here is what
I found:"). Evidence that reads like instructions to an assistant ("ignore previous instructions …", a customer's
prompt-injection attempt inside a review) is never quoted: the reply's instructions come from this code, not from
the shop's data.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from shoplens.assistant.knowledge import sentences_of

MAX_QUOTED_SENTENCES = 3
MAX_QUOTE_CHARS = 400
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Instructions addressed to an assistant or a model, in English and Chinese: such a sentence in a review or an
# answer is data someone planted, not evidence about the product.
_INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier) (?:instructions|prompts?|rules)|"
    r"disregard (?:all |the )?(?:previous|prior|above) |system prompt|you are now|"
    r"act as (?:an? )?(?:ai|assistant|chatbot)|"
    r"(?:assistant|chatbot|ai|model)[,:]? (?:you must|always|never|say|reply|answer|respond)|"
    r"new instructions|jailbreak|忽略(?:之前|以上|前面|上述)(?:的)?(?:所有)?(?:指令|指示|说明|提示)|系统提示|你现在是",
    re.IGNORECASE)

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "found": "Here is what I found:",
        "unsure": "I am not sure this answers your question; here is the closest I found:",
        "nothing": "I could not find an answer to that in the shop's information.",
        "yes": "Yes.", "no": "No.",
        "handoff": "I will pass this to a member of our team, who will get back to you.",
        "out_of_scope": "I can help with orders, delivery, returns, payments, your account and our products.",
        "language": "I can answer in English and Chinese. I will pass your message to a member of our team.",
        "sign_in": "To look up an order I need to know it is yours: please sign in and ask again.",
        "no_reference": "To check a particular order, give me its order number.",
        "order": "Order {order_id} (placed {order_ts}) is {status}.",
        "order_items": "It contains: {items}.",
        "not_found": "I could not find order {reference} on your account.",
    },
    "zh": {
        "found": "以下是我找到的信息：",
        "unsure": "我不确定这能回答您的问题，以下是最接近的信息：",
        "nothing": "抱歉，店铺的资料中没有找到这个问题的答案。",
        "yes": "是的。", "no": "不是。",
        "handoff": "我会把您的问题转给我们的客服人员，他们会尽快回复您。",
        "out_of_scope": "我可以帮您处理订单、配送、退换货、支付、账户和商品方面的问题。",
        "language": "我可以用中文和英文回答。我会把您的留言转给我们的客服人员。",
        "sign_in": "查询订单需要先确认订单属于您：请登录后再问一次。",
        "no_reference": "如需查询具体订单，请告诉我订单号。",
        "order": "订单 {order_id}（下单时间 {order_ts}）的状态：{status}。",
        "order_items": "包含：{items}。",
        "not_found": "在您的账户中没有找到订单 {reference}。",
    },
}


def reply_language(language: str) -> str:
    """The language a reply is written in: Chinese for Chinese questions, English for the rest."""
    return "zh" if language.startswith("zh") else "en"


def phrase(key: str, language: str, **values: Any) -> str:
    return TEMPLATES[reply_language(language)][key].format(**values)


def looks_like_injection(text: str) -> bool:
    """Whether a passage addresses instructions to an assistant (a prompt-injection attempt in the shop's data)."""
    return bool(_INJECTION.search(text or ""))


@dataclass
class Citation:
    """One piece of evidence a reply quotes or shows, with where it comes from."""

    evidence_id: str
    kind: str
    text: str
    score: float
    product_id: str | None = None
    title: str | None = None
    quoted: list[str] = field(default_factory=list)  # the sentences of it the reply quotes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _words(text: str) -> set[str]:
    """Words of a text; Chinese as single characters (no segmentation needed for overlap)."""
    lowered = (text or "").lower()
    return set(_WORD.findall(_HAN.sub(" ", lowered))) | set(_HAN.findall(lowered))


def best_sentences(question: str, passage: str, limit: int) -> list[str]:
    """The passage's sentences that share most words with the question, in their original order; a short passage
    is quoted whole."""
    sentences = sentences_of(passage) or [passage]
    if len(sentences) <= limit:
        return [s[:MAX_QUOTE_CHARS] for s in sentences]
    asked = _words(question)
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(asked & _words(sentences[i])), i))[:limit]
    return [sentences[i][:MAX_QUOTE_CHARS] for i in sorted(ranked)]


def citations_of(evidence: pd.DataFrame) -> list[Citation]:
    """Retrieved evidence as citations, best first, planted instructions left out."""
    out = []
    for row in evidence.itertuples():
        if looks_like_injection(row.text):
            continue
        out.append(Citation(evidence_id=row.evidence_id, kind=row.kind, text=row.text, score=float(row.score),
                            product_id=None if pd.isna(row.product_id) else str(row.product_id),
                            title=None if pd.isna(getattr(row, "title", None)) else str(row.title)))
    return out


def extractive_reply(question: str, citations: list[Citation], language: str, *, sure: bool,
                     verdict: str | None = None, quote_from: int = 1) -> str:
    """The reply text: framing, the verdict when the evidence gives one, then quoted sentences of the top
    ``quote_from`` citations, each followed by its citation mark."""
    if not citations:
        return phrase("nothing", language)
    lines = [phrase(verdict, language)] if verdict in ("yes", "no") else []
    lines.append(phrase("found" if sure else "unsure", language))
    budget = MAX_QUOTED_SENTENCES
    for citation in citations[:quote_from]:
        citation.quoted = best_sentences(question, citation.text, budget)
        budget -= len(citation.quoted)
        lines += [f"“{s}” [{citation.evidence_id}]" for s in citation.quoted]
        if budget <= 0:
            break
    return "\n".join(lines)
