"""Erasing a customer from reports: a report written before the erasure that names the customer or quotes one
of their reviews is removed, and ``latest.html`` is written again from the cleaned workspace."""

from __future__ import annotations

import html
from pathlib import Path

from shoplens._imports import import_if_present
from shoplens.data.erasure import Cleaned, Erasure, Subject, cleaner, relative

MIN_QUOTE_CHARS = 12  # shorter clauses ("great fit") are shared by many reviews: no evidence of this one
LATEST = "latest.html"


@cleaner("after", "reports")
def clean_reports(erasure: Erasure) -> list[Cleaned]:
    folder = erasure.ws.dir("reports")
    quotes = _own_quotes(erasure, quotes_of(erasure.subject))
    tainted = [p for p in sorted(folder.glob("*.html")) if _mentions(p, erasure.subject, quotes)]
    if not tainted:
        return []
    for path in tainted:
        path.unlink()
    done = [Cleaned(relative(erasure.ws, p), "removed", 1) for p in tainted if p.name != LATEST]
    if any(p.name == LATEST for p in tainted):
        from shoplens.report import build_report

        build_report(erasure.ws, path=folder / LATEST)
        done.append(Cleaned(relative(erasure.ws, folder / LATEST), "rebuilt", 1))
    return done


def quotes_of(subject: Subject) -> list[str]:
    """What a report could quote of the customer's reviews: their clauses, as the aspect summaries cut them."""
    aspects = import_if_present("shoplens.reviews.aspects")
    pieces = [c for text in subject.review_texts for c in (aspects.clauses_of(text) if aspects else [text])]
    return sorted({p for p in pieces if len(p) >= MIN_QUOTE_CHARS})


def _own_quotes(erasure: Erasure, quotes: list[str]) -> list[str]:
    """The quotes no remaining review also contains (a simulated shop's reviews share many clauses)."""
    if not quotes:
        return []
    with erasure.ws.connect() as con:
        return [q for q in quotes if not con.execute(
            "SELECT count(*) FROM reviews WHERE contains(title, ?) OR contains(body, ?)", [q, q]).fetchone()[0]]


def _mentions(path: Path, subject: Subject, quotes: list[str]) -> bool:
    text = html.unescape(path.read_text(encoding="utf-8", errors="replace"))
    pattern = subject.text_pattern()
    return bool(pattern and pattern.search(text)) or any(q in text for q in quotes)
