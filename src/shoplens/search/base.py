"""Product search: BM25 over weighted fields and dense cosines, fused per query, with facets and explanations.

```python
import shoplens as sl
from shoplens.search import Search

ws = sl.Workspace.open("shop")
search = Search().fit(ws)                                  # builds ws/search/ (index + settings), whole or not at all
page = search.query("red dress", k=10, filters={"price_max": 50})
page.items[0]          # {"rank": 1, "product_id": …, "title": …, "score": …, "signals": {"bm25": …, "dense:minilm": …}}
page.facets            # {"category": [...], "brand": [...], "price": [...]} over the matching candidates
Search.load(ws.dir("search"))                              # what the service and the CLI open
```

Ranking, per query: the top ``candidates`` products by BM25 (tantivy, fields weighted by ``field_weights``) and by
each dense encoder (cosine to the query's embedding) are pooled; every candidate gets every signal (BM25 0 where
no query word matches); each signal is standardised over the pool and the weighted sum (``weights``, default 1
each) orders the results. ``explain=True`` adds the BM25 of each field. Filters (category prefix, brand, price
range) restrict every signal before pooling. Facets count the top ``FACET_DEPTH`` (50) results after the filters.

Query understanding (``understand=True``, the default; :mod:`shoplens.search.query`, docs/search-query.md): the
query is parsed first — prices, brands, a named category, spelling, synonyms — its cleaned text is what BM25 and the
encoders read, its brand and price filters join the caller's (the caller's win), and ``page.understanding`` shows
every rewrite. When the parsed filters leave no product, the search runs again with the caller's filters alone
(``understanding["relaxed"]``).

Learned ranking (``ranker="auto"``, the default): when the workspace's events hold logged search result pages
with clicks (and enough shuffled pages to estimate position bias — :mod:`shoplens.search.ltr`), the build also
fits a :class:`~shoplens.search.ltr.LearnedRanker` on them, and queries order the pooled candidates by its score
(the signal ``ltr``) instead of the weighted sum; ``settings["ranker"]`` says whether it was fitted and, if not,
why. Queries are embedded by the encoder's float ONNX copy (:func:`shoplens.text.onnx.query_encoder`: the same
vectors, a fifth of the latency).

A fine-tuned encoder (``shoplens search finetune``, :class:`shoplens.search.SearchEncoder`) adds the signal
``dense:finetuned`` — only when its registry card says it beat the off-the-shelf encoder on validation.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shoplens._files import replace_folder
from shoplens.base import Estimator, json_safe
from shoplens.errors import InputError, NotFound
from shoplens.search.documents import dense_texts
from shoplens.search.fusion import standardize
from shoplens.search.index import FIELDS, Hits, ProductIndex, check_filters, query_terms
from shoplens.search.query import QueryParser

_LOADING = threading.Lock()
SETTINGS_FILE = "search.json"
INDEX_DIR = "index"
PARSER_DIR = "query"
RANKER_DIR = "ranker"
# Parsed filters that restrict results. A named category does not: BM25 already ranks it first from the same word,
# and as a filter it cut "lamp" to the one product of a small Lamps leaf; it stays in ``understanding``.
PARSED_FILTERS = ("brand", "price_min", "price_max")
MAX_QUERY_CHARS = 5_000
MAX_K = 100
FACET_TOP = 10  # values per facet
FACET_DEPTH = 50  # facets count the top this many results of the ranking (after filters)


@dataclass
class SearchPage:
    """One query's answer: ranked items with their signals, facets, and how the query was read."""

    query: str
    terms: list[str]
    filters: dict[str, Any]
    items: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]
    candidates: int
    signals: list[str]
    weights: dict[str, float] = field(default_factory=dict)
    understanding: dict[str, Any] | None = None  # the parsed query (filters, category, rewrites), when understood

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.__dict__)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.items)


@dataclass(eq=False, repr=False)
class Search(Estimator):
    """Hybrid product search. Parameters only here; :meth:`fit` builds the index into the workspace."""

    registry_name: ClassVar[str] = "search"
    capability: ClassVar[str] = "search"

    encoder: str | None = "minilm"
    _: KW_ONLY
    finetuned: str = "auto"  # "auto": the registered search encoder where it beat off-the-shelf; "never"
    field_weights: dict[str, float] | None = None  # default shoplens.search.index.FIELDS
    weights: dict[str, float] | None = None  # per signal ("bm25", "dense:<name>"); default 1 each
    candidates: int = 100
    understand: bool = True  # parse queries (shoplens.search.query) before searching
    ranker: str = "auto"  # "auto": learn to rank from the logged search clicks when there are enough; "never"
    max_length: int | None = None  # tokens of a product's text the encoders read; None: the encoder's own (256)
    seed: int = 0

    # -- fitting ------------------------------------------------------------------------------------------------
    def fit(self, data: Any) -> Search:
        """Index a workspace's products (written to ``ws/search/``, built beside it and renamed into place) or a
        documents frame (``product_id`` and the text fields; indexed in a temporary folder)."""
        from shoplens.search.documents import product_documents
        from shoplens.workspace import Workspace

        self._check_params()
        ws = data if isinstance(data, Workspace) else None
        documents = product_documents(ws) if ws is not None else _check_documents(data)
        if documents.empty:
            raise InputError("no products to index: the workspace has no products, reviews or Q&A with a product_id")
        vectors, tuned = self._vectors(documents, ws)
        self.finetuned_encoder_ = tuned
        self.price_bands_ = price_bands(documents.get("price"))
        self.products_ = len(documents)
        self.parser_ = self._fit_parser(ws, documents)
        target = ws.dir("search") if ws is not None else Path(_scratch()) / "search"
        replace_folder(target, lambda staging: self._write(staging, documents, vectors, ws))
        self._open(target)
        return self

    def _fit_parser(self, ws: Any, documents: pd.DataFrame) -> QueryParser | None:
        """The query parser, learned from the products (and, in a workspace, its search events); none when the
        documents name no titles or categories to learn from."""
        if not self.understand:
            return None
        if ws is not None:
            return QueryParser().fit(ws) if "products" in ws.table_names() else None
        has_words = any(c in documents.columns and documents[c].notna().any() for c in ("title", "category"))
        return QueryParser().fit(documents) if has_words else None

    def _check_params(self) -> None:
        unknown = sorted(set(self.field_weights or {}) - set(FIELDS))
        if unknown:
            raise InputError(f"unknown field_weights {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
        if self.ranker not in ("auto", "never"):
            raise InputError(f"ranker must be 'auto' or 'never', got {self.ranker!r}")
        if self.finetuned not in ("auto", "never"):
            raise InputError(f"finetuned must be 'auto' or 'never', got {self.finetuned!r}")
        if not 1 <= int(self.candidates) <= 10_000:
            raise InputError(f"candidates must be between 1 and 10000, got {self.candidates}")

    def _vectors(self, documents: pd.DataFrame, ws: Any) -> tuple[dict[str, np.ndarray], str | None]:
        if self.encoder is None:
            return {}, None
        from shoplens.text import load_encoder
        from shoplens.text.onnx import query_encoder

        texts = dense_texts(documents)
        encoder = load_encoder(self.encoder)
        documents_encoder = encoder if self.max_length is None else load_encoder(self.encoder,
                                                                                   max_length=self.max_length)
        vectors = {self.encoder: documents_encoder.encode(texts, workspace=ws)}
        query_encoder(encoder)  # exported now (once per machine), not on the first query
        tuned = _usable_finetuned(ws) if ws is not None and self.finetuned == "auto" else None
        if tuned is not None:
            vectors["finetuned"] = load_encoder(tuned, max_length=self.max_length).encode(texts, workspace=ws)
        return vectors, tuned

    def _write(self, folder: Path, documents: pd.DataFrame, vectors: dict[str, np.ndarray], ws: Any) -> None:
        index = ProductIndex.build(documents, folder / INDEX_DIR, vectors=vectors)
        self.ranker_info_ = self._fit_ranker(index, ws, folder / RANKER_DIR)
        state = {"params": self.card_params(), "finetuned_encoder": self.finetuned_encoder_,
                 "price_bands": self.price_bands_, "products": self.products_, "ranker": self.ranker_info_}
        (folder / SETTINGS_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
        if self.parser_ is not None:
            self.parser_.save(folder / PARSER_DIR)

    def _fit_ranker(self, index: ProductIndex, ws: Any, folder: Path) -> dict[str, Any]:
        """Fit and save the learned ranker when the workspace's search log allows; say why not otherwise."""
        from shoplens.search.ltr import LearnedRanker

        if self.ranker == "never" or ws is None:
            return {"fitted": False, "reason": "ranker='never'" if ws is not None else "no workspace: no search log"}
        if self.encoder is None:
            return {"fitted": False, "reason": "no dense encoder for the ranker's cosine feature"}
        try:
            ranker = LearnedRanker(encoder=self.encoder, seed=self.seed).fit(ws, index=index)
        except InputError as exc:  # no search log, or too few shuffled pages: the weighted sum ranks
            return {"fitted": False, "reason": str(exc)}
        ranker.save(folder)
        return {"fitted": True, "queries": ranker.n_queries_, "chosen": ranker.params_,
                "cv_ndcg@10": max(r["ndcg@10"] for r in ranker.cv_)}

    def _open(self, folder: Path) -> None:
        from shoplens.search.ltr import LearnedRanker

        self.folder_ = folder
        self.index_ = ProductIndex.open(folder / INDEX_DIR)
        self._encoders: dict[str, Any] = {}
        self._catalog_arrays = None
        ranked = folder / RANKER_DIR
        self.ranker_ = LearnedRanker.load(ranked) if self.ranker != "never" and ranked.is_dir() else None

    # -- persistence --------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        source = self.folder_
        return replace_folder(Path(path), lambda staging: shutil.copytree(source, staging, dirs_exist_ok=True))

    @classmethod
    def load(cls, path: str | Path) -> Search:
        folder = Path(path)
        settings = folder / SETTINGS_FILE
        if not settings.exists():
            raise NotFound(f"no search index in {folder}; build one with `shoplens search build`")
        state = json.loads(settings.read_text(encoding="utf-8"))
        model = cls.from_saved_params(state["params"])
        model.finetuned_encoder_ = state.get("finetuned_encoder")
        model.price_bands_ = state.get("price_bands") or []
        model.products_ = state.get("products")
        model.ranker_info_ = state.get("ranker") or {"fitted": False, "reason": "built before learned ranking"}
        parser = folder / PARSER_DIR
        model.parser_ = QueryParser.load(parser) if model.understand and parser.is_dir() else None
        model._open(folder)
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise InputError("this Search is not fitted; call fit(ws) or Search.load(folder) first")

    # -- querying -----------------------------------------------------------------------------------------------
    def _encoder(self, name: str) -> Any:
        with _LOADING:  # the service's warm-up thread and a request thread: one loads, the other waits
            return self._load_encoder(name)

    def _load_encoder(self, name: str) -> Any:
        if name not in self._encoders:
            from shoplens.text import load_encoder
            from shoplens.text.onnx import query_encoder

            path = self.finetuned_encoder_ if name == "finetuned" else name
            if path is None or (name == "finetuned" and not Path(path).is_dir()):
                raise NotFound(f"the fine-tuned search encoder {path} is gone; rebuild with `shoplens search build`")
            self._encoders[name] = query_encoder(load_encoder(path))
        return self._encoders[name]

    def signal_weights(self) -> dict[str, float]:
        """The weight of each signal in the fused score; with a learned ranker, ``{"ltr": 1.0}``."""
        if self.ranker_ is not None:
            return {"ltr": 1.0}
        names = ["bm25", *(f"dense:{n}" for n in self.index_.encoders)]
        given = self.weights or {}
        return {n: float(given.get(n, 1.0)) for n in names}

    def query(self, text: str, k: int = 10, *, filters: Mapping[str, Any] | None = None,
              explain: bool = False) -> SearchPage:
        """The top ``k`` products for ``text`` with each signal's score, facets, and (``explain``) per-field BM25;
        the query is understood first (see the module docstring) when the model has a parser."""
        self._check_fitted()
        text = check_query(text)
        if not 1 <= int(k) <= MAX_K:
            raise InputError(f"k must be between 1 and {MAX_K}, got {k}")
        checked = check_filters(filters)
        parser = getattr(self, "parser_", None)
        if parser is None:
            return self._ranked(text, k, checked, explain)
        parsed = parser.parse(text)
        hard, _ = parsed.split_filters(checked, index_keys=PARSED_FILTERS)
        understanding = {**parsed.to_dict(), "relaxed": False}
        page = self._ranked(parsed.query or text, k, check_filters(hard), explain)
        if not page.items and hard != checked:  # the parsed filters left nothing: the caller's alone
            page = self._ranked(parsed.query or text, k, checked, explain)
            understanding["relaxed"] = True
        page.query, page.understanding = text, understanding
        return page

    def _ranked(self, text: str, k: int, checked: dict[str, Any], explain: bool) -> SearchPage:
        weights = self.signal_weights()
        pools = {"bm25": self.index_.lexical(text, self.candidates, weights=self.field_weights, filters=checked)}
        vectors = {}
        for name in self.index_.encoders:
            vectors[name] = self._encoder(name).encode([text])[0]
            pools[f"dense:{name}"] = self.index_.dense(name, vectors[name], self.candidates, filters=checked)
        rows = _pool(pools.values())
        signals = self._signals(text, rows, pools["bm25"], vectors)
        if self.ranker_ is not None:
            signals["ltr"] = self.ranker_.score(self.index_, text, rows,
                                                query_vector=vectors.get(self.ranker_.encoder or ""))
        active = {n: w for n, w in weights.items() if w and n in signals}
        fused = sum(w * standardize(signals[n][None, :])[0] for n, w in active.items()) if len(rows) else np.zeros(0)
        order = np.argsort(-np.asarray(fused), kind="stable")
        top = order[:k]
        per_field = self.index_.field_scores(text, rows[top]) if explain and len(top) else None
        items = [self._item(rank, int(rows[i]), float(fused[i]), {n: float(s[i]) for n, s in signals.items()},
                            per_field[j] if per_field is not None else None)
                 for rank, (j, i) in enumerate(enumerate(top), start=1)]
        return SearchPage(query=text, terms=query_terms(text), filters=checked, items=items,
                          facets=self.facets(rows[order[:FACET_DEPTH]]), candidates=len(rows),
                          signals=list(signals), weights=active)

    def _signals(self, text: str, rows: np.ndarray, lexical: Hits, vectors: dict[str, np.ndarray]
                 ) -> dict[str, np.ndarray]:
        bm25 = np.zeros(len(rows), dtype=np.float32)
        position = {int(r): i for i, r in enumerate(rows)}
        for row, score in zip(lexical.rows, lexical.scores, strict=True):
            bm25[position[int(row)]] = score
        out = {"bm25": bm25}
        for name, vector in vectors.items():
            out[f"dense:{name}"] = self.index_.cosines(name, vector, rows).astype(np.float32)
        return out

    def _item(self, rank: int, row: int, score: float, signals: dict[str, float],
              per_field: np.ndarray | None) -> dict[str, Any]:
        catalog = self._catalog()
        price = catalog["price"][row]
        item = {"rank": rank, "product_id": catalog["product_id"][row], "title": catalog["title"][row],
                "brand": catalog["brand"][row], "category": catalog["category"][row],
                "price": None if math.isnan(price) else float(price),
                "score": round(score, 4), "signals": {n: round(v, 4) for n, v in signals.items()}}
        if per_field is not None:
            item["fields"] = {f: round(float(v), 4) for f, v in zip(FIELDS, per_field, strict=True) if v}
        return item

    def _catalog(self) -> dict[str, Any]:
        """The index's products as plain arrays, with category and brand as codes: a query's items and facets
        read a few rows, and pandas indexing per row cost more than the ranking."""
        if self._catalog_arrays is None:
            products = self.index_.products
            catalog: dict[str, Any] = {c: products[c].astype(str).to_numpy() for c in ("product_id", "title", "brand",
                                                                                        "category")}
            catalog["price"] = products["price"].to_numpy(dtype=np.float64)
            for column in ("category", "brand"):
                codes, values = pd.factorize(products[column].str.strip())
                catalog[f"{column}_codes"], catalog[f"{column}_values"] = codes, np.asarray(values, dtype=object)
            self._catalog_arrays = catalog
        return self._catalog_arrays

    def facets(self, rows: np.ndarray) -> dict[str, list[dict[str, Any]]]:
        """Counts of category, brand and price band over the given rows (a query's top :data:`FACET_DEPTH`)."""
        catalog = self._catalog()
        rows = np.asarray(rows, dtype=np.int64)
        out: dict[str, list[dict[str, Any]]] = {}
        for column in ("category", "brand"):
            names = catalog[f"{column}_values"]
            counts = np.bincount(catalog[f"{column}_codes"][rows], minlength=len(names)) if len(rows) else \
                np.zeros(len(names), dtype=np.int64)
            order = np.argsort(-counts, kind="stable")  # ties: the value seen first in the catalog
            out[column] = [{"value": str(names[c]), "count": int(counts[c])} for c in order
                           if counts[c] and names[c] != ""][:FACET_TOP]
        prices = catalog["price"][rows]
        prices = prices[~np.isnan(prices)]
        bands = [{"min": low, "max": None if math.isinf(high) else high,
                  "count": int(((prices >= low) & (prices < high)).sum())} for low, high in self._bands()]
        out["price"] = [band for band in bands if band["count"]]  # max None: the open top band
        return out

    def _bands(self) -> list[tuple[float, float]]:
        edges = self.price_bands_ or []
        return [(float(a), float(b) if b is not None else math.inf) for a, b in zip(edges, [*edges[1:], None],
                                                                                      strict=True)]

    # -- evaluation ---------------------------------------------------------------------------------------------
    def evaluate(self, data: Any, *, dataset: str | None = None, **protocol: Any) -> list[Any]:
        """Known-item search on the workspace's own (query, product) pairs — Q&A questions, search queries with
        the product clicked or bought, review titles — beside BM25 alone, on the same index. These queries' text
        is indexed too (questions and review titles are fields), so the figures are in-sample; the held-out
        benchmark is ``benchmarks/search.py``."""
        from shoplens.search.evaluate import evaluate_search

        self._check_fitted()
        return evaluate_search(self, data, dataset=dataset, **protocol)


def check_query(text: Any) -> str:
    """A search text: a non-empty string, at most :data:`MAX_QUERY_CHARS` characters (longer ones are cut)."""
    if not isinstance(text, str):
        raise InputError(f"the query must be text, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise InputError("the query is empty; give some words to search for")
    return text[:MAX_QUERY_CHARS]


def price_bands(prices: Any, n: int = 5) -> list[float]:
    """Lower edges of about ``n`` price bands at rounded catalog quantiles (``[0, 10, 25, 50, 100]``)."""
    values = pd.to_numeric(pd.Series(prices, dtype="object"), errors="coerce").dropna() if prices is not None \
        else pd.Series(dtype=float)
    values = values[values >= 0]
    if values.empty:
        return []
    edges = {0.0}
    for q in np.linspace(0, 1, n + 1)[1:-1]:
        edges.add(_round_price(float(values.quantile(q))))
    return sorted(edges)


def _round_price(value: float) -> float:
    if value <= 0:
        return 0.0
    scale = 10 ** math.floor(math.log10(value))
    return float(min((1, 2, 2.5, 5, 10), key=lambda m: abs(m * scale - value)) * scale)


def _pool(pools: Any) -> np.ndarray:
    rows = [h.rows for h in pools if len(h)]
    return np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)


def _check_documents(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"Search.fit takes a Workspace or a documents DataFrame, got {type(data).__name__}")
    return data.reset_index(drop=True)


def _scratch() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="shoplens-search-")


def _usable_finetuned(ws: Any) -> str | None:
    """The deployed fine-tuned search encoder's folder, when its card says it beat off-the-shelf on validation."""
    from shoplens.search.encoder import REGISTRY_NAME, beats_base

    try:
        folder = ws.models.path(REGISTRY_NAME)
    except NotFound:
        return None
    return str(folder / "encoder") if beats_base(folder) else None

