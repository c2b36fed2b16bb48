"""Query understanding: a shopper's words → the text to search, filters, a category, and every rewrite.

```python
from shoplens.search.query import QueryParser

parser = QueryParser().fit(ws)                       # or fit(products_frame, events=events_frame)
parsed = parser.parse("samsnug galaxy s10 case under $30")
parsed.filters    # {'brand': 'Samsung', 'category': 'Electronics > Phone Cases', 'price_max': 30.0}
parsed.query      # 'samsung galaxy s10 case'   (price phrase out, spelling fixed)
parsed.explain()  # ['price: "under $30" → price ≤ 30', 'spelling: "samsnug" → "samsung"', …]
```

What :meth:`QueryParser.fit` learns from the catalog (the shop's own words) and what it takes from
``query_vocab.json`` (words of the language, the same for every shop):

- **Brands, categories, attribute values** (``attributes`` JSON: colour, size, material …) come from the
  products table. A mention in the query becomes a filter: longest mention first, brand before category before
  attribute, English matched on word boundaries with plural endings ignored, Chinese matched inside the text.
- **Colour words** (English and Chinese) and **price phrases** ("under 50", "between 20 and 40 dollars",
  "50元以下", "100-200元", "3000左右", "$", "¥") come from the vocabulary file; a colour becomes the filter of
  the catalog's colour attribute (its own value when the catalog has one in the same colour group).
- **Spelling**: an English word the catalog never uses is replaced by the catalog word closest in edit distance
  (transpositions count one), allowed 0 edits up to 3 letters, 1 up to 7, 2 beyond (capped by ``max_edits``);
  ties go to the more frequent word. Chinese is not spell-corrected (a wrong character is a different word).
- **Category prediction**: naive Bayes over the words of each category's titles (and descriptions, weighted),
  with a uniform prior; a category is predicted when a query word remains after brands, attributes, prices and
  stop words are taken out and the posterior reaches ``min_confidence``. A named category wins outright.
- **Synonyms**: universal groups from the vocabulary file ("phone" = "cellphone" = "smartphone", "手机壳" =
  "保护壳"), and, with ``events`` that hold search queries, words mined from behaviour: a query word whose
  clicks (views, carts, purchases after the search, in the same session) go to one category or brand at least
  ``min_share`` of ``min_support`` times. Mined words vote in the category prediction; a mined word the catalog
  never uses becomes an alias of its brand.

Every change to the query is a :class:`Rewrite` in ``ParsedQuery.rewrites``, shown by ``explain()``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Self

import pandas as pd

from shoplens._files import replace_folder
from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.search.words import (
    CJK_RUN,
    LATIN,
    deletions,
    edit_distance,
    english_words,
    has_cjk,
    jieba_spans,
    jieba_words,
    normalize,
    stem,
    tokens,
)

VOCAB_FILE = Path(__file__).with_name("query_vocab.json")
MODEL_FILE = "query_parser.json"
MAX_QUERY_CHARS = 500  # longer input is cut (and the cut is a rewrite): queries, not documents
MAX_WORD_CHARS = 20  # longer "words" are not spell-corrected (no product word is that long; deletions explode)
COLOUR_KEYS = ("colour", "color", "颜色")
INDEX_FILTER_KEYS = ("brand", "category", "price_min", "price_max")  # what shoplens.search.index filters on
CLICK_TYPES = ("view", "add_to_cart", "wishlist", "checkout", "purchase")
# Attribute values are filters only when short and shared: long free text or one-off values are not facets.
MAX_VALUE_CHARS, MAX_VALUES_PER_KEY = 30, 200


@cache
def language_vocab() -> dict[str, Any]:
    """The committed vocabulary of the languages (colours, price phrases, stop words, synonym groups)."""
    return json.loads(VOCAB_FILE.read_text(encoding="utf-8"))


# -- the result -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rewrite:
    """One change the parser made: ``kind`` (price, spelling, brand, category, attribute, synonym, behaviour,
    truncate), the ``source`` text, what it became (``target``) and a short note."""

    kind: str
    source: str
    target: str
    note: str = ""

    def __str__(self) -> str:
        text = f'{self.kind}: "{self.source}" → {self.target}'
        return f"{text} ({self.note})" if self.note else text


@dataclass
class ParsedQuery:
    """What a query asks for. ``query`` is the text to search (price phrases and stop words out, spelling fixed);
    ``filters`` is flat (``brand``, ``category``, ``price_min``, ``price_max`` and attribute keys such as
    ``colour``); ``category`` is the predicted category (a named one, or naive Bayes above the threshold)."""

    text: str
    query: str
    terms: list[str]
    filters: dict[str, Any]
    category: str | None
    category_confidence: float
    language: str
    category_scores: dict[str, float] = field(default_factory=dict)  # the top votes, for ranking boosts
    corrections: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    rewrites: list[Rewrite] = field(default_factory=list)

    def split_filters(self, given: Mapping[str, Any] | None = None,
                      index_keys: Iterable[str] = INDEX_FILTER_KEYS) -> tuple[dict[str, Any], dict[str, Any]]:
        """(filters for the index, the rest as boosts): the parsed filters whose keys the index applies, with the
        caller's ``given`` filters winning over parsed ones; the parsed attribute filters (``colour``, ``size`` …)
        that the index holds only as text, for a ranking boost. The hook ``Search.query`` uses."""
        keys = set(index_keys)
        given = dict(given or {})
        hard = {k: v for k, v in self.filters.items() if k in keys and k not in given}
        soft = {k: v for k, v in self.filters.items() if k not in keys and k not in given}
        return {**hard, **given}, soft

    def explain(self) -> list[str]:
        """Every rewrite, one line each, in the order they were made."""
        return [str(r) for r in self.rewrites]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["explain"] = self.explain()
        return out


# -- the parser -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    """A phrase of the gazetteer: what it names (``kind``: brand, category, attribute) and the filter it sets."""

    kind: str
    key: str
    value: str


@dataclass(eq=False, repr=False)
class QueryParser(Estimator):
    """Parses shoppers' queries against one catalog (see the module docstring for each step)."""

    registry_name: ClassVar[str] = "search-query"
    capability: ClassVar[str] = "search"
    kind_order: ClassVar[dict[str, int]] = {"brand": 0, "category": 1, "attribute": 2}

    max_edits: int = 2
    min_confidence: float = 0.6
    description_weight: float = 0.2
    _: KW_ONLY
    mine_behaviour: bool = True
    min_support: int = 3
    min_share: float = 0.6
    behaviour_weight: float = 1.0

    # -- fit ----------------------------------------------------------------------------------------------------
    def fit(self, data: Any, events: pd.DataFrame | None = None) -> Self:
        """Learn the catalog's words from ``data`` (a Workspace, or a products frame with ``title`` and any of
        ``brand``, ``category``, ``description``, ``attributes``); ``events`` (default: the workspace's, when
        ``mine_behaviour``) adds synonyms mined from searches and the clicks after them."""
        products = _products_of(data)
        if events is None and self.mine_behaviour and hasattr(data, "table_names") and "events" in data.table_names():
            events = data.table("events")
        self.categories_: list[str] = sorted({c for c in products["category"] if c})
        self.entries_: dict[str, list[_Entry]] = defaultdict(list)
        self._learn_entries(products)
        self.word_counts_: dict[str, int] = dict(self._word_counts(products))
        counts = self._category_counts(products)
        self.behaviour_: dict[str, dict[str, Any]] = {}
        self.aliases_: list[str] = []  # gazetteer forms learned from behaviour (brand aliases)
        if events is not None and self.mine_behaviour:
            self._mine(products, events, counts)
        self._set_category_model(counts)
        self._index()
        return self

    def _learn_entries(self, products: pd.DataFrame) -> None:
        for brand in products["brand"].dropna().unique():
            self._add_entry(str(brand), _Entry("brand", "brand", str(brand)))
        for path in self.categories_:
            self._add_entry(path.split(">")[-1].strip(), _Entry("category", "category", path))
        heads = Counter(_form(p.split(">")[-1]).split(" ")[-1] for p in self.categories_)
        for path in self.categories_:  # "case" names "Phone Cases" when no other leaf ends with it
            head = _form(path.split(">")[-1]).split(" ")[-1]
            if heads[head] == 1 and not has_cjk(head) and head not in self.entries_:
                self._add_entry(head, _Entry("category", "category", path))
        for group in language_vocab()["synonyms"]:  # "cellphone" names the category whose leaf is "phones"
            named = [e for w in group for e in self.entries_.get(_form(w), ()) if e.kind == "category"]
            for word in group if named else ():
                if _form(word) not in self.entries_:
                    self._add_entry(word, named[0])
        for key, values in _attribute_values(products).items():
            for value in values:
                self._add_entry(value, _Entry("attribute", key, value))
        colour_key = next((k for k in COLOUR_KEYS if any(e.key == k for es in self.entries_.values() for e in es)),
                          "colour")
        catalog_colours = {_form(e.value): e.value for es in self.entries_.values() for e in es if e.key == colour_key}
        for name, words in language_vocab()["colours"].items():
            values = [catalog_colours[_form(w)] for w in words if _form(w) in catalog_colours] or [name]
            for word in words:  # the catalog's value in the word's own script ("红" → "红色", "red" → "red")
                value = next((v for v in values if has_cjk(v) == has_cjk(word)), values[0])
                self._add_entry(word, _Entry("attribute", colour_key, value))

    def _add_entry(self, phrase: str, entry: _Entry) -> None:
        form = _form(phrase)
        if form and entry not in self.entries_[form]:
            self.entries_[form].append(entry)

    def _word_counts(self, products: pd.DataFrame) -> Counter[str]:
        counts: Counter[str] = Counter()
        for column in ("title", "brand", "category", "description"):
            for text in products[column].dropna():
                counts.update(LATIN.findall(normalize(str(text))))
        for form in self.entries_:
            counts.update(LATIN.findall(form))
        return counts

    def _category_counts(self, products: pd.DataFrame) -> dict[str, Counter[str]]:
        """Word counts per category: titles and the category's own words at weight 1, descriptions lighter."""
        stop = language_vocab()["stopwords"]
        counts: dict[str, Counter[str]] = {c: Counter() for c in self.categories_}
        for row in products.itertuples(index=False):
            if not row.category:
                continue
            bag = counts[row.category]
            for word in tokens(normalize(f"{row.title or ''} {row.category}"), stopwords=stop):
                bag[word] += 1.0
            if row.description and self.description_weight > 0:
                for word in tokens(normalize(str(row.description)), stopwords=stop):
                    bag[word] += self.description_weight
        return counts

    def _mine(self, products: pd.DataFrame, events: pd.DataFrame, counts: dict[str, Counter[str]]) -> None:
        """Query words → the categories and brands of the products clicked after them (same session)."""
        pairs = _query_clicks(events)
        if pairs.empty:
            return
        info = products.set_index("product_id")[["category", "brand"]]
        pairs = pairs.join(info, on="product_id", how="inner")
        stop = language_vocab()["stopwords"]
        per_word: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: {"category": Counter(), "brand": Counter()})
        for query, category, brand in pairs[["query", "category", "brand"]].itertuples(index=False):
            for word in set(tokens(normalize(str(query)), stopwords=stop)):
                if category:
                    per_word[word]["category"][category] += 1
                if brand:
                    per_word[word]["brand"][brand] += 1
        for word, by in per_word.items():
            self._learn_word(word, by, counts)

    def _learn_word(self, word: str, by: dict[str, Counter[str]], counts: dict[str, Counter[str]]) -> None:
        """A word whose clicks go mostly to one category votes for it; a word that names no category but whose
        clicks go mostly to one brand, and that the catalog never uses, becomes an alias of that brand."""
        mined = {kind: self._dominant(by[kind]) for kind in ("category", "brand")}
        if mined["category"]:
            self.behaviour_[word] = {"category": mined["category"]}
            counts[mined["category"]["value"]][word] += self.behaviour_weight * mined["category"]["clicks"]
        elif mined["brand"] and word not in self.word_counts_ and _form(word) not in self.entries_:
            self.behaviour_[word] = {"brand": mined["brand"]}
            self._add_entry(word, _Entry("brand", "brand", mined["brand"]["value"]))
            self.aliases_.append(_form(word))

    def _dominant(self, counts: Counter[str]) -> dict[str, Any] | None:
        total = sum(counts.values())
        if total < self.min_support:
            return None
        value, n = counts.most_common(1)[0]
        if n / total < self.min_share:
            return None
        return {"value": value, "share": round(n / total, 3), "support": total, "clicks": n}

    def _set_category_model(self, counts: dict[str, Counter[str]]) -> None:
        """Each word's category distribution: its count in a category over the category's size (so large
        categories do not win by size), normalised over categories; kept sparse (word → {category: share})."""
        sizes = {c: sum(bag.values()) or 1.0 for c, bag in counts.items()}
        per_word: dict[str, dict[int, float]] = defaultdict(dict)
        for j, c in enumerate(self.categories_):
            for word, n in counts[c].items():
                per_word[word][j] = n / sizes[c]
        self.category_words_ = {w: {j: round(v / sum(row.values()), 6) for j, v in row.items()}
                                for w, row in per_word.items()}

    def _index(self) -> None:
        """Derived look-ups (not saved): the gazetteer regex, known words, the spelling index."""
        forms = sorted(self.entries_, key=lambda f: (-len(f), f))
        self._gazetteer = re.compile("|".join(_pattern(f) for f in forms)) if forms else None
        vocab = language_vocab()
        price_words = {w for group in vocab["price"].values() if isinstance(group, list) for w in _flat(group)}
        self._known = set(self.word_counts_) | set(vocab["stopwords"]) | {
            w for phrase in price_words | set(_flat(vocab["synonyms"])) for w in LATIN.findall(phrase)}
        self._known |= {stem(w) for w in self._known}
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for word in self.word_counts_:
            if word.isalpha() and len(word) >= 4:
                for variant in deletions(word, min(self.max_edits, _allowed_edits(word))):
                    self._deletes[variant].append(word)
        self._synonyms = {_form(w): [x for x in group if x != w] for group in vocab["synonyms"] for w in group}

    # -- parse --------------------------------------------------------------------------------------------------
    def parse(self, text: str) -> ParsedQuery:
        """The query understood: cleaned text, filters, category, corrections, synonyms and every rewrite."""
        self._check_fitted()
        if not isinstance(text, str):
            raise InputError(f"a query must be text, got {type(text).__name__}")
        rewrites: list[Rewrite] = []
        clean = normalize(text)
        if len(clean) > MAX_QUERY_CHARS:
            rewrites.append(Rewrite("truncate", clean[:20] + "…", f"first {MAX_QUERY_CHARS} characters"))
            clean = clean[:MAX_QUERY_CHARS]
        filters: dict[str, Any] = {}
        clean = extract_price(clean, filters, rewrites)
        clean, corrections = self._correct(clean, rewrites)
        rest = self._mentions(clean, filters, rewrites)
        stop = language_vocab()["stopwords"]
        terms = tokens(clean, stopwords=_query_stopwords())
        voters = [w for w in tokens(rest, stopwords=stop) if w in self.category_words_]
        scores = self._category_scores(filters, voters)
        category, confidence = self._category(filters, scores, voters, rewrites)
        synonyms = self._synonyms_of(clean, terms, rewrites)
        query = " ".join(tokens_of_text(clean))
        return ParsedQuery(text=text, query=query, terms=terms, filters=filters, category=category,
                           category_confidence=round(confidence, 4), category_scores=scores,
                           language="zh" if has_cjk(clean) else "en",
                           corrections=corrections, synonyms=synonyms, rewrites=rewrites)

    def _correct(self, text: str, rewrites: list[Rewrite]) -> tuple[str, dict[str, str]]:
        corrections: dict[str, str] = {}

        def fix(match: re.Match[str]) -> str:
            word = match.group()
            better = self._closest(word)
            if better is None:
                return word
            corrections[word] = better
            rewrites.append(Rewrite("spelling", word, f'"{better}"', "closest catalog word"))
            return better

        return LATIN.sub(fix, text), corrections

    def _closest(self, word: str) -> str | None:
        if (len(word) > MAX_WORD_CHARS or word in self._known or stem(word) in self._known or not word.isalpha()
                or word in english_words()):
            return None
        limit = min(self.max_edits, _allowed_edits(word))
        if limit == 0:
            return None
        candidates = {c for variant in deletions(word, limit) for c in self._deletes.get(variant, ())}
        scored = [(edit_distance(word, c, limit), -self.word_counts_.get(c, 0), c) for c in candidates]
        scored = [s for s in scored if s[0] <= min(limit, _allowed_edits(s[2]))]
        return min(scored)[2] if scored else None

    def _mentions(self, text: str, filters: dict[str, Any], rewrites: list[Rewrite]) -> str:
        """Brands, categories and attribute values named in the text → filters; the text without them."""
        rest = text
        if self._gazetteer is None:
            return rest
        for match in self._gazetteer.finditer(text):
            phrase = match.group()
            if len(phrase) == 1 and has_cjk(phrase) and (match.start(), match.end()) not in jieba_spans(text):
                continue  # "蓝" in "蓝牙" (Bluetooth) is no colour
            entries = sorted(self.entries_.get(_form(phrase), ()), key=lambda e: self.kind_order[e.kind])
            entry = next((e for e in entries if e.key not in filters), None)
            if entry is None:
                continue
            filters[entry.key] = entry.value
            rest = rest[:match.start()] + " " * len(phrase) + rest[match.end():]
            note = "alias mined from behaviour" if _form(phrase) in self.aliases_ else ""
            rewrites.append(Rewrite(entry.kind, phrase, f"{entry.key} = {entry.value}", note))
        return rest

    def _category_scores(self, filters: dict[str, Any], words: list[str], top: int = 5) -> dict[str, float]:
        """A named category gets 1; otherwise the words' votes: the mean of the category distributions of the words
        left once brands, attributes, prices and stop words are out (words the catalog never uses do not vote)."""
        if "category" in filters:
            return {filters["category"]: 1.0}
        votes: Counter[int] = Counter()
        for word in words:
            for j, share in self.category_words_[word].items():
                votes[j] += share / len(words)
        return {self.categories_[j]: round(v, 4) for j, v in votes.most_common(top)}

    def _category(self, filters: dict[str, Any], scores: dict[str, float], words: list[str],
                  rewrites: list[Rewrite]) -> tuple[str | None, float]:
        """The named category, else the top vote when it reaches ``min_confidence``; mined words are shown."""
        if "category" in filters:
            return filters["category"], 1.0
        if not scores:
            return None, 0.0
        category, confidence = next(iter(scores.items()))
        for word in words:
            mined = self.behaviour_.get(word, {}).get("category")
            if mined and mined["value"] == category:
                rewrites.append(Rewrite("behaviour", word, f"category {category}",
                                        f"{mined['share']:.0%} of {mined['support']} clicks"))
        if confidence < self.min_confidence:
            return None, confidence
        rewrites.append(Rewrite("category", " ".join(words), f"predicted {category}", f"votes {confidence:.2f}"))
        return category, confidence

    def _synonyms_of(self, text: str, terms: list[str], rewrites: list[Rewrite]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for form, others in self._synonyms.items():
            if form in out or not _contains(text, form):
                continue
            out[form] = others
            rewrites.append(Rewrite("synonym", form, " | ".join(others), "also searched"))
        return out

    # -- persistence --------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "entries_"):
            raise NotFound(f"{type(self).__name__} is not fitted; call fit(workspace or products) first")

    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        state = {"params": self.get_params(), "categories": self.categories_, "word_counts": self.word_counts_,
                 "entries": {f: [asdict(e) for e in es] for f, es in self.entries_.items()},
                 "behaviour": self.behaviour_, "aliases": self.aliases_,
                 "category_words": {w: {str(j): v for j, v in row.items()} for w, row in self.category_words_.items()}}
        text = json.dumps(state, ensure_ascii=False)
        return replace_folder(Path(path), lambda staging: (staging / MODEL_FILE).write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        file = Path(path) / MODEL_FILE
        if not file.is_file():
            raise NotFound(f"no query parser at {path} (missing {MODEL_FILE})")
        state = json.loads(file.read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["params"])
        model.categories_, model.word_counts_ = state["categories"], state["word_counts"]
        model.entries_ = defaultdict(list, {f: [_Entry(**e) for e in es] for f, es in state["entries"].items()})
        model.behaviour_, model.aliases_ = state["behaviour"], state["aliases"]
        model.category_words_ = {w: {int(j): v for j, v in row.items()} for w, row in state["category_words"].items()}
        model._index()
        return model

    def evaluate(self, data: Any, *, dataset: str = "query_cases", **protocol: Any) -> list[Any]:
        """Exact-parse accuracy on labelled cases (dicts with ``query``, ``filters``, ``category``; see
        :func:`parse_accuracy`), beside the trivial baseline that understands nothing (no filters, no category)."""
        from shoplens.evaluation.records import BenchmarkRecord, Protocol

        cases = list(data)
        nothing = ParsedQuery(text="", query="", terms=[], filters={}, category=None, category_confidence=0.0,
                              language="en")
        scores = {"query-parser": parse_accuracy(self, cases),
                  "no-understanding": sum(parsed_exactly(nothing, c) for c in cases) / max(len(cases), 1)}
        proto = Protocol(split=protocol.pop("split", "none"), notes=protocol.pop("notes", ""))
        return [BenchmarkRecord.create(benchmark="search", dataset=dataset, model=name, protocol=proto,
                                       role="ours" if name == "query-parser" else "baseline",
                                       metrics={"parse_accuracy": round(score, 4), "n_cases": len(cases)},
                                       variant=protocol.get("variant", "default"))
                for name, score in scores.items()]


def parse_accuracy(parser: QueryParser, cases: Iterable[Mapping[str, Any]]) -> float:
    """The share of cases parsed exactly: the filters equal the expected ones (prices to the cent) and the
    predicted category equals the expected one (``None`` when none is expected)."""
    cases = list(cases)
    if not cases:
        raise InputError("no cases to evaluate")
    return sum(parsed_exactly(parser.parse(c["query"]), c) for c in cases) / len(cases)


def parsed_exactly(parsed: ParsedQuery, case: Mapping[str, Any]) -> bool:
    return _rounded(parsed.filters) == _rounded(case.get("filters") or {}) and parsed.category == case.get("category")


def _rounded(filters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: round(float(v), 2) if k in ("price_min", "price_max") else v for k, v in filters.items()}


# -- prices -----------------------------------------------------------------------------------------------------

def _alternation(words: Iterable[str]) -> str:
    parts = sorted({w for w in words if w}, key=len, reverse=True)
    return "|".join(re.escape(w) + (r"(?![a-z])" if w[-1].isalpha() and w.isascii() else "") for w in parts)


@cache
def _price_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """(kind, pattern) in the order they are tried: ranges, bounds after and before the amount, around."""
    p = language_vocab()["price"]
    before, after = _alternation(p["currency_before"]), _alternation(p["currency_after"])
    # four groups per amount: currency before, digits, scale (k, 千, 万), currency after
    amount = (rf"(?:({before})\s*)?(?<![a-z0-9.])(\d+(?:,\d{{3}})*(?:\.\d+)?)\s*(k(?![a-z])|千|万)?"
              rf"(?:\s*({after}))?(?![a-z0-9])")
    between = "|".join((re.escape(a) + r"(?![a-z])\s*" if a else "") + amount + r"\s*" + re.escape(b) + r"\s*" + amount
                       for a, b in p["between"])
    return [
        ("between", re.compile(between)),
        ("max", re.compile(rf"{amount}\s*(?:{_alternation(p['max_after'])})")),
        ("min", re.compile(rf"{amount}\s*(?:{_alternation(p['min_after'])})")),
        ("around", re.compile(rf"{amount}\s*(?:{_alternation(p['around_after'])})")),
        ("max", re.compile(rf"(?<![a-z])(?:{_alternation(p['max_before'])})\s*{amount}")),
        ("min", re.compile(rf"(?<![a-z])(?:{_alternation(p['min_before'])})\s*{amount}")),
        ("around", re.compile(rf"(?<![a-z])(?:{_alternation(p['around_before'])})\s*{amount}")),
        ("amount", re.compile(amount)),
    ]


UNIT_AFTER = re.compile(r"\s*(?:inch(?:es)?|in\b|cm|mm|m\b|lbs?\b|kg|g\b|oz|ft\b|feet|foot|gb|tb|mb|mah|w\b|watts?|"
                        r"v\b|volts?|hz|ml|l\b|mph|years?|months?|days?|hours?|mins?|minutes?|pcs|pieces|pack|%|"
                        r"英寸|寸|厘米|毫米|米|公斤|千克|斤|克|毫升|升|岁|天|小时|年|个|件)")


def _number(digits: str | None, scale: str | None) -> float | None:
    if digits is None:
        return None
    value = float(digits.replace(",", ""))
    return value * {"k": 1_000, "千": 1_000, "万": 10_000}.get(scale or "", 1)


def extract_price(text: str, filters: dict[str, Any], rewrites: list[Rewrite]) -> str:
    """Price phrases out of ``text`` into ``price_min``/``price_max`` (one phrase; the first kind that matches).

    A range needs a currency sign or word on one of its ends ("100-200元", "$20-40") or words that say
    "between … and …", so that "usb 3-5" stays text; a lone amount is a price only with its currency
    ("$50", "50元"), read as around it."""
    width = float(language_vocab()["price"]["around_width"])
    for kind, pattern in _price_patterns():
        for match in pattern.finditer(text):
            groups = match.groups()
            numbers = [_number(groups[i + 1], groups[i + 2]) for i in range(0, len(groups), 4)]
            currency = any(groups[i] or groups[i + 3] for i in range(0, len(groups), 4))
            values = [n for n in numbers if n is not None]
            if not currency and UNIT_AFTER.match(text, match.end()):
                continue  # "under 30 inches", "less than 5 kg", "3岁以下": a measure, not a price
            if kind == "between":
                if not currency and not re.match(r"(between|from)\b", match.group()):
                    continue
                low, high = sorted(values[:2])
                bounds = {"price_min": low, "price_max": high}
            elif kind == "amount":
                if not currency:
                    continue
                bounds = {"price_min": values[0] * (1 - width), "price_max": values[0] * (1 + width)}
            elif kind == "around":
                bounds = {"price_min": values[0] * (1 - width), "price_max": values[0] * (1 + width)}
            else:
                bounds = {f"price_{kind}": values[0]}
            bounds = {k: round(v, 2) for k, v in bounds.items()}
            filters.update(bounds)
            target = " and ".join(f"price {'≥' if k == 'price_min' else '≤'} {v:g}" for k, v in bounds.items())
            rewrites.append(Rewrite("price", match.group().strip(), target))
            return normalize(text[:match.start()] + " " + text[match.end():])
    return text


# -- helpers ----------------------------------------------------------------------------------------------------

def _products_of(data: Any) -> pd.DataFrame:
    """The products frame (from a Workspace or as given) with the columns the parser reads, text or None."""
    if hasattr(data, "table") and hasattr(data, "table_names"):
        if "products" not in data.table_names():
            raise NotFound("the workspace has no products table; ingest products first")
        data = data.table("products")
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"QueryParser.fit takes a Workspace or a products DataFrame, got {type(data).__name__}")
    if "title" not in data.columns and "category" not in data.columns:
        raise InputError("the products frame needs a title or a category column", column="title")
    frame = data.copy()
    for column in ("product_id", "title", "brand", "category", "description", "attributes"):
        if column not in frame.columns:
            frame[column] = None
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in ("title", "brand", "category", "description"):
        frame[column] = frame[column].map(lambda v: str(v).strip() or None if v is not None else None)
    if frame["product_id"].isna().all():
        frame["product_id"] = [str(i) for i in range(len(frame))]
    frame["product_id"] = frame["product_id"].astype(str)
    return frame


def _attribute_values(products: pd.DataFrame) -> dict[str, set[str]]:
    """Short string values per attribute key (lists flattened), keys with at most MAX_VALUES_PER_KEY values."""
    values: dict[str, set[str]] = defaultdict(set)
    for raw in products["attributes"].dropna():
        attrs = raw if isinstance(raw, Mapping) else _json_object(raw)
        for key, value in attrs.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and 0 < len(item.strip()) <= MAX_VALUE_CHARS:
                    values[str(key).lower()].add(item.strip())
    return {k: v for k, v in values.items() if len(v) <= MAX_VALUES_PER_KEY}


def _json_object(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _query_clicks(events: pd.DataFrame) -> pd.DataFrame:
    """(query, product_id) for every click after a search in the same session, before the next search."""
    needed = {"session_id", "event_type", "query", "product_id"}
    if not needed <= set(events.columns):
        return pd.DataFrame(columns=["query", "product_id"])
    order = [c for c in ("session_id", "event_ts", "event_id") if c in events.columns]
    frame = events[events["event_type"].isin(("search", *CLICK_TYPES))].sort_values(order, kind="stable")
    frame = frame.assign(query=frame["query"].where(frame["event_type"] == "search"))
    frame["query"] = frame.groupby("session_id", sort=False)["query"].ffill()
    clicks = frame[(frame["event_type"] != "search") & frame["query"].notna() & frame["product_id"].notna()]
    return clicks[["query", "product_id"]].astype(str)


def _form(phrase: str) -> str:
    """The gazetteer key of a phrase: normalised, English words stemmed, joined by one space."""
    text = normalize(phrase)
    if has_cjk(text):
        return text
    return " ".join(stem(w) for w in re.split(r"[\s\-]+", text) if w)


def _pattern(form: str) -> str:
    """A regex that finds ``form`` in normalised text: English words on word boundaries with their plural
    endings and '-' or ' ' between them; Chinese (or mixed) as written."""
    if has_cjk(form) or not LATIN.fullmatch(form.replace(" ", "-")):
        edge = r"(?<![a-z0-9])" if form[0].isascii() and form[0].isalnum() else ""
        return edge + re.escape(form)
    words = []
    for word in form.split(" "):
        if word.endswith("y") and len(word) > 3:
            words.append(re.escape(word[:-1]) + "(?:y|ies)")
        else:
            words.append(re.escape(word) + "(?:es|s)?")
    return r"(?<![a-z0-9])" + r"[\s\-]?".join(words) + r"(?![a-z0-9])"


def _contains(text: str, form: str) -> bool:
    if has_cjk(form):
        return form in text
    return re.search(_pattern(form), text) is not None


def _allowed_edits(word: str) -> int:
    return 0 if len(word) <= 3 else 1 if len(word) <= 7 else 2


def _flat(items: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


@cache
def _query_stopwords() -> frozenset[str]:
    """Stop words dropped from the text to search: the vocabulary's, less the ones that mean something to BM25."""
    vocab = language_vocab()
    return frozenset(vocab["stopwords"]) - set(vocab["query_words"])


def tokens_of_text(text: str) -> list[str]:
    """The words of a cleaned query as the shopper wrote them (no stemming), stop words out: the text to search."""
    stop = _query_stopwords()
    out = []
    for match in re.finditer(rf"{LATIN.pattern}|{CJK_RUN.pattern}", text):
        piece = match.group()
        if has_cjk(piece):
            out.extend(w for w in jieba_words(piece) if w not in stop)
        elif piece not in stop:
            out.append(piece)
    return out
