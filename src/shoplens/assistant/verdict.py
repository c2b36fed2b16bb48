"""Yes/no verdicts: answer "yes" or "no" only when the evidence says so, else show the evidence without one.

```python
from shoplens.assistant.verdict import YesNoVerdict, is_yes_no_question

is_yes_no_question("Does it come with a power cord?")     # True
is_yes_no_question("这款支持蓝牙吗？")                        # True
model = YesNoVerdict().fit(questions, answers, labels)   # labels "yes" / "no" / "unclear" (or Y / N / ?)
model.predict(["Does it fit a 30 inch cabinet?"], ["Yes, it fits perfectly."])
# [Verdict(answer='yes', probability=…, p_yes=…, method='learned')]   ('rules' below min_pairs)
```

Why a verdict can abstain: a wrong "yes" to "does it fit my sink?" costs the shop a return, and customers' answers
are often unclear ("I replaced my old one without a hitch"). So the model scores how likely the evidence gives each
verdict (a logistic regression over lead-word cues and frozen multilingual sentence embeddings, trained on the
shop's own answered yes/no questions, with "unclear" answers as a third class where the shop labels them) and
speaks only above a threshold chosen on held-out questions: the lowest score at which the verdicts are more
accurate than saying "yes" to every question and, by a confidence margin, at least as often supported by their
evidence as the lead-word rules' verdicts (or ``min_precision``); a model that then answers no more than the rules
is not kept — docs/assistant-verdicts.md.

A shop without enough labelled pairs (fewer than ``min_pairs``) gets the lead-word rules alone
(:func:`lead_word_verdict`: "Yes…", "No…", "Nope", "是的", "不能" …), which abstain on everything else; so does
evidence in a language the shop's labelled pairs do not cover (``languages_``), e.g. Chinese answers to a model
learned from English ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from shoplens.base import Estimator, json_safe
from shoplens.errors import InputError, NotFound
from shoplens.text.language import detect_language

if TYPE_CHECKING:
    from shoplens.text import Encoder
    from shoplens.workspace import Workspace

Answer = Literal["yes", "no"]
CLASSES = ("no", "yes", "unclear")
CONFIG_FILE = "verdict.json"
# A language the learned model speaks for: at least this many labelled training pairs (and 5 % of them); evidence
# in any other language gets the lead-word rules (a model that never saw a Chinese answer is unsure of every one).
MIN_LANGUAGE_PAIRS = 20
WEIGHTS_FILE = "verdict.npz"

# --------------------------------------------------------------------------------------------------------------
# Is it a yes/no question?
# --------------------------------------------------------------------------------------------------------------
_EN_AUX = ("is", "are", "am", "was", "were", "does", "do", "did", "can", "could", "will", "would", "should",
           "shall", "has", "have", "had", "may", "might", "must", "isn't", "aren't", "doesn't", "don't", "didn't",
           "can't", "cannot", "won't", "wouldn't", "shouldn't", "hasn't", "haven't", "wasn't", "weren't",
           "couldn't")
_EN_AUX_SET = frozenset(_EN_AUX)
# A clause that opens with an auxiliary: the sentence start, or after a comma / "so" / "and" / "but" ("I have a
# Badger 1, will this one fit?"). Wh-words before it make it an open question.
_EN_CLAUSE = re.compile(r"(?:^|[.?!,;:]\s*|\b(?:so|and|but|also|then|or)\s+)(" + "|".join(
    re.escape(a) for a in _EN_AUX) + r")\s+(?:it|this|that|they|these|those|there|the|a|an|i|you|we|he|she|one|"
    r"anyone|someone|anybody|somebody|mine|yours|your|my|its|their|any|all|both|each|both)\b")
_EN_OR_CHOICE = re.compile(r"\bor\b(?! not\b)(?! no\b)")
_ZH_MARKERS = re.compile(r"是否|能不能|能否|有没有|是不是|可不可以|可以不|会不会|要不要|对不对|行不行|好不好|"
                         r"有无|支不支持|包不包|用不用|带不带|吗|嘛")
_ZH_OPEN = re.compile(r"什么|怎么|怎样|如何|哪|多少|几|为什么|为何|多大|多长|多久|多重")


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").strip()


def is_yes_no_question(text: str | None) -> bool:
    """Whether ``text`` asks for a yes or a no (English or Chinese).

    English: an auxiliary (is/are/does/do/can/will/should/has …) opening the question or one of its clauses,
    followed by a subject ("Does it …", "…, will this fit?"), and no "A or B" choice. Chinese: a yes/no particle
    or A-not-A form (吗, 是否, 能不能, 有没有, 是不是, 可不可以 …) without a question word (什么, 怎么, 哪, 多少 …)
    — "这是什么吗" is rare, "这个多少钱吗" rarer.
    """
    if not text or not text.strip():
        return False
    clean = _normalise(text).lower()
    if _has_han(clean):
        return bool(_ZH_MARKERS.search(clean)) and not _ZH_OPEN.search(clean)
    first = re.split(r"\W+", clean.lstrip(" \t\"'(-*"), maxsplit=1)[0]
    if first in _EN_AUX_SET or re.match(r"^(?:" + "|".join(re.escape(a) for a in _EN_AUX) + r")\b", clean):
        return not _EN_OR_CHOICE.search(clean)
    return bool(_EN_CLAUSE.search(clean)) and not _EN_OR_CHOICE.search(clean)


def _has_han(text: str) -> bool:
    return bool(re.search(r"[\u3400-\u4dbf\u4e00-\u9fff]", text))


# --------------------------------------------------------------------------------------------------------------
# Lead-word rules: what the evidence opens with
# --------------------------------------------------------------------------------------------------------------
def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_EN_FILLER = re.compile(r"^(?:(?:hi|hello|hey|well|ok|okay|oh|um|uh|hmm|so|ah|sorry|thanks|thank you)\b[\s,.!:;-]*)+")
_EN_UNCLEAR = ("not sure", "no idea", "not certain", "i'm not sure", "im not sure", "i am not sure", "i don't know",
               "i dont know", "i do not know", "don't know", "dont know", "i'm not certain", "not positive", "unsure",
               "depends", "it depends", "that depends", "maybe", "possibly", "perhaps", "hard to say", "can't say",
               "cannot say", "i can't say", "no clue", "i have no idea", "i have no clue", "not that i know",
               "i can't tell", "can't tell", "i couldn't tell", "i wouldn't know", "unknown", "good question")
_EN_YES_AFTER_NO = ("no problem", "no problems", "no doubt", "no question", "not a problem", "no worries",
                    "not a bit of problem", "no issue", "no issues")
_EN_YES = ("yes", "yeah", "yea", "yep", "yup", "ya", "yah", "yess", "yesss", "absolutely", "definitely", "certainly",
           "sure", "correct", "affirmative", "indeed", "of course", "exactly", "that's correct", "that is correct",
           "that's right", "right", "true", "i believe so", "i think so", "i believe it does", "i think it does",
           "sure does", "sure is", "it sure does", "it sure is", "you bet", "yes sir", "yes ma'am", "positive")
_EN_NO = ("no", "nope", "nah", "negative", "not", "never", "unfortunately", "sadly", "i don't think so",
          "i do not think so", "i dont think so", "i don't believe so", "i do not believe so", "i doubt",
          "not really", "incorrect", "none", "neither", "nothing", "doesn't", "don't", "isn't", "aren't", "won't",
          "can't", "cannot", "didn't", "wasn't", "weren't", "wouldn't", "shouldn't", "hasn't", "haven't")
_EN_SUBJECT = r"(?:it|they|this|this one|that|these|those|mine|ours|he|she|we|you|i|the \w+|both|all|each one)"
_EN_AUX_LEAD = re.compile(rf"^{_EN_SUBJECT}\s+(?:really\s+|definitely\s+|certainly\s+|should\s+)?"
                          r"(do|does|did|is|are|was|were|will|would|can|could|should|has|have|had|fits?|works?|"
                          r"comes?|came|runs?|includes?)(n't|\s+not|\s+no\b|\s+never)?\b")
_EN_UNCLEAR_LEAD = re.compile(rf"^(?:{_alternation(_EN_UNCLEAR)})\b")
_EN_YES_AFTER_NO_LEAD = re.compile(rf"^(?:{_alternation(_EN_YES_AFTER_NO)})\b")
_EN_YES_LEAD = re.compile(rf"^(?:{_alternation(_EN_YES)})\b")
_EN_NO_LEAD = re.compile(rf"^(?:{_alternation(_EN_NO)})(?![\w'])")

_ZH_FILLER = re.compile(r"^(?:亲爱的|亲|您好|你好|嗯嗯|嗯|呃|哦|啊|额|恩|答|回复)[\s,，.。!！:：~～、]*")
_ZH_UNCLEAR = ("不确定", "不清楚", "不知道", "不一定", "看情况", "说不好", "说不准", "难说", "不好说", "可能", "也许",
               "大概", "应该吧", "不太清楚", "没注意", "没试过", "没用过", "没有试过", "没有用过", "没留意")
_ZH_YES_AFTER_NO = ("没问题", "没错", "不错", "没得说", "不用担心", "无需担心", "毫无问题")
_ZH_NO = ("不是", "不能", "不可以", "不会", "不行", "不支持", "不包括", "不包含", "不适用", "不带", "不用", "不需要",
          "没有", "没", "无", "否", "并不", "并没有", "不", "不可")
_ZH_NOT_YES = ("有点", "有些", "有的", "对于", "对比", "是否", "能否", "可能", "会员", "有时")
_ZH_YES = ("是的", "是", "对的", "对", "可以", "能", "会", "有", "行", "支持", "包括", "包含", "适用", "肯定", "确定",
           "当然", "好的", "嗯", "恩", "带", "需要", "必须", "一定")
_ZH_SUBJECT = r"(?:这款|这个|这台|这件|这种|此款|本款|本品|本产品|它|他|我们|我的|我家|我|产品|机器|商品)"
_ZH_UNCLEAR_LEAD = re.compile(rf"^(?:{_ZH_SUBJECT})?(?:也|还|真|都)?(?:{_alternation(_ZH_UNCLEAR)})")
_ZH_YES_AFTER_NO_LEAD = re.compile(rf"^(?:{_alternation(_ZH_YES_AFTER_NO)})")
_ZH_NOT_YES_LEAD = re.compile(rf"^(?:{_alternation(_ZH_NOT_YES)})")
_ZH_NO_LEAD = re.compile(rf"^(?:{_alternation(_ZH_NO)})")
_ZH_YES_LEAD = re.compile(rf"^(?:{_alternation(_ZH_YES)})")
_ZH_SUBJECT_LEAD = re.compile(rf"^{_ZH_SUBJECT}(?:也|还|都|是)?")

_NEGATION = re.compile(r"\b(?:no|not|never|none|nope|nothing|neither|nor|cannot|without)\b|n't\b|不|没|无|否|未|别")
_CONTRAST = re.compile(r"\b(?:but|however|although|though|except|unless)\b|但是|但|不过|然而|除非|除了")
_CONDITION = re.compile(r"\b(?:if|depends|depending|maybe|might|probably|perhaps|possibly)\b"
                        r"|如果|要是|取决|可能|也许|大概")
_FIRST_SENTENCE = re.compile(r"[.!?。！？;；\n]")

RULE_FEATURES = ("strong_yes", "strong_no", "weak_yes", "weak_no", "unclear_cue", "negations_first",
                 "negations_all", "asks_back", "contrast", "condition", "short", "chinese")


@dataclass(frozen=True)
class Lead:
    """What the evidence opens with: the verdict it implies, and how plainly (``strong``: "Yes", "No", "是的",
    "不能"; ``weak``: a subject and an auxiliary, "It does not …", "这款不支持 …"; ``unclear``: "Not sure",
    "不确定")."""

    verdict: Answer | None
    strength: Literal["strong", "weak", "unclear", "none"]


def read_lead(evidence: str | None) -> Lead:
    """The lead of ``evidence`` (English or Chinese), by the rules above; empty text has none."""
    if not evidence or not evidence.strip():
        return Lead(None, "none")
    text = _normalise(evidence).lower()
    if _has_han(text[:12]):
        return _read_lead_zh(text.lstrip(" \t\"'“”「」(（-*"))
    return _read_lead_en(_EN_FILLER.sub("", text.lstrip(" \t\"'(-*@")))


def _read_lead_en(text: str) -> Lead:
    if _EN_UNCLEAR_LEAD.match(text):
        return Lead(None, "unclear")
    if _EN_YES_AFTER_NO_LEAD.match(text) or _EN_YES_LEAD.match(text):
        return Lead("yes", "strong")
    if _EN_NO_LEAD.match(text):
        return Lead("no", "strong")
    aux = _EN_AUX_LEAD.match(text)
    if aux:
        return Lead("no" if aux.group(2) else "yes", "weak")
    return Lead(None, "none")


def _read_lead_zh(text: str) -> Lead:
    text = _ZH_FILLER.sub("", text)
    if _ZH_UNCLEAR_LEAD.match(text):
        return Lead(None, "unclear")
    if _ZH_YES_AFTER_NO_LEAD.match(text):
        return Lead("yes", "strong")
    if _ZH_NO_LEAD.match(text):
        return Lead("no", "strong")
    if _ZH_YES_LEAD.match(text) and not _ZH_NOT_YES_LEAD.match(text):
        return Lead("yes", "strong")
    subject = _ZH_SUBJECT_LEAD.match(text)
    if subject:
        rest = text[subject.end():]
        if _ZH_YES_AFTER_NO_LEAD.match(rest):
            return Lead("yes", "weak")
        if _ZH_NO_LEAD.match(rest):
            return Lead("no", "weak")
        if _ZH_YES_LEAD.match(rest) and not _ZH_NOT_YES_LEAD.match(rest):
            return Lead("yes", "weak")
    return Lead(None, "none")


def lead_word_verdict(evidence: str | None, *, weak: bool = False) -> Answer | None:
    """"yes" / "no" when the evidence opens with a plain verdict, else None (abstain). ``weak`` also counts a
    subject and an auxiliary ("It does not …", "They fit …", "这款不支持 …"), which answer more questions but far
    less surely — customers' unclear answers often open that way — so the fallback leaves them out (the measured
    precision of each is in docs/assistant-verdicts.md)."""
    lead = read_lead(evidence)
    if lead.strength == "strong" or (weak and lead.strength == "weak"):
        return lead.verdict
    return None


def rule_features(evidence: Sequence[str]) -> np.ndarray:
    """Language-independent cues of each evidence text, one row each (columns :data:`RULE_FEATURES`): the same
    column fires for "Yes" and "是的", so a model learned on English answers reads Chinese leads too."""
    rows = np.zeros((len(evidence), len(RULE_FEATURES)), dtype=np.float32)
    for i, text in enumerate(evidence):
        text = _normalise(text or "").lower()
        lead = read_lead(text)
        first = _FIRST_SENTENCE.split(text, maxsplit=1)[0]
        rows[i] = (
            lead.strength == "strong" and lead.verdict == "yes",
            lead.strength == "strong" and lead.verdict == "no",
            lead.strength == "weak" and lead.verdict == "yes",
            lead.strength == "weak" and lead.verdict == "no",
            lead.strength == "unclear",
            min(len(_NEGATION.findall(first)), 3) / 3,
            min(len(_NEGATION.findall(text)), 5) / 5,
            "?" in text or "？" in text,
            bool(_CONTRAST.search(text)),
            bool(_CONDITION.search(text)),
            len(text) < 40,
            _has_han(text),
        )
    return rows


# --------------------------------------------------------------------------------------------------------------
# The verdict model
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """One verdict: ``answer`` "yes" / "no", or None (abstain: show the evidence without a verdict);
    ``probability`` that the evidence gives ``answer`` (for an abstention, of the likelier verdict); ``p_yes``
    the probability of "yes" given that the evidence gives a verdict; ``method`` "learned" or "rules"."""

    answer: Answer | None
    probability: float
    p_yes: float
    method: str


def label_of(value: object) -> str | None:
    """A label as the model reads it: "yes", "no" or "unclear" from Y/N/?, yes/no, 是/否, True/False; else
    None (not a yes/no label, left out)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower() if value is not None else ""
    return {"y": "yes", "yes": "yes", "是": "yes", "true": "yes", "1": "yes",
            "n": "no", "no": "no", "否": "no", "false": "no", "0": "no",
            "?": "unclear", "unclear": "unclear", "unknown": "unclear"}.get(text)


# Where a shop's qa table keeps the label: the ``attributes`` JSON of its rows (source column names, e.g. the
# amazon_qa ingest's ``answerType``), under one of these keys.
LABEL_KEYS = ("answerType", "answer_type", "yes_no", "verdict", "label")


def label_from_attributes(attributes: object) -> str | None:
    """The yes/no label of a qa row from its ``attributes`` (a dict or its JSON text): "yes", "no", "unclear" or
    None (no label, or not a yes/no one) — what :meth:`YesNoVerdict.fit` takes as ``labels``."""
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes)
        except json.JSONDecodeError:
            return None
    if not isinstance(attributes, dict):
        return None
    for key in LABEL_KEYS:
        if key in attributes:
            return label_of(attributes[key])
    return None


class YesNoVerdict(Estimator):
    """Yes / no / abstain from a yes/no question and one evidence text (an answer, a review sentence, a product
    description), English or Chinese.

    Parameters: ``encoder`` the frozen sentence encoder (``use-multilingual`` reads Chinese; ``minilm`` English
    only; None: lead-word cues only); ``features`` what the classifier sees besides the lead-word cues
    (``evidence``, or ``evidence+question`` adding the question's embedding and its product with the evidence's);
    ``C`` the logistic regression's inverse regularisation; ``min_precision`` the least share of verdicts on
    held-out questions that their evidence supports (a verdict on an "unclear" answer counts against it; None:
    the share the lead-word rules reach on the same questions, so the model is not less safe than the rules);
    ``precision_z`` how sure that has to be: the held-out supported share's Wilson lower bound at this many
    standard errors must reach the floor (1.645, chosen by cross-validation over amazon_qa validation products:
    with the point estimate, z = 0, the learned model's share fell below the rules' on the other half half the
    time; with 1.645, a tenth of the time, still answering a little more); ``min_pairs`` labelled yes/no (Y/N)
    pairs below which fitting keeps the lead-word rules without trying (700: on amazon_qa training samples with
    fewer, the learned model never answered more held-out questions than the rules; docs/assistant-verdicts.md);
    ``validation_share`` of labelled pairs (whole groups when given) held out to choose the threshold when
    ``fit`` gets no validation set; ``random_state`` that split's seed.
    """

    registry_name: ClassVar[str] = "yesno_verdict"
    capability: ClassVar[str] = "assistant"

    def __init__(self, encoder: str | None = "use-multilingual", features: str = "evidence",
                 C: float = 1.0, min_precision: float | None = None, precision_z: float = 1.645,
                 min_pairs: int = 700, validation_share: float = 0.25, random_state: int = 0) -> None:
        self.encoder = encoder
        self.features = features
        self.C = C
        self.min_precision = min_precision
        self.precision_z = precision_z
        self.min_pairs = min_pairs
        self.validation_share = validation_share
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------------------------------
    def fit(self, questions: Sequence[str], evidence: Sequence[str], labels: Sequence[object], *,
            groups: Sequence[object] | None = None,
            validation: tuple[Sequence[str], Sequence[str], Sequence[object]] | None = None,
            workspace: Workspace | None = None) -> Self:
        """Learn from answered yes/no questions: ``labels`` "yes"/"no" (Y/N), optionally "unclear" (?) — other
        labels are left out. The threshold is chosen on ``validation`` (questions, evidence, labels), else on a
        held-out share of the pairs (whole ``groups``, e.g. products, when given). Fewer than ``min_pairs``
        yes/no pairs, or a learned model that answers no more held-out Y/N questions than the rules at its
        threshold (``held_out_coverage_``) → the lead-word rules (``method_ == "rules"``). ``workspace`` caches
        embeddings."""
        if groups is not None:
            read = [label_of(v) for v in labels]
            if len(groups) != len(read):
                raise InputError(f"{len(read)} labels but {len(groups)} groups")
            groups = [g for g, v in zip(groups, read, strict=True) if v is not None]
        questions, evidence, y = _check_pairs(questions, evidence, labels)
        self._encoder_ = None
        if int(np.isin(y, ["yes", "no"]).sum()) < self.min_pairs:
            self.method_, self.threshold_, self.classes_ = "rules", None, list(CLASSES[:2])
            self.min_precision_, self.languages_, self.held_out_coverage_ = None, [], {}
            return self
        if validation is None:
            train, held = _holdout(len(y), groups, self.validation_share, self.random_state)
            validation = ([questions[i] for i in held], [evidence[i] for i in held], list(y[held]))
            questions, evidence, y = [questions[i] for i in train], [evidence[i] for i in train], y[train]
        self.languages_ = _languages_of(evidence)
        self._fit_classifier(self._features(questions, evidence, workspace), y)
        v_questions, v_evidence, v_y = _check_pairs(*validation)
        self.method_ = "learned"
        self.threshold_ = self._choose_threshold(self._features(v_questions, v_evidence, workspace), v_evidence, v_y)
        if self.held_out_coverage_["learned"] <= self.held_out_coverage_["rules"]:
            self.method_ = "rules"  # the learned model must earn its place: answer more than the rules do
        return self

    def _fit_classifier(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        self.classes_ = [c for c in CLASSES if c in set(y)]
        if len(self.classes_) < 2:
            raise InputError("yes/no verdicts need both 'yes' and 'no' labels to learn from")
        model = LogisticRegression(C=self.C, max_iter=2000)
        model.fit(x, y)
        coef, intercept = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # sklearn keeps one row for two classes: the second class's log-odds
            coef, intercept = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        order = [list(model.classes_).index(c) for c in self.classes_]
        self.coef_, self.intercept_ = coef[order], intercept[order]

    def _choose_threshold(self, x: np.ndarray, evidence: list[str], y: np.ndarray) -> float:
        """The threshold on held-out pairs; also keeps the floor used and the held-out coverage of the Y/N
        questions by the learned model at that threshold and by the rules (``held_out_coverage_``)."""
        score, answer = _score_and_answer(self._proba_of_features(x), self.classes_)
        rules = np.array([lead_word_verdict(e) for e in evidence], dtype=object)
        given = rules != None  # noqa: E711 (element-wise)
        floor = self.min_precision
        if floor is None:
            floor = float((rules[given] == y[given]).mean()) if given.any() else 1.0
        self.min_precision_ = floor
        threshold = choose_threshold(score, answer, y, floor, z=self.precision_z)
        decided = y != "unclear"
        self.held_out_coverage_ = {
            "learned": float((decided & (score >= threshold)).sum() / max(decided.sum(), 1)),
            "rules": float((decided & given).sum() / max(decided.sum(), 1))}
        return threshold

    # -- prediction --------------------------------------------------------------------------------------------
    def predict_proba(self, questions: Sequence[str], evidence: Sequence[str], *,
                      workspace: Workspace | None = None) -> np.ndarray:
        """Probabilities over ``classes_`` ("no", "yes"[, "unclear"]) for each (question, evidence) pair."""
        self._check_fitted()
        if self.method_ != "learned":
            raise InputError("rule-based verdicts have no probabilities; use predict()")
        questions, evidence, _ = _check_pairs(questions, evidence, None)
        return self._proba_of_features(self._features(questions, evidence, workspace))

    def predict(self, questions: Sequence[str], evidence: Sequence[str], *,
                workspace: Workspace | None = None) -> list[Verdict]:
        """A :class:`Verdict` per (question, evidence) pair: abstains on empty evidence, on evidence whose
        verdict scores below ``threshold_``, and (rules) on evidence without a plain lead."""
        self._check_fitted()
        questions, evidence, _ = _check_pairs(questions, evidence, None)
        if self.method_ == "rules":
            return [_rule_verdict(e) for e in evidence]
        out: list[Verdict] = [Verdict(None, 0.0, 0.5, self.method_)] * len(evidence)
        filled = []
        for i, text in enumerate(evidence):
            if text.strip() and detect_language(text) in self.languages_:
                filled.append(i)
            elif text.strip():
                out[i] = _rule_verdict(text)
        if not filled:
            return out
        proba = self.predict_proba([questions[i] for i in filled], [evidence[i] for i in filled],
                                   workspace=workspace)
        score, answer = _score_and_answer(proba, self.classes_)
        p_yes = proba[:, self.classes_.index("yes")] / proba[:, :2].sum(1)
        for row, i in enumerate(filled):
            said = str(answer[row]) if score[row] >= self.threshold_ else None
            out[i] = Verdict(said, round(float(score[row]), 4), round(float(p_yes[row]), 4), self.method_)
        return out

    def scores(self, questions: Sequence[str], evidence: Sequence[str], *,
               workspace: Workspace | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The score each verdict is thresholded on and the verdict itself, for every pair (risk–coverage)."""
        return _score_and_answer(self.predict_proba(questions, evidence, workspace=workspace), self.classes_)

    # -- features ---------------------------------------------------------------------------------------------
    def _embed(self, texts: list[str], workspace: Workspace | None) -> np.ndarray:
        if self._encoder_ is None:
            from shoplens.text import load_encoder

            self._encoder_ = load_encoder(self.encoder)
        encoder: Encoder = self._encoder_
        return encoder.encode([t if t.strip() else "-" for t in texts], workspace=workspace)

    def _features(self, questions: list[str], evidence: list[str], workspace: Workspace | None) -> np.ndarray:
        parts = [rule_features(evidence)]
        if self.encoder:
            answers = self._embed(evidence, workspace)
            parts.append(answers)
            if self.features == "evidence+question":
                asked = self._embed(questions, workspace)
                parts += [asked, asked * answers]
            elif self.features != "evidence":
                raise InputError(f"features must be 'evidence' or 'evidence+question', not {self.features!r}")
        return np.hstack(parts).astype(np.float32)

    def _proba_of_features(self, x: np.ndarray) -> np.ndarray:
        logits = x @ self.coef_.T + self.intercept_
        logits -= logits.max(1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(1, keepdims=True)

    def _check_fitted(self) -> None:
        if not hasattr(self, "method_"):
            raise NotFound("this verdict model is not fitted yet: call fit() or load()")

    # -- persistence ------------------------------------------------------------------------------------------
    def evaluate(self, data: Any, *, dataset: str | None = None, **protocol: Any) -> list[Any]:
        """Not a self-contained benchmark: benchmarks/_assistant_yesno.py measures verdicts beside always-yes."""
        raise NotImplementedError("yes/no verdicts are measured by benchmarks/_assistant_yesno.py")

    def save(self, path: str | Path) -> Path:
        """Parameters, method, threshold and (learned) the classifier's weights, in ``path``."""
        self._check_fitted()
        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        config = {"params": json_safe(self.get_params()), "method": self.method_, "threshold": self.threshold_,
                  "classes": self.classes_, "min_precision": self.min_precision_, "languages": self.languages_,
                  "held_out_coverage": self.held_out_coverage_}
        (target / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        if self.method_ == "learned":
            np.savez(target / WEIGHTS_FILE, coef=self.coef_, intercept=self.intercept_)
        return target

    @classmethod
    def load(cls, path: str | Path) -> Self:
        source = Path(path)
        if not (source / CONFIG_FILE).exists():
            raise NotFound(f"{source} holds no saved verdict model ({CONFIG_FILE} missing)")
        config = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
        model = cls.from_saved_params(config["params"])
        model.method_, model.threshold_, model.classes_ = config["method"], config["threshold"], config["classes"]
        model.min_precision_, model.languages_ = config["min_precision"], config["languages"]
        model.held_out_coverage_ = config["held_out_coverage"]
        model._encoder_ = None
        if model.method_ == "learned":
            with np.load(source / WEIGHTS_FILE) as weights:
                model.coef_, model.intercept_ = weights["coef"], weights["intercept"]
        return model


def _score_and_answer(proba: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the probability that the evidence gives its likelier verdict, and that verdict."""
    yes, no = proba[:, classes.index("yes")], proba[:, classes.index("no")]
    return np.maximum(yes, no), np.where(yes >= no, "yes", "no")


def choose_threshold(score: np.ndarray, answer: np.ndarray, labels: np.ndarray, min_precision: float = 0.0, *,
                     z: float = 0.0) -> float:
    """The lowest score threshold (the most verdicts) at which, on held-out questions, the verdicts given to
    yes/no-labelled questions are more accurate than always-yes on the same questions and than always-yes on all
    of them, and the share of all verdicts that the label supports (a verdict on an "unclear" answer is
    unsupported) is at least ``min_precision`` — its Wilson lower bound at ``z`` standard errors, so that a share
    measured on few verdicts has to clear the floor by more. No threshold qualifies → 1.01 (never answer)."""
    order = np.argsort(-score, kind="stable")
    decided = np.cumsum((labels != "unclear")[order])
    right = np.cumsum((answer == labels)[order])
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = right / decided
        yes_rate = np.cumsum((labels == "yes")[order]) / decided
    overall_yes = float((labels == "yes").sum() / max((labels != "unclear").sum(), 1))
    precision = wilson_lower(right, np.arange(1, len(order) + 1), z)
    ok = (decided > 0) & (accuracy > yes_rate) & (accuracy > overall_yes) & (precision >= min_precision)
    # a threshold sits between distinct scores: only the last position of each run of ties can be cut at
    last_of_tie = np.r_[score[order][1:] != score[order][:-1], True]
    ok &= last_of_tie
    if not ok.any():
        return 1.01
    return float(score[order][np.flatnonzero(ok)[-1]])


def wilson_lower(successes: np.ndarray, trials: np.ndarray, z: float) -> np.ndarray:
    """The Wilson score interval's lower end of a share (``z`` = 0: the share itself)."""
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def risk_coverage(score: np.ndarray, correct: np.ndarray, thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Coverage and error of the answered verdicts at each threshold (answer where ``score >= threshold``)."""
    rows = []
    for t in thresholds:
        answered = score >= t
        rows.append({"threshold": round(float(t), 4), "coverage": round(float(answered.mean()), 4),
                     "error": round(float(1 - correct[answered].mean()), 4) if answered.any() else 0.0})
    return rows


# Share of rule verdicts that the answer's label supports (Y/N/? questions, a verdict on ? unsupported), measured
# on the amazon_qa training products' yes/no questions (Appliances; benchmarks/_assistant_yesno.py re-measures it
# on validation and evaluation products): the rule verdict's probability, since a rule has no score of its own.
RULE_PRECISION = {"strong": 0.82, "weak": 0.23}


def _rule_verdict(evidence: str) -> Verdict:
    lead = read_lead(evidence)
    if lead.verdict is None or lead.strength != "strong":
        return Verdict(None, RULE_PRECISION.get(lead.strength, 0.0), 0.5, "rules")
    p = RULE_PRECISION[lead.strength]
    return Verdict(lead.verdict, p, p if lead.verdict == "yes" else round(1 - p, 4), "rules")


def _check_pairs(questions: Sequence[str], evidence: Sequence[str], labels: Sequence[object] | None,
                 ) -> tuple[list[str], list[str], np.ndarray]:
    """Texts as lists of strings (None → ""), labels read by :func:`label_of`; pairs whose label is not a
    yes/no label are left out."""
    if isinstance(questions, str) or isinstance(evidence, str):
        raise InputError("questions and evidence must be lists of texts, not one text")
    questions = ["" if q is None else str(q) for q in questions]
    evidence = ["" if e is None else str(e) for e in evidence]
    if len(questions) != len(evidence):
        raise InputError(f"{len(questions)} questions but {len(evidence)} evidence texts")
    if labels is None:
        return questions, evidence, np.array([], dtype=object)
    read = [label_of(v) for v in labels]
    if len(read) != len(questions):
        raise InputError(f"{len(questions)} questions but {len(read)} labels")
    keep = [i for i, v in enumerate(read) if v is not None]
    return ([questions[i] for i in keep], [evidence[i] for i in keep],
            np.array([read[i] for i in keep], dtype=object))


def _languages_of(evidence: list[str]) -> list[str]:
    """The languages with enough labelled pairs for the learned model to speak for them."""
    counts: dict[str, int] = {}
    for text in evidence:
        language = detect_language(text)
        counts[language] = counts.get(language, 0) + 1
    least = max(MIN_LANGUAGE_PAIRS, 0.05 * len(evidence))
    return sorted(language for language, n in counts.items() if n >= least)


def _holdout(n: int, groups: Sequence[object] | None, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices to train on and to choose the threshold on: whole groups held out when given."""
    rng = np.random.default_rng(seed)
    if groups is None:
        held = rng.random(n) < share
    else:
        names = np.asarray([str(g) for g in groups], dtype=object)
        unique = np.unique(names)
        held = np.isin(names, unique[rng.random(len(unique)) < share])
    return np.flatnonzero(~held), np.flatnonzero(held)
