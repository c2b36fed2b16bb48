"""Text primitives shared by query understanding and search: normalisation, tokens, stems, edit distance.

English words are lower-cased and lightly stemmed (plural endings only, so that "dresses" meets "dress"
without a stemmer's surprises: "gloss" stays "gloss"); Chinese runs are segmented with jieba
(:func:`shoplens.reviews.chinese.jieba_words`); digits and Latin letters inside Chinese text stay one token.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from shoplens.reviews.chinese import jieba_words

LATIN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
TOKEN = re.compile(r"([a-z0-9]+(?:['\-][a-z0-9]+)*)|([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
PUNCT = re.compile(r"^[\W_]+$")


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits and signs become ASCII: "５０元" → "50元", "￥" stays ¥-like),
    lower case, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Plural endings off an English word (dresses → dress, batteries → battery, cases → case); other words,
    digits and Chinese unchanged."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str, *, stopwords: Iterable[str] = ()) -> list[str]:
    """Features of a normalised text: stemmed English words and digit runs, jieba words of Chinese runs,
    without stop words and punctuation."""
    stop = set(stopwords)
    out: list[str] = []
    for latin, chinese in TOKEN.findall(text):
        words = [stem(latin)] if latin else jieba_words(chinese)
        out.extend(w for w in words if w not in stop and not PUNCT.match(w))
    return out


def jieba_spans(text: str) -> set[tuple[int, int]]:
    """(start, end) of every word jieba finds in ``text``."""
    jieba_words("")  # loads jieba quietly, with a clear error when it is missing
    import jieba

    return {(start, end) for _, start, end in jieba.tokenize(text)}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap two neighbours: "samsnug" is one
    edit from "samsung"); any value above ``limit`` comes back as ``limit + 1`` (the rows stop early)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def deletions(word: str, depth: int) -> set[str]:
    """Every string made from ``word`` by deleting up to ``depth`` characters (the index of a symmetric-delete
    spelling corrector: two words within d edits share a string of at most d deletions each)."""
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))} - out
        out |= frontier
    return out


@cache
def english_words() -> frozenset[str]:
    """Common English words (the whole-word entries of the packaged MiniLM's WordPiece vocabulary), so that a
    real word the catalog happens not to use ("gift") is never "corrected" to one it does ("lift"). Empty when
    the encoder package is not installed: then only the catalog's own words count as known."""
    try:
        from shoplens.text.models import minilm_path

        lines = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").split()
    except Exception:  # the text extra is optional for query parsing
        return frozenset()
    return frozenset(w for w in lines if w.isascii() and w.isalpha() and len(w) >= 3)
