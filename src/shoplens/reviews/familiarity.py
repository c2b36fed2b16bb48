"""Do these reviews look like the ones a model was trained on? The share of their n-grams that the model's TF-IDF
member learnt (its vocabulary), against the same share on the model's validation rows.

Leaving each category of online_shopping_10_cats out in turn (docs/reviews.md, "Across categories and shops"), the
character 1–3-gram coverage of the nine training categories' validation rows was 0.879–0.890; on the held-out
category's test rows it fell by 0.15 (books), 0.15 (hotels), 0.23 (mengniu_dairy), 0.08 (computers), 0.10 (phones) —
the five categories where character TF-IDF + LR lost 2–17 points of accuracy against in-domain — and by under 0.035
on the other five (clothes, fruit, shampoo, tablets; water_heaters rose). A drop of :data:`COVERAGE_DROP_WARN` or
more is where ``evaluate`` warns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

COVERAGE_DROP_WARN = 0.05


def ngram_vectorizer(model: Any) -> Any | None:
    """The fitted TF-IDF vectorizer of a group model (itself, or a stack's first TF-IDF member), or None."""
    from shoplens.reviews.linear import TfidfLogReg

    for member in getattr(model, "members", [model]):
        if isinstance(member, TfidfLogReg) and hasattr(member, "vectorizer_"):
            return member.vectorizer_
    return None


def ngram_coverage(vectorizer: Any, texts: Sequence[str]) -> float | None:
    """Mean over the texts of the share of their n-grams (as the vectorizer cuts them) in its vocabulary; None for
    no texts (a text without n-grams counts as covered)."""
    if not len(texts):
        return None
    analyze, vocabulary = vectorizer.build_analyzer(), vectorizer.vocabulary_
    shares = []
    for text in texts:
        grams = analyze(text)
        shares.append(sum(g in vocabulary for g in grams) / len(grams) if grams else 1.0)
    return float(np.mean(shares))


def familiarity_of(vectorizer: Any, reference: float | None, texts: Sequence[str]) -> dict[str, Any]:
    """Coverage of ``texts`` against the ``reference`` coverage, and whether they look unlike the training data."""
    coverage = ngram_coverage(vectorizer, texts)
    if coverage is None or reference is None:
        return {"coverage": coverage, "reference": reference, "drop": None, "unlike_training": None,
                "texts": len(texts)}
    drop = reference - coverage
    return {"coverage": round(coverage, 4), "reference": round(reference, 4), "drop": round(drop, 4),
            "unlike_training": bool(drop >= COVERAGE_DROP_WARN), "texts": len(texts)}
