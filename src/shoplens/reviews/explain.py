"""Which words drove a prediction: occlusion.

Each word (a Latin-script word, or a Chinese character pair) is removed in turn and the text is scored
again; the word's weight is how much the predicted class's probability falls without it (negative: the
word spoke against that class). All variants of a text go through the model in one batch, so this works
with any classifier, the int8 ONNX one included, at the cost of one forward pass per word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# a Latin word (with inner apostrophes/hyphens), a number, a run of CJK characters, or one other symbol
_TOKEN = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’-][A-Za-z\u00c0-\u024f]+)*|\d+(?:[.,]\d+)?|"
                    r"[\u3400-\u9fff\uf900-\ufaff]+|[^\s\w]", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CJK_PIECE = 2  # CJK runs are cut into pieces of two characters (about one word)
MAX_UNITS = 120  # longer texts: only the first units are occluded (the model reads 128 tokens anyway)


def units(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the words of ``text`` (punctuation left out)."""
    spans: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if _CJK.match(match.group()):
            spans.extend((i, min(i + CJK_PIECE, end)) for i in range(start, end, CJK_PIECE))
        elif match.group()[0].isalnum():
            spans.append((start, end))
    return spans[:MAX_UNITS]


def occlusion(predict_proba: Callable[[list[str]], np.ndarray], texts: Sequence[str], *, top_k: int = 8,
              target: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Per text: the predicted class index, its probability and the ``top_k`` words by |weight|."""
    out = []
    for position, text in enumerate(texts):
        spans = units(text)
        variants = [text] + [text[:s] + text[e:] for s, e in spans]
        probs = predict_proba(variants)
        label = int(probs[0].argmax()) if target is None else int(target[position])
        drops = probs[0, label] - probs[1:, label]
        order = np.argsort(-np.abs(drops))[:top_k]
        words = [{"text": text[spans[i][0]:spans[i][1]], "start": spans[i][0], "end": spans[i][1],
                  "weight": round(float(drops[i]), 4)} for i in order if abs(drops[i]) > 1e-4]
        out.append({"label": label, "probability": float(probs[0, label]), "words": words})
    return out
