"""Is a generated sentence supported by the evidence it cites? The check that decides whether a generated reply is
kept or replaced by the extractive answer (never trust the model).

```python
from shoplens.assistant.support import SupportCheck

check = SupportCheck()                                        # the thresholds chosen on the committed cases
check.supported("The filter is dishwasher safe.", ["Yes, the mesh filter is dishwasher safe."])   # True
check.supported("It comes with two clamps.", ["The hose stretches to 8 feet."])                    # False
```

A sentence is supported when all of these hold, against the text of the passages it cites:

- **numbers**: every number it states (digits, English number words, Chinese numerals before a unit) appears in
  the evidence — a wrong figure is the commonest invented fact;
- **polarity**: it is negated ("not", "never", "不", "没") exactly when the evidence clause closest to it is — a
  flipped "is / is not" keeps nearly every word;
- **content**: the share of its content words (English: lower-cased, stop words out, a light suffix stemmer;
  Chinese: jieba words, matched as substrings of the evidence) found in the evidence is at least ``min_coverage``,
  or — across languages only, where words cannot match (a Chinese reply from an English answer) — the cosine of
  the multilingual ``encoder`` (multilingual-e5-small) between the sentence and its closest evidence sentence is at
  least ``min_cosine``.

The thresholds were chosen on the 30 hand-labelled cases committed in ``tests/assistant/data/support_cases.csv``
(English and Chinese, same- and cross-language) with :meth:`SupportCheck.fit`; its accuracy there is reported by
leave-one-out cross-validation (each case judged by thresholds chosen on the other 29), see
docs/assistant-generate.md. It is a conservative lexical check: a faithful paraphrase with few shared words may
be judged unsupported (the reply then falls back to the extractive answer, which is safe); an invented claim that
reuses the evidence's words, numbers and polarity can pass.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from shoplens.assistant.knowledge import sentences_of

_HAN = re.compile(r"[\u4e00-\u9fff]")
_EN_WORD = re.compile(r"[a-z]{2,}|\d+(?:\.\d+)?")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_ZH_UNITS = "个|年|月|天|日|周|小时|分钟|秒|次|米|厘米|毫米|公斤|克|升|英尺|英寸|瓦|伏|件|台"
_ZH_NUMERAL = re.compile(rf"([一二两三四五六七八九十百]+)(?={_ZH_UNITS})")
_ZH_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
              "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
              "fifty": 50, "hundred": 100, "single": 1, "dozen": 12, "half": 0.5}
_EN_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|neither|nor|cannot|without|doesn|don|didn|isn|aren|"
                          r"wasn|weren|won|wouldn|shouldn|couldn|can't|n't)\b|n't\b", re.IGNORECASE)
_ZH_NEGATION = re.compile(r"不|没|无|非|未|别")
_NOT_NEGATION = re.compile(r"不错|不仅|无论|非常|not only|not bad", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[,，;；:：]\s*|\s+but\s+|但是|但")
_STOP_TEXT = """a an the and or but if of to in on at by for with from as is are was were be been being it its
this that these those there here i me my we our you your he she they them their his her do does did done have has
had having can could will would shall should may might must so than then too very just also yes about into over
up down out off only own same such both each few more most other some any all which who whom what when where why
how s t ll ve re d m o y am get got gets one ones really well much many lot lots customer customers say says said
according evidence passage reply answer"""
_ZH_STOP_TEXT = ("的 了 是 在 和 与 及 也 都 很 就 还 又 或 而 这 那 这个 那个 这款 这台 该 您 你 我 "
                 "我们 他 她 它 它们 吗 呢 吧 啊 可以 能 会 要 有 为 对 把 被 让 给 从 到 时 中 "
                 "上 下 后 前 里 个 一 用")
STOP_WORDS = frozenset(_STOP_TEXT.split())
ZH_STOP = frozenset(_ZH_STOP_TEXT.split())
_SUFFIXES = ("ingly", "edly", "ness", "ment", "ible", "able", "ing", "ied", "ies", "ers", "er", "ed", "ly", "es",
             "s", "e", "y")


def stem(word: str) -> str:
    """A light English suffix stemmer: "running" and "runs" → "run", "reversible" and "reversed" → "revers" (why not
    a library's: none is a dependency, and the check only needs word forms of one text to meet another's)."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiousl":
        word = word[:-1]  # runn → run, stopp → stop
    return word


def is_chinese(text: str) -> bool:
    han = len(_HAN.findall(text or ""))
    return han > 0 and han >= 0.3 * max(1, len(re.sub(r"\s", "", text)))


@lru_cache(maxsize=4096)
def _jieba_words(text: str) -> tuple[str, ...]:
    import jieba

    return tuple(jieba.lcut(text))


def content_words(text: str) -> set[str]:
    """The words a sentence asserts something with: English stems without stop words, Chinese jieba words without
    function words, and every number."""
    lowered = (text or "").lower()
    words = {stem(w) for w in _EN_WORD.findall(_HAN.sub(" ", lowered)) if w not in STOP_WORDS and w not in
             EN_NUMBERS}
    for chunk in re.findall(r"[\u4e00-\u9fff]+", lowered):
        words |= {w for w in _jieba_words(chunk) if w not in ZH_STOP and _HAN.search(w)}
    return {w for w in words if w} | {_format(n) for n in numbers(text)}


def _format(value: float) -> str:
    return f"{value:g}"


def _zh_number(text: str) -> float | None:
    """一 … 九十九 (the numerals a reply writes before a unit) as a number."""
    if text == "十":
        return 10
    if "百" in text:
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _ZH_DIGIT.get(tens, 1) * 10 + (_ZH_DIGIT.get(ones, 0) if ones else 0)
    return _ZH_DIGIT.get(text) if len(text) == 1 else None


def numbers(text: str) -> set[float]:
    """The numbers a text states: digits, English number words ("six", "one-year"), Chinese numerals before a unit
    ("三年", "两个")."""
    lowered = (text or "").lower()
    found = {float(d) for d in _DIGITS.findall(lowered)}
    found |= {float(EN_NUMBERS[w]) for w in re.findall(r"[a-z]+", lowered) if w in EN_NUMBERS and w != "one"}
    # "one" is as often a pronoun ("the blue one") as a number: it counts only before a unit or a hyphen
    if re.search(r"\bone[- ](?:year|month|week|day|hour|minute|inch|foot|piece|time|cup|gallon|liter)", lowered):
        found.add(1.0)
    for numeral in _ZH_NUMERAL.findall(text or ""):
        if (value := _zh_number(numeral)) is not None:
            found.add(float(value))
    return found


def negated(text: str) -> bool:
    """Whether a sentence is negated (English or Chinese negation words; "不错", "not bad", is praise)."""
    text = _NOT_NEGATION.sub(" ", text or "")
    return bool(_EN_NEGATION.search(text) or _ZH_NEGATION.search(text))


def _covered(word: str, evidence_words: set[str], evidence_text: str) -> bool:
    if word in evidence_words:
        return True
    return bool(_HAN.search(word)) and word in evidence_text  # a Chinese word cut differently in the evidence


def coverage(sentence: str, evidence: str) -> float:
    """Share of the sentence's content words found in the evidence (1.0 for a sentence with none)."""
    words = content_words(sentence)
    if not words:
        return 1.0
    have = content_words(evidence)
    lowered = (evidence or "").lower()
    return sum(_covered(w, have, lowered) for w in words) / len(words)


def clauses_of(text: str) -> list[str]:
    """A text's clauses: its sentences cut again at commas and semicolons ("it fits, no wiring needed")."""
    return [c.strip() for s in (sentences_of(text) or [text]) for c in _CLAUSE_END.split(s) if c.strip()]


def closest_clause(sentence: str, evidence: str) -> str:
    """The evidence clause sharing most content words with ``sentence`` (the one its polarity is compared to: a
    negation elsewhere in the evidence says nothing about this claim)."""
    return max(clauses_of(evidence) or [evidence], key=lambda c: coverage(sentence, c))


def numbers_agree(sentence: str, evidence: str) -> bool:
    """Every number the sentence states is in the evidence."""
    return numbers(sentence) <= numbers(evidence)


def polarity_agrees(sentence: str, evidence: str) -> bool:
    """The sentence is negated exactly when its closest evidence sentence is (cross-language: the sentence's
    negation against any negation in the evidence)."""
    if is_chinese(sentence) != is_chinese(evidence):
        return negated(sentence) == negated(evidence)
    return negated(sentence) == negated(closest_clause(sentence, evidence))


@dataclass
class SupportFeatures:
    """What the check reads of one (sentence, evidence) pair; thresholds apply to it."""

    coverage: float
    cosine: float | None  # only across languages
    numbers_ok: bool
    polarity_ok: bool
    cross_language: bool


@dataclass
class SupportCheck:
    """Judge whether a sentence is supported by the evidence it cites. Parameters only here; the defaults are the
    thresholds :meth:`fit` chose on the committed hand-labelled cases (docs/assistant-generate.md)."""

    min_coverage: float = 0.5
    min_cosine: float = 0.8
    encoder: str = "e5-small"
    grid_coverage: Sequence[float] = (0.4, 0.5, 0.6, 0.67, 0.75, 0.8, 0.9, 1.0)
    grid_cosine: Sequence[float] = (0.7, 0.75, 0.8, 0.85, 0.9, 1.01)
    _encoder: Any = field(default=None, init=False, repr=False, compare=False)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            from shoplens.text import load_encoder

            self._encoder = load_encoder(self.encoder)
        return self._encoder.encode(texts)

    def features(self, sentence: str, evidence: Sequence[str]) -> SupportFeatures:
        text = "\n".join(evidence)
        cross = is_chinese(sentence) != is_chinese(text)
        cosine = None
        if cross:
            pieces = [s for e in evidence for s in (sentences_of(e) or [e])] or [text]
            vectors = self._encode([sentence, *pieces])
            cosine = float(np.max(vectors[1:] @ vectors[0]))
        return SupportFeatures(coverage=coverage(sentence, text), cosine=cosine,
                               numbers_ok=numbers_agree(sentence, text), polarity_ok=polarity_agrees(sentence, text),
                               cross_language=cross)

    def judge(self, features: SupportFeatures, min_coverage: float | None = None,
              min_cosine: float | None = None) -> bool:
        """The verdict for measured features (thresholds default to this check's)."""
        min_coverage = self.min_coverage if min_coverage is None else min_coverage
        min_cosine = self.min_cosine if min_cosine is None else min_cosine
        if not (features.numbers_ok and features.polarity_ok):
            return False
        if features.cross_language:
            return features.cosine is not None and features.cosine >= min_cosine
        return features.coverage >= min_coverage

    def supported(self, sentence: str, evidence: Sequence[str]) -> bool:
        """Whether ``sentence`` is supported by the texts of the passages it cites."""
        if not evidence or not any(e.strip() for e in evidence):
            return False
        return self.judge(self.features(sentence, evidence))

    def fit(self, sentences: Sequence[str], evidence: Sequence[Sequence[str]], labels: Sequence[bool]) -> SupportCheck:
        """Choose ``min_coverage`` and ``min_cosine`` on labelled cases: the pair with the best accuracy, ties to
        the stricter pair (a wrong "supported" lets an invented sentence through; a wrong "unsupported" only falls
        back to the extractive answer)."""
        measured = [self.features(s, e) for s, e in zip(sentences, evidence, strict=True)]
        self.min_coverage, self.min_cosine = self._best(measured, [bool(v) for v in labels])
        return self

    def _best(self, measured: list[SupportFeatures], labels: list[bool]) -> tuple[float, float]:
        def accuracy(pair: tuple[float, float]) -> float:
            return float(np.mean([self.judge(f, *pair) == y for f, y in zip(measured, labels, strict=True)]))

        pairs = list(itertools.product(self.grid_coverage, self.grid_cosine))
        return max(pairs, key=lambda p: (accuracy(p), p[0], p[1]))

    def leave_one_out(self, sentences: Sequence[str], evidence: Sequence[Sequence[str]],
                      labels: Sequence[bool]) -> dict[str, Any]:
        """Each case judged by thresholds chosen on the others: accuracy, precision and recall of "supported"."""
        measured = [self.features(s, e) for s, e in zip(sentences, evidence, strict=True)]
        truth = [bool(v) for v in labels]
        predicted = []
        for i in range(len(measured)):
            rest = [f for j, f in enumerate(measured) if j != i]
            pair = self._best(rest, [y for j, y in enumerate(truth) if j != i])
            predicted.append(self.judge(measured[i], *pair))
        return binary_summary(truth, predicted)


def binary_summary(truth: Sequence[bool], predicted: Sequence[bool]) -> dict[str, Any]:
    """Accuracy, and precision / recall of the "supported" verdict."""
    t, p = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    true_pos = int((t & p).sum())
    return {"cases": len(t), "accuracy": round(float((t == p).mean()), 4),
            "precision_supported": round(true_pos / max(1, int(p.sum())), 4),
            "recall_supported": round(true_pos / max(1, int(t.sum())), 4),
            "false_supported": int((~t & p).sum()), "false_unsupported": int((t & ~p).sum()),
            "predicted": [bool(x) for x in p]}
