"""Search sessions with known relevance and known position bias (docs/simulator.md, "Search sessions").

A session: a shopper wants a product (drawn by popularity among launched products) and types a query
made from its latent attributes — a noun of its leaf category (its own or a synonym from the same leaf),
zero to two of its colour, brand, material or a feature, sometimes "cheap"/"best", sometimes a typo.
The shop's *current ranker* (a callable; by default BM25 over the product text) orders the catalog and
shows a page of ``page`` results; in a small share of sessions the page is shuffled uniformly (the
shop's result randomisation, logged). The shopper examines position *k* with probability
``(1 / k) ** eta`` (the position-based model: examination depends on the rank only), clicks an examined
result with a probability that grows with its true relevance, and adds a clicked result to the cart with
a probability that grows with relevance too. Relevance grades (0–3), kept as truth for every product and
every query:

- 0: another leaf category than the query's noun;
- 1: the right kind of product, but it misses an attribute the query asks for;
- 2: the right kind and every asked attribute;
- 3: as 2 and a good one: above its leaf's median quality ("best": top third; "cheap": below its leaf's
  median price).

Events follow the canonical schema: one ``search`` event (``query``; properties ``results``, the shown
product ids best first, and ``shuffled``), a ``view`` per click (properties ``source: "search"`` and
``position``, 1-based) and an ``add_to_cart`` per purchase decision (same properties). No order is created
(the orders come from the demand model, and the purchase events stay exactly the orders).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from shoplens.data.synth.catalog import Catalog
from shoplens.data.synth.customers import Population
from shoplens.data.synth.ids import arrow_ids
from shoplens.data.synth.orders import HOUR_WEIGHTS
from shoplens.data.synth.vocab import LEAVES

Ranker = Callable[[str, int], Sequence[str]]
"""``ranker(query, k)`` → up to ``k`` product ids, best first: the shop's search as the shopper sees it."""

CONSTRAINTS = ("colour", "brand", "material", "feature")
GAP_SECONDS = 30.0
TOKEN = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class SearchBehaviour:
    """How shoppers search and react to results (the known truth of the click model)."""

    sessions_per_day: float = 0.0
    days: int | None = None  # the last ``days`` days of the period have search sessions (None: all)
    page: int = 10
    shuffle_share: float = 0.05  # sessions whose page is shuffled uniformly (result randomisation)
    eta: float = 1.0  # examination probability at position k: (1 / k) ** eta
    attractiveness: tuple[float, float, float, float] = (0.03, 0.15, 0.45, 0.8)  # P(click | examined, grade)
    buy: tuple[float, float, float, float] = (0.0, 0.03, 0.12, 0.3)  # P(add to cart | click, grade)
    synonym_share: float = 0.35  # queries that name the leaf with another of its nouns
    typo_share: float = 0.12
    anonymous_share: float = 0.3

    def examination(self) -> np.ndarray:
        """P(examined) at positions 1..page."""
        return (1.0 / np.arange(1, self.page + 1)) ** self.eta


@dataclass
class SearchLog:
    """The search sessions' events and their truth."""

    events: pd.DataFrame  # canonical events columns
    queries: pd.DataFrame  # one row per distinct typed query: its intent
    relevance: pd.DataFrame  # (query, product_id, relevance) for relevance ≥ 1; absent pairs are 0
    examination: pd.DataFrame  # (position, probability)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class BM25Ranker:
    """The default current ranker: Okapi BM25 over title, brand, category, description and attributes."""

    def __init__(self, products: pd.DataFrame, k1: float = 1.2, b: float = 0.75) -> None:
        texts = [" ".join(str(v) for v in row if isinstance(v, str))
                 for row in products[["title", "brand", "category", "description", "attributes"]].itertuples(
                     index=False)]
        docs = [tokens(t) for t in texts]
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for i, doc in enumerate(docs):
            for tok in doc:
                rows.append(i)
                cols.append(vocab.setdefault(tok, len(vocab)))
        tf = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(vocab)))
        tf.sum_duplicates()
        length = np.asarray(tf.sum(axis=1)).ravel()
        df = np.bincount(tf.indices, minlength=len(vocab))
        idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * length / max(length.mean(), 1e-9))
        tf = tf.tocoo()
        weight = idf[tf.col] * tf.data * (k1 + 1) / (tf.data + norm[tf.row])
        self.weights = sp.csc_matrix((weight, (tf.row, tf.col)), shape=tf.shape)
        self.vocab = vocab
        self.ids = products["product_id"].to_numpy()

    def scores(self, query: str) -> np.ndarray:
        cols = [self.vocab[t] for t in tokens(query) if t in self.vocab]
        if not cols:
            return np.zeros(len(self.ids))
        return np.asarray(self.weights[:, cols].sum(axis=1)).ravel()

    def __call__(self, query: str, k: int) -> list[str]:
        s = self.scores(query)
        order = np.lexsort((np.arange(len(s)), -s))[:k]
        return list(self.ids[order[s[order] > 0]])


@dataclass
class _Intent:
    leaf: int
    noun: str
    constraints: dict[str, str]
    modifier: str  # "", "cheap" or "best"
    product: int


def _typo(rng: np.random.Generator, word: str) -> str:
    k = int(rng.integers(1, len(word) - 1))
    if rng.random() < 0.5:
        return word[:k] + word[k + 1:]  # a dropped letter
    return word[:k - 1] + word[k] + word[k - 1] + word[k + 1:]  # two letters swapped


def _query_text(rng: np.random.Generator, intent: _Intent, typo_share: float) -> str:
    words = [intent.constraints[c] for c in ("colour", "brand", "material") if c in intent.constraints]
    words.append(intent.noun)
    if "feature" in intent.constraints:
        words += ["with", intent.constraints["feature"]]
    if intent.modifier:
        words.insert(0, intent.modifier)
    text = " ".join(words).lower()
    if rng.random() < typo_share:
        parts = text.split(" ")
        long = [i for i, w in enumerate(parts) if len(w) >= 5]
        if long:
            i = long[int(rng.integers(len(long)))]
            parts[i] = _typo(rng, parts[i])
            text = " ".join(parts)
    return text


class _Attributes:
    """Per-product attribute values used to draw queries and grade relevance."""

    def __init__(self, catalog: Catalog) -> None:
        attrs = catalog.products["attributes"].map(json.loads)
        self.colour = attrs.map(lambda a: a["colour"]).to_numpy()
        self.material = attrs.map(lambda a: a["material"]).to_numpy()
        self.features = attrs.map(lambda a: a["features"]).to_list()
        self.brand = catalog.products["brand"].map(lambda b: b.split(" ")[0].lower()).to_numpy()
        self.price = catalog.list_price
        leaf = catalog.leaf
        quality = catalog.quality
        self.by_leaf = {k: np.flatnonzero(leaf == k) for k in np.unique(leaf)}
        self.good = np.zeros(len(leaf), dtype=bool)  # above the leaf's median quality
        self.best = np.zeros(len(leaf), dtype=bool)  # top third of the leaf by quality
        self.cheap = np.zeros(len(leaf), dtype=bool)  # below the leaf's median price
        for members in self.by_leaf.values():
            q, p = quality[members], self.price[members]
            self.good[members] = q > np.median(q)
            self.best[members] = q >= np.quantile(q, 2 / 3)
            self.cheap[members] = p < np.median(p)

    def value(self, product: int, constraint: str, rng: np.random.Generator) -> str:
        if constraint == "feature":
            return self.features[product][int(rng.integers(len(self.features[product])))]
        return str(getattr(self, constraint)[product])

    def grades(self, intent: _Intent) -> tuple[np.ndarray, np.ndarray]:
        """(products, grade ≥ 1) of the intent's leaf."""
        members = self.by_leaf[intent.leaf]
        ok = np.ones(len(members), dtype=bool)
        for name, value in intent.constraints.items():
            if name == "feature":
                ok &= np.array([value in self.features[p] for p in members])
            else:
                ok &= getattr(self, name)[members] == value
        good = {"cheap": self.cheap, "best": self.best}.get(intent.modifier, self.good)[members]
        return members, 1 + ok + (ok & good)


def _draw_intent(rng: np.random.Generator, catalog: Catalog, attrs: _Attributes, product: int,
                 behaviour: SearchBehaviour) -> _Intent:
    leaf = int(catalog.leaf[product])
    noun = catalog.nouns[product]
    others = [n for n in LEAVES[leaf].nouns if n != noun]
    if others and rng.random() < behaviour.synonym_share:
        noun = others[int(rng.integers(len(others)))]
    n_constraints = int(np.searchsorted([0.35, 0.8], rng.random(), side="right"))  # 0, 1, 2: 35 %, 45 %, 20 %
    chosen = rng.permutation(len(CONSTRAINTS))[:n_constraints]
    constraints = {CONSTRAINTS[c]: attrs.value(product, CONSTRAINTS[c], rng) for c in sorted(chosen)}
    modifier = ("", "cheap", "best")[int(np.searchsorted([0.75, 0.9], rng.random(), side="right"))]
    return _Intent(leaf, noun, constraints, modifier, product)


def build_search_sessions(rng: np.random.Generator, catalog: Catalog, pop: Population, behaviour: SearchBehaviour,
                          days: int, start: pd.Timestamp, ranker: Ranker | None = None) -> SearchLog:
    """Search sessions over the last ``behaviour.days`` days, logged as events, with their truth."""
    ranker = ranker if ranker is not None else BM25Ranker(catalog.products)
    attrs = _Attributes(catalog)
    first_day = days - min(behaviour.days or days, days)
    n = int(rng.poisson(behaviour.sessions_per_day * (days - first_day)))
    day = np.sort(rng.integers(first_day, days, n))
    index = {pid: i for i, pid in enumerate(catalog.products["product_id"])}
    theta = behaviour.examination()
    page = behaviour.page
    intents: dict[str, _Intent] = {}
    shown_cache: dict[str, list[int]] = {}
    rows: list[tuple] = []
    wanted = _wanted_products(rng, catalog, day)
    for s in range(n):
        intent = _draw_intent(rng, catalog, attrs, int(wanted[s]), behaviour)
        query = _query_text(rng, intent, behaviour.typo_share)
        intents.setdefault(query, intent)
        if query not in shown_cache:
            shown_cache[query] = [index[p] for p in ranker(query, page + 40) if p in index]
        shown = [p for p in shown_cache[query] if catalog.launch_day[p] <= day[s]][:page]
        shuffled = bool(rng.random() < behaviour.shuffle_share)
        if shuffled:
            shown = list(rng.permutation(shown))
        grade = _grade_of(attrs, intents[query], shown)
        examined = rng.random(len(shown)) < theta[:len(shown)]
        clicked = examined & (rng.random(len(shown)) < np.array(behaviour.attractiveness)[grade])
        bought = clicked & (rng.random(len(shown)) < np.array(behaviour.buy)[grade])
        rows.append((s, int(day[s]), query, shown, shuffled, np.flatnonzero(clicked), np.flatnonzero(bought)))
    events = _events(rng, rows, catalog, pop, behaviour, start)
    return SearchLog(events, _queries_table(intents, catalog), _relevance_table(intents, attrs, catalog),
                     pd.DataFrame({"position": np.arange(1, page + 1), "probability": theta}))


def _wanted_products(rng: np.random.Generator, catalog: Catalog, day: np.ndarray) -> np.ndarray:
    """The product each session's shopper has in mind: by popularity among products launched by that day."""
    out = np.empty(len(day), dtype=np.int64)
    for d in np.unique(day):
        at = np.flatnonzero(day == d)
        live = np.flatnonzero(catalog.launch_day <= d)
        weights = catalog.popularity[live]
        out[at] = rng.choice(live, size=len(at), p=weights / weights.sum())
    return out


def _grade_of(attrs: _Attributes, intent: _Intent, shown: list[int]) -> np.ndarray:
    members, grades = attrs.grades(intent)
    lookup = dict(zip(members.tolist(), grades.tolist(), strict=True))
    return np.array([lookup.get(p, 0) for p in shown], dtype=np.int64)


def _customers(rng: np.random.Generator, pop: Population, day: np.ndarray, anonymous_share: float) -> np.ndarray:
    """A customer present on each session's day (signed up before, not churned), or -1 (anonymous)."""
    out = np.full(len(day), -1)
    known = rng.random(len(day)) >= anonymous_share
    for d in np.unique(day):
        at = np.flatnonzero(known & (day == d))
        present = np.flatnonzero((pop.signup_day < d) & (pop.churn_day > d))
        if len(present) and len(at):
            out[at] = present[rng.integers(0, len(present), len(at))]
    return out


def _events(rng: np.random.Generator, rows: list[tuple], catalog: Catalog, pop: Population,
            behaviour: SearchBehaviour, start: pd.Timestamp) -> pd.DataFrame:
    pid = catalog.products["product_id"].to_numpy()
    day = np.array([r[1] for r in rows], dtype=np.int64)
    customer = _customers(rng, pop, day, behaviour.anonymous_share)
    hour = rng.choice(24, size=len(rows), p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    # Sessions start before 23:00 so that a session's events stay on its day.
    begin = day * 86_400 + np.minimum(hour, 22) * 3600 + rng.integers(0, 3600, len(rows))
    session, seconds, kind, product, query, props = [], [], [], [], [], []
    for (s, _, text, shown, shuffled, clicks, buys), t0 in zip(rows, begin, strict=True):
        results = json.dumps({"results": [str(pid[p]) for p in shown], "shuffled": shuffled})
        session.append(s)
        seconds.append(t0)
        kind.append("search")
        product.append(None)
        query.append(text)
        props.append(results)
        t = t0
        for position in clicks:
            t += 2 + int(rng.exponential(GAP_SECONDS))
            where = json.dumps({"source": "search", "position": int(position) + 1})
            session.append(s)
            seconds.append(t)
            kind.append("view")
            product.append(str(pid[shown[position]]))
            query.append(None)
            props.append(where)
            if position in buys:
                t += 2 + int(rng.exponential(GAP_SECONDS))
                session.append(s)
                seconds.append(t)
                kind.append("add_to_cart")
                product.append(str(pid[shown[position]]))
                query.append(None)
                props.append(where)
    session_arr = np.array(session, dtype=np.int64)
    order = np.lexsort((np.arange(len(seconds)), np.array(seconds)))
    ts = (start - pd.Timestamp(0)).value // 1000 + np.array(seconds, dtype=np.int64) * 1_000_000
    cust_ids = np.where(customer >= 0, pop.ids[np.maximum(customer, 0)], None)
    table = pa.table({
        "event_id": arrow_ids("ES", np.arange(1, len(order) + 1), 9),
        "session_id": arrow_ids("SS", session_arr[order] + 1, 8),
        "customer_id": pa.array(cust_ids[session_arr[order]], pa.string()),
        "product_id": pa.array(np.array(product, dtype=object)[order], pa.string()),
        "event_type": pa.array(np.array(kind, dtype=object)[order], pa.string()),
        "event_ts": pa.array(ts[order], pa.timestamp("us", tz="UTC")),
        "query": pa.array(np.array(query, dtype=object)[order], pa.string()),
        "properties": pa.array(np.array(props, dtype=object)[order], pa.string()),
    })
    return table.to_pandas()


def _queries_table(intents: dict[str, _Intent], catalog: Catalog) -> pd.DataFrame:
    pid = catalog.products["product_id"].to_numpy()
    return pd.DataFrame({
        "query": list(intents),
        "intent_product_id": [pid[i.product] for i in intents.values()],
        "category": [LEAVES[i.leaf].path for i in intents.values()],
        "noun": [i.noun for i in intents.values()],
        "constraints": [json.dumps(i.constraints) for i in intents.values()],
        "modifier": [i.modifier for i in intents.values()],
    })


def _relevance_table(intents: dict[str, _Intent], attrs: _Attributes, catalog: Catalog) -> pd.DataFrame:
    pid = catalog.products["product_id"].to_numpy()
    queries, products, grades = [], [], []
    for text, intent in intents.items():
        members, graded = attrs.grades(intent)
        queries.append(np.full(len(members), text, dtype=object))
        products.append(pid[members])
        grades.append(graded)
    if not queries:
        return pd.DataFrame({"query": pd.Series(dtype=str), "product_id": pd.Series(dtype=str),
                             "relevance": pd.Series(dtype=np.int64)})
    return pd.DataFrame({"query": np.concatenate(queries), "product_id": np.concatenate(products),
                         "relevance": np.concatenate(grades).astype(np.int64)})
