"""Aspects: what a review talks about (quality, size/fit, price/value, delivery, service, packaging,
appearance, performance) and the sentiment towards each, in English and Chinese; summaries per product
and per category with counts and representative quotes.

How the aspects are learned (weak supervision, no aspect labels needed):

1. Reviews are cut into clauses (at sentence ends, commas, "but", "但是" …) and every clause is embedded
   with the multilingual encoder (USE Multilingual: English and Chinese in one space).
2. A small bilingual seed lexicon per aspect ("fabric", "尺码" …) labels the clauses that name exactly one
   aspect. A logistic regression over the embeddings learns each aspect from those clauses, so clauses
   that name no seed word ("fell apart after two washes", "第二天就到了") are recognised too; a clause is
   assigned when the classifier is confident and the clause is close to the aspect's centroid.
3. The words that mark each aspect in this shop's reviews are learned from the assigned clauses
   (``terms_``, distinctive words and character pairs), and name the aspect in summaries.
4. A clause's sentiment comes from a classifier trained on the review-level labels of the same data
   (ratings 1–2 / 3 / 4–5, or a source's 0/1 label), applied to each clause's embedding.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.reviews.data import as_frame

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

ENCODER = "use-multilingual"
MODEL_FILE = "aspects.pkl"
CONFIG_FILE = "aspects.json"

# Seed words per aspect (English, Chinese); the data teach the rest. Ambiguous words are left out ("cheap"
# is about price or about quality; the classifier decides from the whole clause).
SEEDS: dict[str, tuple[str, ...]] = {
    "quality": ("quality", "material", "materials", "fabric", "stitching", "seams", "made", "craftsmanship",
                "workmanship", "durable", "flimsy", "sturdy", "质量", "做工", "材质", "面料", "用料", "品质", "结实"),
    "size_fit": ("size", "sizing", "fit", "fits", "fitting", "small", "large", "tight", "loose", "petite", "length",
                 "snug", "baggy", "尺码", "大小", "码数", "版型", "合身", "偏大", "偏小", "尺寸"),
    "value": ("price", "value", "worth", "money", "expensive", "overpriced", "bargain", "sale", "价格",
              "性价比", "价钱", "价位", "划算", "实惠", "便宜", "值"),
    "delivery": ("delivery", "shipping", "shipped", "arrived", "courier", "parcel", "tracking", "物流", "快递",
                 "发货", "配送", "送货", "到货"),
    "service": ("service", "seller", "support", "refund", "exchange", "customer service", "客服", "售后", "服务",
                "态度", "卖家", "退货", "退款"),
    "packaging": ("packaging", "package", "packaged", "box", "wrapped", "wrapping", "包装", "盒子", "纸箱"),
    "appearance": ("color", "colour", "colors", "look", "looks", "style", "design", "pattern", "print",
                   "pictured", "picture", "photo", "cute", "颜色", "款式", "外观", "样子", "图片", "好看", "漂亮"),
    "performance": ("battery", "screen", "speed", "sound", "performance", "works", "charging", "signal", "system",
                    "电池", "屏幕", "速度", "系统", "性能", "信号", "充电", "效果", "运行"),
}
LABELS: dict[str, str] = {"quality": "quality", "size_fit": "size/fit", "value": "price/value",
                          "delivery": "delivery", "service": "service", "packaging": "packaging",
                          "appearance": "appearance", "performance": "performance"}
SENTIMENTS = ("negative", "neutral", "positive")

_CLAUSE_SPLIT = re.compile(r"[.!?;:\n。！？；：,，、]+|\s+(?:but|however|although|though|except|yet)\s+|"
                           r"(?:但是|不过|可是|然而|就是|只是)", re.IGNORECASE)
_WORD = re.compile(r"[a-z][a-z'-]+")
_HAN = re.compile(r"[\u3400-\u9fff]+")
STOPWORDS = frozenset([
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for", "with", "from", "by", "as",
    "is", "are", "was", "were", "be", "been", "being", "it", "its", "it's", "this", "that", "these", "those",
    "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them", "their", "there", "here", "so",
    "very", "really", "too", "just", "not", "no", "nor", "than", "then", "also", "again", "all", "any", "some",
    "more", "most", "much", "many", "can", "could", "would", "should", "will", "shall", "do", "does", "did",
    "done", "have", "has", "had", "having", "get", "got", "im", "i'm", "ive", "i've", "dont", "don't", "didnt",
    "didn't", "isnt", "isn't", "wasnt", "wasn't", "one", "two", "up", "down", "out", "over", "under", "about",
    "into", "after", "before", "while", "because", "what", "which", "who", "when", "where", "how", "why", "am"
])


def clauses_of(text: str) -> list[str]:
    """The clauses of a review (at least two letters or one Chinese character pair each)."""
    parts = [p.strip(" \"'()[]-–—*~") for p in _CLAUSE_SPLIT.split(text or "")]
    return [p for p in parts if len(_WORD.findall(p.lower())) >= 2 or len("".join(_HAN.findall(p))) >= 2]


def _seed_pattern(words: Sequence[str]) -> re.Pattern[str]:
    latin = sorted((w for w in words if not _HAN.search(w)), key=len, reverse=True)
    han = sorted((w for w in words if _HAN.search(w)), key=len, reverse=True)
    parts = [r"\b(?:" + "|".join(map(re.escape, latin)) + r")\b"] if latin else []
    parts += ["(?:" + "|".join(map(re.escape, han)) + ")"] if han else []
    return re.compile("|".join(parts), re.IGNORECASE)


def tokens_of(clause: str) -> list[str]:
    """Words (Latin, without stop words) and Chinese character pairs of a clause."""
    words = [w for w in _WORD.findall(clause.lower()) if w not in STOPWORDS]
    pairs = [run[i:i + 2] for run in _HAN.findall(clause) for i in range(max(1, len(run) - 1))]
    return words + pairs


@dataclass
class Mention:
    review: int  # position in the frame given
    aspect: str
    sentiment: str
    confidence: float
    clause: str


@dataclass(eq=False, repr=False)
class AspectModel(Estimator):
    """Learns aspects and clause sentiment from a shop's reviews; finds them in any review.

    ``min_confidence``: how sure the aspect classifier must be for a clause without a seed word;
    ``min_similarity``: the least cosine similarity of such a clause to the aspect's centroid.
    """

    registry_name: ClassVar[str] = "reviews-aspects"
    capability: ClassVar[str] = "reviews"

    aspects: dict[str, Sequence[str]] | None = None
    _: KW_ONLY
    min_confidence: float = 0.6
    min_similarity: float = 0.35
    neutral_band: float = 0.55
    terms_per_aspect: int = 12
    workspace: Workspace | None = None

    # -- embedding ------------------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        if getattr(self, "_encoder", None) is None:
            from shoplens.text import load_encoder

            self._encoder = load_encoder(ENCODER)
        return self._encoder.encode(texts, batch_size=64, workspace=getattr(self, "workspace", None))

    # -- training -------------------------------------------------------------------------------------
    def fit(self, data: Workspace | pd.DataFrame) -> AspectModel:
        from sklearn.linear_model import LogisticRegression

        frame = as_frame(data)
        seeds = dict(self.aspects or SEEDS)
        self.aspect_names_ = list(seeds)
        self.patterns_ = {a: _seed_pattern(words) for a, words in seeds.items()}
        review_of, clauses = _explode(frame["text"].tolist())
        if len(clauses) < 20:
            raise InputError(f"aspects are learned from the reviews' clauses; {len(clauses)} is too few (need 20+)")
        vectors = self._embed(clauses)
        hits = [self._seed_aspects(c) for c in clauses]
        # the classifier learns from clauses that name exactly one aspect
        seeded = np.array([h[0] if len(h) == 1 else None for h in hits], dtype=object)
        labelled = np.flatnonzero(seeded != None)  # noqa: E711  (object array)
        present = sorted({seeded[i] for i in labelled})
        if len(present) < 2:
            raise InputError("fewer than two aspects are named in these reviews; aspects cannot be learned")
        self.classifier_ = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced").fit(
            vectors[labelled], seeded[labelled].astype(str))
        self.centroids_ = {a: _unit(vectors[labelled][seeded[labelled] == a].mean(0)) for a in present}
        self.sentiment_ = self._fit_sentiment(frame, review_of, vectors)
        assigned = self._assign(clauses, vectors)
        self.terms_ = self._learn_terms(clauses, assigned)
        self.n_reviews_, self.n_clauses_ = len(frame), len(clauses)
        return self

    def _seed_aspects(self, clause: str) -> list[str]:
        return [a for a, p in self.patterns_.items() if p.search(clause)]

    def _fit_sentiment(self, frame: pd.DataFrame, review_of: np.ndarray, vectors: np.ndarray) -> Any:
        """Clause sentiment learned from review labels: a review's clauses share its label, which is noisy
        for mixed reviews but right on average; neutral where the source has 3-star reviews."""
        from sklearn.linear_model import LogisticRegression

        rating = pd.to_numeric(frame.get("rating", pd.Series(np.nan, index=frame.index)), errors="coerce")
        label = pd.to_numeric(frame.get("label", pd.Series(np.nan, index=frame.index)), errors="coerce")
        sentiment = pd.Series(np.select([rating <= 2, rating == 3, rating >= 4], [0, 1, 2], -1), index=frame.index)
        sentiment = sentiment.where(rating.notna(), label.map({0: 0, 1: 2})).fillna(-1).astype(int).to_numpy()
        known = sentiment[review_of] >= 0
        if len(np.unique(sentiment[review_of][known])) < 2:
            raise InputError("aspect sentiment is learned from ratings or labels; these reviews have neither")
        return LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(
            vectors[known], sentiment[review_of][known])

    def _learn_terms(self, clauses: list[str], assigned: list[list[str]]) -> dict[str, list[str]]:
        """Words that mark each aspect here: frequent in its clauses, rare in the others (lift × count)."""
        overall: Counter[str] = Counter()
        per_aspect: dict[str, Counter[str]] = {a: Counter() for a in self.aspect_names_}
        sizes: Counter[str] = Counter()
        for clause, aspects in zip(clauses, assigned, strict=True):
            tokens = set(tokens_of(clause))
            overall.update(tokens)
            for aspect in aspects:
                per_aspect[aspect].update(tokens)
                sizes[aspect] += 1
        total = max(1, len(clauses))
        terms = {}
        for aspect, counts in per_aspect.items():
            size = max(1, sizes[aspect])
            scored = [(n * np.log((n / size) / (overall[t] / total)), t) for t, n in counts.items()
                      if n >= 3 and (n / size) > 1.5 * (overall[t] / total)]
            terms[aspect] = [t for _, t in sorted(scored, reverse=True)[:self.terms_per_aspect]]
        return terms

    # -- finding aspects ------------------------------------------------------------------------------
    def _assign(self, clauses: list[str], vectors: np.ndarray) -> list[list[str]]:
        """The aspects of each clause: those its seed words name, else the classifier's confident choice."""
        probs = self.classifier_.predict_proba(vectors)
        classes = self.classifier_.classes_
        out: list[list[str]] = []
        for clause, vector, p in zip(clauses, vectors, probs, strict=True):
            seeded = self._seed_aspects(clause)
            if seeded:
                out.append(seeded)
                continue
            best = int(p.argmax())
            aspect = str(classes[best])
            close = float(vector @ self.centroids_[aspect]) >= self.min_similarity
            out.append([aspect] if p[best] >= self.min_confidence and close else [])
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise NotFound("the aspect model is not trained yet: call fit() or load()")

    def mentions(self, texts: Sequence[str]) -> list[Mention]:
        """Every (review, aspect) a clause talks about, with the clause's sentiment."""
        from shoplens.text.encoder import check_texts

        self._check_fitted()
        review_of, clauses = _explode(check_texts(texts))
        if not clauses:
            return []
        vectors = self._embed(clauses)
        assigned = self._assign(clauses, vectors)
        sentiment = self.sentiment_.predict_proba(vectors)
        order = list(self.sentiment_.classes_)
        out = []
        for i, aspects in enumerate(assigned):
            probs = {SENTIMENTS[c]: sentiment[i, order.index(c)] for c in order}
            label = max(probs, key=probs.__getitem__)
            if label != "neutral" and probs[label] < self.neutral_band and "neutral" not in probs:
                label = "neutral"  # a binary-trained model that is unsure
            out += [Mention(int(review_of[i]), aspect, label, round(float(probs[label]), 4), clauses[i])
                    for aspect in aspects]
        return out

    def analyze(self, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        """Per text: its aspects, each with sentiment, confidence and the clause that says it."""
        found: list[list[dict[str, Any]]] = [[] for _ in texts]
        for m in self.mentions(texts):
            found[m.review].append({"aspect": m.aspect, "label": LABELS.get(m.aspect, m.aspect),
                                    "sentiment": m.sentiment, "confidence": m.confidence, "quote": m.clause})
        return found

    def mention_table(self, data: Workspace | pd.DataFrame) -> pd.DataFrame:
        """One row per aspect mention, with the review's id, product and category when known."""
        frame = as_frame(data)
        rows = [vars(m) for m in self.mentions(frame["text"].tolist())]
        table = pd.DataFrame(rows, columns=["review", "aspect", "sentiment", "confidence", "clause"])
        keep = [c for c in ("review_id", "product_id", "product_title", "category", "review_ts", "language")
                if c in frame.columns]
        return table.join(frame[keep], on="review").drop(columns="review")

    # -- evaluation -----------------------------------------------------------------------------------
    def evaluate(self, data: Workspace, *, dataset: str | None = None, truth: pd.DataFrame | None = None) -> list[Any]:
        """Against known aspects of reviews (the store simulator writes them: ``truth/review_aspects.parquet``,
        ``review_id, aspect, sentiment`` −1/0/1): detection recall and precision per (review, aspect), and the
        agreement of polar sentiments; beside the seed words alone (detection only)."""
        from shoplens.evaluation import BenchmarkRecord, Protocol
        from shoplens.evaluation.records import workspace_dataset

        self._check_fitted()
        if truth is None:
            path = Path(data.path) / "truth" / "review_aspects.parquet"
            if not path.exists():
                raise NotFound(f"{path}: no known aspects to evaluate against (a simulated shop has them)")
            truth = pd.read_parquet(path)
        mentions = self.mention_table(data)
        sign = {"negative": -1, "neutral": 0, "positive": 1}
        found = (mentions.assign(s=mentions["sentiment"].map(sign)).groupby(["review_id", "aspect"])["s"]
                 .agg(lambda s: s.mode()[0]).reset_index())
        both = truth.merge(found, on=["review_id", "aspect"])
        polar = both[(both["sentiment"] != 0) & (both["s"] != 0)]
        seeded = pd.DataFrame([(m.review_id, a) for m in mentions.itertuples() for a in self._seed_aspects(m.clause)],
                              columns=["review_id", "aspect"]).drop_duplicates()
        seed_hits = len(truth.merge(seeded, on=["review_id", "aspect"]))
        protocol = Protocol(split="simulator_truth", notes=f"{len(truth):,} known (review, aspect) pairs; "
                                                                   "a pair's sentiment is its clauses' majority")
        dataset = dataset or workspace_dataset(data, "aspects")
        ours = {"recall": len(both) / max(len(truth), 1), "precision": len(both) / max(len(found), 1),
                "sentiment_agreement": float((polar["sentiment"] == polar["s"]).mean()) if len(polar) else 0.0}
        seeds = {"recall": seed_hits / max(len(truth), 1), "precision": seed_hits / max(len(seeded), 1)}
        return [BenchmarkRecord.create(benchmark="reviews", dataset=dataset, model="aspect-model", role="ours",
                                       protocol=protocol, metrics=ours),
                BenchmarkRecord.create(benchmark="reviews", dataset=dataset, model="seed-words", role="baseline",
                                       protocol=protocol, metrics=seeds)]

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        self._check_fitted()
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in vars(self).items() if k not in ("_encoder", "workspace")}
        with open(target / MODEL_FILE, "wb") as handle:
            pickle.dump(state, handle)
        (target / CONFIG_FILE).write_text(json.dumps({"aspects": self.aspect_names_, "terms": self.terms_,
                                                      "reviews": self.n_reviews_, "clauses": self.n_clauses_},
                                                     ensure_ascii=False, indent=2), encoding="utf-8")
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike) -> AspectModel:
        path = Path(folder) / MODEL_FILE
        if not path.exists():
            raise NotFound(f"{folder} holds no saved aspect model ({MODEL_FILE} missing)")
        model = cls.__new__(cls)
        with open(path, "rb") as handle:  # our own file, written by save()
            model.__dict__.update(pickle.load(handle))
        model.workspace = None
        return model

    def card_params(self) -> dict[str, Any]:
        return {k: v for k, v in super().card_params().items() if k != "workspace"}

    def save_to_registry(self, ws: Workspace) -> Any:
        """Deprecated (kept for one release): ``register(ws)``."""
        warnings.warn("save_to_registry() is deprecated; use register(ws)", DeprecationWarning, stacklevel=2)
        return self.register(ws)


def summarize(mentions: pd.DataFrame, by: str = "product_id", *, quotes: int = 2,
              min_mentions: int = 1) -> pd.DataFrame:
    """Per ``by`` value (product or category) and aspect: counts, share positive, net sentiment, quotes.

    ``net`` = (positive − negative) / mentions. Quotes are the most confident clauses of each polarity.
    """
    if mentions.empty:
        return pd.DataFrame(columns=[by, "aspect", "label", "mentions", "positive", "neutral", "negative", "net",
                                     "positive_quotes", "negative_quotes"])
    if by not in mentions.columns:
        raise InputError(f"cannot summarise by {by!r}: the mentions have no such column")
    rows = []
    for (key, aspect), group in mentions.groupby([by, "aspect"], sort=True):
        counts = group["sentiment"].value_counts()
        n = len(group)
        if n < min_mentions:
            continue
        pos, neg = int(counts.get("positive", 0)), int(counts.get("negative", 0))
        rows.append({by: key, "aspect": aspect, "label": LABELS.get(aspect, aspect), "mentions": n,
                     "positive": pos, "neutral": int(counts.get("neutral", 0)), "negative": neg,
                     "net": round((pos - neg) / n, 4),
                     "positive_quotes": _quotes(group, "positive", quotes),
                     "negative_quotes": _quotes(group, "negative", quotes)})
    return pd.DataFrame(rows)


def _quotes(group: pd.DataFrame, sentiment: str, k: int) -> list[str]:
    chosen = group[group["sentiment"] == sentiment].sort_values("confidence", ascending=False)
    return list(dict.fromkeys(chosen["clause"].tolist()))[:k]


def summary_sentence(summary: pd.DataFrame, terms: dict[str, list[str]] | None = None, top: int = 2) -> str:
    """E.g. "Customers praise quality (fabric; 34 of 40 positive) and complain about size/fit (12 of 20 negative)."""
    if summary.empty:
        return "No aspects mentioned yet."
    praised = summary[summary["net"] > 0.2].sort_values(["positive", "net"], ascending=False).head(top)
    faulted = summary[summary["net"] < -0.2].sort_values(["negative", "net"], ascending=[False, True]).head(top)

    def named(row: pd.Series, side: str) -> str:
        word = (terms or {}).get(row["aspect"], [])
        hint = f"{word[0]}; " if word else ""
        return f"{row['label']} ({hint}{row[side]} of {row['mentions']} {side})"

    parts = []
    if len(praised):
        parts.append("praise " + " and ".join(named(r, "positive") for _, r in praised.iterrows()))
    if len(faulted):
        parts.append("complain about " + " and ".join(named(r, "negative") for _, r in faulted.iterrows()))
    return ("Customers " + ", and ".join(parts) + ".") if parts else "Customers are mixed on every aspect."


def _explode(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    review_of: list[int] = []
    clauses: list[str] = []
    for i, text in enumerate(texts):
        for clause in clauses_of(text):
            review_of.append(i)
            clauses.append(clause)
    return np.asarray(review_of, dtype=np.int64), clauses


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
