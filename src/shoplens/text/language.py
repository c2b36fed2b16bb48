"""Which language a text is in, by its script: fast, dependency-free, enough to route reviews.

Han characters without kana → ``zh``; kana → ``ja``; Hangul → ``ko``; Cyrillic → ``ru``; Arabic → ``ar``;
Latin script (or no letters) → ``en``: a Latin-script text is routed to the English model, which is
what the English encoders can read anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def detect_language(text: str | None) -> str:
    """``zh``, ``ja``, ``ko``, ``ru``, ``ar`` or ``en`` (the default for Latin script and empty text)."""
    if not text:
        return "en"
    counts = {
        "han": len(_HAN.findall(text)), "kana": len(_KANA.findall(text)), "ko": len(_HANGUL.findall(text)),
        "ru": len(_CYRILLIC.findall(text)), "ar": len(_ARABIC.findall(text)), "latin": len(_LATIN.findall(text)),
    }
    if counts["kana"]:
        return "ja"
    # one Han character counts like a word of Latin letters (about 3 letters)
    scores = {"zh": counts["han"] * 3, "ko": counts["ko"] * 3, "ru": counts["ru"], "ar": counts["ar"],
              "en": counts["latin"]}
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] > 0 else "en"


def detect_languages(texts: Iterable[str | None]) -> list[str]:
    return [detect_language(t) for t in texts]


def is_cjk(language: str) -> bool:
    return language in ("zh", "ja", "ko")
