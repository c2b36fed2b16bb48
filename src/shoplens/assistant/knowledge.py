"""The shop's knowledge as evidence passages the assistant retrieves and cites.

One row per passage, with a stable, citable ``evidence_id``:

- ``qa:<qa_id>`` — an answer of the ``qa`` table (FAQ, product Q&A, policy entries); its question is kept beside
  it (``question``) because a past question is how customers ask for that answer;
- ``review:<review_id>#<n>`` — the n-th sentence (from 1) of a review, so an answer quotes what was said, not a
  whole review;
- ``product:<product_id>`` — the catalog's title, brand, category, attributes and description of a product;
- ``policy:<file>#<section>`` — a section of a markdown page in the workspace's ``assistant/policies/`` (returns,
  shipping …), cut at its headings; ``<section>`` is the heading's slug.

Columns: ``evidence_id, kind, product_id, title, question, text, language``. Review text may contain a customer's
instructions ("ignore previous instructions …"): it is data here, quoted and cited, never obeyed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shoplens.errors import InputError
from shoplens.text.language import detect_languages

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

COLUMNS = ("evidence_id", "kind", "product_id", "title", "question", "text", "language")
KINDS = ("qa", "review", "product", "policy")
POLICY_FOLDER = "policies"
MAX_REVIEWS_PER_PRODUCT = 200  # newest first: enough to answer from, bounded on a shop with huge review counts
MIN_SENTENCE_CHARS = 12  # "Great!" answers nothing
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9])|(?<=[。！？!?])|\n+")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SLUG_DROP = re.compile(r"[^\w\s-]")


def sentences_of(text: str | None) -> list[str]:
    """Sentences of a text in English or Chinese (at ``. ! ?`` followed by a capital, ``。！？`` and line
    breaks), stripped, empty ones left out."""
    if not text:
        return []
    return [s.strip() for s in _SENTENCE_END.split(str(text)) if s and s.strip()]


def slug(heading: str) -> str:
    """A heading as a URL fragment, the way markdown renderers make them (lower case, words joined by ``-``)."""
    words = _SLUG_DROP.sub("", heading.strip().lower()).split()
    return "-".join(words) or "section"


def policy_sections(text: str, name: str) -> list[dict[str, str]]:
    """A markdown page cut at its headings: one passage per section that has text (``policy:<name>#<slug>``); text
    before the first heading is the page's own section (``#intro``)."""
    marks = list(_HEADING.finditer(text))
    bounds = [(m.start(), m.end(), m.group(2)) for m in marks]
    out, seen = [], set()
    intro = text[: bounds[0][0] if bounds else len(text)].strip()
    if intro:
        out.append({"section": "intro", "heading": name, "text": intro})
    for i, (_, end, heading) in enumerate(bounds):
        body = text[end: bounds[i + 1][0] if i + 1 < len(bounds) else len(text)].strip()
        if not body:
            continue
        section = slug(heading)
        while section in seen:  # two headings with the same words stay two citations
            section += "-1"
        seen.add(section)
        out.append({"section": section, "heading": heading.strip(), "text": body})
    return [{"evidence_id": f"policy:{name}#{s['section']}", "kind": "policy", "product_id": None,
             "title": s["heading"], "question": None, "text": s["text"]} for s in out]


def policy_passages(folder: Path) -> list[dict[str, str]]:
    """Every ``*.md`` page under ``folder`` (sorted), cut into sections; a page that is not UTF-8 is an error that
    names it."""
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"policy page {path.name}: not UTF-8 text ({error.reason} at byte {error.start})"
                             ) from None
        rows += policy_sections(text, path.name)
    return rows


def _qa_passages(ws: Workspace) -> list[dict[str, str]]:
    frame = ws.sql("SELECT qa_id, product_id, question, answer, source FROM qa "
                   "WHERE answer IS NOT NULL AND length(trim(answer)) > 0 ORDER BY qa_id")
    return [{"evidence_id": f"qa:{r.qa_id}", "kind": "qa", "product_id": r.product_id, "title": r.source,
             "question": r.question, "text": r.answer.strip()} for r in frame.itertuples()]


def _review_passages(ws: Workspace, per_product: int = MAX_REVIEWS_PER_PRODUCT) -> list[dict[str, str]]:
    frame = ws.sql(
        "SELECT review_id, product_id, title, body FROM (SELECT *, row_number() OVER (PARTITION BY product_id "
        "ORDER BY review_ts DESC NULLS LAST, review_id) AS n FROM reviews WHERE body IS NOT NULL) "
        f"WHERE n <= {int(per_product)} ORDER BY review_id")
    rows = []
    for r in frame.itertuples():
        for n, sentence in enumerate(sentences_of(r.body), start=1):
            if len(sentence) >= MIN_SENTENCE_CHARS or any("\u4e00" <= c <= "\u9fff" for c in sentence):
                rows.append({"evidence_id": f"review:{r.review_id}#{n}", "kind": "review",
                             "product_id": r.product_id, "title": r.title, "question": None, "text": sentence})
    return rows


def _attribute_text(value: object) -> str:
    if not value:
        return ""
    try:
        attributes = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return str(value)
    if not isinstance(attributes, dict):
        return str(attributes)
    return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in attributes.items()
                     if v not in (None, "", []))


def _product_passages(ws: Workspace) -> list[dict[str, str]]:
    frame = ws.sql("SELECT product_id, title, brand, category, description, attributes FROM products "
                   "ORDER BY product_id")
    rows = []
    for r in frame.itertuples():
        parts = [r.title, f"Brand: {r.brand}" if r.brand else None, f"Category: {r.category}" if r.category else None,
                 _attribute_text(r.attributes), r.description]
        text = ". ".join(str(p).strip() for p in parts if p and str(p).strip())
        if text:
            rows.append({"evidence_id": f"product:{r.product_id}", "kind": "product", "product_id": r.product_id,
                         "title": r.title, "question": None, "text": text})
    return rows


def knowledge_passages(ws: Workspace, *, policy_folder: Path | None = None, kinds: tuple[str, ...] = KINDS,
                       reviews_per_product: int = MAX_REVIEWS_PER_PRODUCT) -> pd.DataFrame:
    """The workspace's evidence passages (see the module's docstring), with each passage's language detected; the
    sentences of each product's ``reviews_per_product`` newest reviews."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InputError(f"unknown knowledge kind {', '.join(map(repr, unknown))}; kinds are {', '.join(KINDS)}")
    if reviews_per_product < 1:
        raise InputError(f"reviews_per_product={reviews_per_product}: index at least one review per product")
    folder = policy_folder or ws.path / "assistant" / POLICY_FOLDER
    builders = {"qa": lambda: _qa_passages(ws), "review": lambda: _review_passages(ws, reviews_per_product),
                "product": lambda: _product_passages(ws), "policy": lambda: policy_passages(folder)}
    rows = [row for kind in kinds for row in builders[kind]()]
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "language"])
    frame["language"] = detect_languages(frame["text"].tolist()) if len(frame) else []
    return frame[list(COLUMNS)].reset_index(drop=True)
