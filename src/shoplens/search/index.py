"""The product index: BM25 over weighted text fields (tantivy) and dense vectors (exact or usearch), on disk.

```python
from shoplens.search.index import ProductIndex, analyze

index = ProductIndex.build(documents, folder, vectors={"minilm": unit_vectors})   # written whole, then renamed
index = ProductIndex.open(folder)
hits = index.lexical("red dress", k=100, filters={"brand": "zara", "price_max": 50})   # Hits(rows, scores)
per_field = index.field_scores("red dress", hits.rows)          # (len(rows), len(FIELDS)) BM25 per field
dense = index.dense("minilm", query_vector, k=100, filters=...)  # Hits by cosine
index.products                                                   # row → product_id, title, brand, category, price
```

That is the whole surface the rest of ``search/`` (and query understanding, learning to rank) builds on:

- ``documents`` is a frame with ``product_id`` and any of :data:`FIELDS` (text; missing columns are empty), plus
  optional ``price``. A product is addressed by its **row** (position in ``documents``); ``index.products`` maps
  rows back to ids.
- Text is analysed once, in Python, by :func:`analyze` (NFKC, lower case, words; Chinese runs segmented with jieba,
  single characters when jieba is missing; English stemming), for documents and queries alike. Queries are built
  as term queries from those tokens, never parsed as tantivy query syntax, so ``"``, ``:``, ``(``, ``*``, ``~``
  or SQL in a user's text are just words.
- ``filters`` is a dict with any of ``category`` (a path or a prefix of one, ``"Home > Kitchen"``), ``brand``
  (case-insensitive), ``price_min``, ``price_max``; anything else is an :class:`~shoplens.errors.InputError`.
- Dense vectors are unit rows per encoder name; search is exact (a matrix product) below
  :data:`EXACT_LIMIT` products and usearch HNSW above it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoplens._files import replace_folder
from shoplens.errors import InputError, NotFound, ShoplensError

# Field → default weight (a multiplier on that field's BM25). The title names the product; brand and category
# are short, so a match there is strong evidence; free text (description, reviews, Q&A) is long and noisy.
FIELDS: dict[str, float] = {"title": 3.0, "brand": 2.0, "category": 1.5, "attributes": 1.5,
                            "description": 1.0, "qa": 1.0, "reviews": 0.5}
FILTER_KEYS = ("category", "brand", "price_min", "price_max")
EXACT_LIMIT = 50_000  # below this many products a brute-force cosine is as fast as HNSW and exact
MAX_QUERY_TOKENS = 64  # a 5,000-character query keeps its first 64 distinct tokens
MAX_TOKEN_CHARS = 40
FORMAT_VERSION = 2  # 2: per-field BM25 term weights beside the tantivy folder (field_scores without a search)
BM25_K1, BM25_B = 1.2, 0.75  # tantivy's constants, so that field_scores and lexical agree
TERM_WEIGHTS = "field-bm25.npz"
TERM_VOCAB = "field-bm25-terms.json"
TOKENIZER = "shoplens_ws"  # whitespace: the text arrives already analysed
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")


@dataclass(frozen=True)
class Hits:
    """Rows of ``index.products`` and their scores, best first."""

    rows: np.ndarray  # int64
    scores: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.rows)


# -- analysis -----------------------------------------------------------------------------------------------------

@cache
def _stemmer() -> Any:
    from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

    return TextAnalyzerBuilder(Tokenizer.whitespace()).filter(Filter.stemmer("english")).build()


@cache
def _jieba() -> Any:
    try:
        import jieba
    except ImportError:  # characters are the fallback: worse recall on words, never a failure
        return None
    jieba.setLogLevel(60)
    return jieba


def _chinese(run: str) -> list[str]:
    jieba = _jieba()
    if jieba is None:
        return list(run)
    # search mode also yields the shorter words inside long ones ("连衣裙" → "衣裙", "连衣裙")
    return [w for w in jieba.lcut_for_search(run, HMM=False) if w.strip()]


def analyze(text: str | None) -> list[str]:
    """The index's tokens of ``text`` (documents and queries alike), in order, duplicates kept."""
    if not text:
        return []
    words: list[str] = []
    for chinese, other in _RUNS.findall(unicodedata.normalize("NFKC", str(text)).lower()):
        words.extend(_chinese(chinese) if chinese else [other])
    words = [w for w in words if len(w) <= MAX_TOKEN_CHARS]
    return _stemmer().analyze(" ".join(words)) if words else []


@lru_cache(maxsize=65_536)
def indexed_text(text: str) -> str:
    """A field's text as the index stores it (tokens joined by spaces); cached, so rebuilding an index re-analyses
    only the texts that changed."""
    return " ".join(analyze(text))


def query_terms(text: str) -> list[str]:
    """Distinct tokens of a query, in order, at most :data:`MAX_QUERY_TOKENS`."""
    return list(dict.fromkeys(analyze(text)))[:MAX_QUERY_TOKENS]


# -- filters ------------------------------------------------------------------------------------------------------

def check_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Filters as the index understands them, or an InputError naming the bad key or value."""
    if not filters:
        return {}
    if not isinstance(filters, Mapping):
        raise InputError(f"filters must be a dict with keys {', '.join(FILTER_KEYS)}, got {type(filters).__name__}")
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise InputError(f"unknown filter {', '.join(map(repr, unknown))}; filters are {', '.join(FILTER_KEYS)}")
    out: dict[str, Any] = {}
    for key in ("category", "brand"):
        value = filters.get(key)
        if value is not None and str(value).strip():
            out[key] = _category_key(str(value)) if key == "category" else str(value).strip().lower()
    for key in ("price_min", "price_max"):
        value = filters.get(key)
        if value is None or value == "":
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"filter {key} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise InputError(f"filter {key} must be a finite number, got {value!r}")
        out[key] = number
    if out.get("price_min", -math.inf) > out.get("price_max", math.inf):
        raise InputError(f"filter price_min ({out['price_min']}) is above price_max ({out['price_max']})")
    return out


def _category_key(path: str) -> str:
    return " > ".join(part.strip().lower() for part in str(path).split(">") if part.strip())


def _category_prefixes(path: str) -> list[str]:
    parts = _category_key(path).split(" > ") if path else []
    return [" > ".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[0]]


# -- the index ----------------------------------------------------------------------------------------------------

def _schema() -> Any:
    from tantivy import SchemaBuilder

    builder = SchemaBuilder()
    builder.add_unsigned_field("row", stored=True, fast=True, indexed=True)
    for name in FIELDS:
        builder.add_text_field(name, tokenizer_name=TOKENIZER, index_option="freq")
    builder.add_text_field("brand_key", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("category_key", tokenizer_name="raw", index_option="basic")  # every prefix of the path
    builder.add_float_field("price", fast=True, indexed=True)
    return builder.build()


def _register(index: Any) -> None:
    from tantivy import TextAnalyzerBuilder, Tokenizer

    index.register_tokenizer(TOKENIZER, TextAnalyzerBuilder(Tokenizer.whitespace()).build())


def _products(documents: pd.DataFrame) -> pd.DataFrame:
    if "product_id" not in documents.columns:
        raise InputError("documents need a product_id column")
    ids = documents["product_id"].astype(str)
    if ids.duplicated().any():
        raise InputError(f"documents repeat product_id {ids[ids.duplicated()].iloc[0]!r}; one row per product")
    price = pd.to_numeric(documents["price"], errors="coerce") if "price" in documents else np.nan
    out = pd.DataFrame({"product_id": ids.to_numpy()})
    for column in ("title", "brand", "category"):
        out[column] = documents[column].fillna("").astype(str).to_numpy() if column in documents else ""
    out["price"] = np.asarray(price, dtype="float64") if "price" in documents else np.nan
    return out


class ProductIndex:
    """An open index folder. Build with :meth:`build`, reopen with :meth:`open`."""

    def __init__(self, folder: Path, products: pd.DataFrame, meta: dict[str, Any]) -> None:
        from tantivy import Index

        self.folder = folder
        self.products = products
        self.meta = meta
        self._index = Index.open(str(folder / "tantivy"))
        _register(self._index)
        self._schema = self._index.schema
        self._searcher = self._index.searcher()
        self._vectors: dict[str, np.ndarray] = {}
        self._ann: dict[str, Any] = {}
        self._weights: tuple[dict[str, int], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] | None = None

    def __len__(self) -> int:
        return len(self.products)

    def __repr__(self) -> str:
        return f"ProductIndex({str(self.folder)!r}, products={len(self)}, encoders={self.encoders})"

    @property
    def encoders(self) -> list[str]:
        return list(self.meta.get("vectors", {}))

    # -- building -----------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, documents: pd.DataFrame, folder: str | Path, *,
              vectors: Mapping[str, np.ndarray] | None = None) -> ProductIndex:
        """Index ``documents`` into ``folder`` (built beside it and renamed into place) and open it.

        ``vectors`` maps an encoder's name to one unit-length row per document, in the documents' order.
        """
        folder = Path(folder)
        products = _products(documents)
        vectors = {name: np.ascontiguousarray(v, dtype=np.float32) for name, v in (vectors or {}).items()}
        for name, matrix in vectors.items():
            if matrix.ndim != 2 or len(matrix) != len(products):
                raise InputError(f"vectors {name!r} have shape {matrix.shape}; expected ({len(products)}, dim)")
        replace_folder(folder, lambda staging: _write(staging, documents, products, vectors))
        return cls.open(folder)

    @classmethod
    def open(cls, folder: str | Path) -> ProductIndex:
        folder = Path(folder)
        meta_path = folder / "meta.json"
        if not meta_path.exists():
            raise NotFound(f"no search index in {folder}; build one with `shoplens search build`")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ShoplensError(f"the search index in {folder} has format {meta.get('format')}, this shoplens reads "
                                f"{FORMAT_VERSION}; rebuild it with `shoplens search build`")
        return cls(folder, pd.read_parquet(folder / "products.parquet"), meta)

    # -- lexical ------------------------------------------------------------------------------------------------
    def _field_query(self, terms: Sequence[str], field: str, boost: float) -> Any:
        from tantivy import Occur, Query

        clauses = [(Occur.Should, Query.term_query(self._schema, field, t)) for t in terms]
        query = Query.boolean_query(clauses)
        return query if boost == 1.0 else Query.boost_query(query, boost)

    def _filter_clauses(self, filters: Mapping[str, Any] | None) -> list[Any]:
        from tantivy import FieldType, Occur, Query

        checked = check_filters(filters)
        clauses = []
        if "brand" in checked:
            clauses.append(Query.term_query(self._schema, "brand_key", checked["brand"]))
        if "category" in checked:
            clauses.append(Query.term_query(self._schema, "category_key", checked["category"]))
        if "price_min" in checked or "price_max" in checked:
            clauses.append(Query.range_query(self._schema, "price", FieldType.Float, checked.get("price_min"),
                                             checked.get("price_max")))
        return [(Occur.Must, Query.const_score_query(c, 0.0)) for c in clauses]

    def _search(self, query: Any, k: int) -> Hits:
        result = self._searcher.search(query, limit=max(int(k), 1), count=False)
        if not result.hits:
            return Hits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        rows = self._searcher.fast_field_values("row", [address for _, address in result.hits])
        return Hits(np.asarray(rows, np.int64), np.asarray([s for s, _ in result.hits], np.float32))

    def lexical(self, text: str, k: int = 100, *, weights: Mapping[str, float] | None = None,
                filters: Mapping[str, Any] | None = None) -> Hits:
        """BM25 summed over fields, each multiplied by its weight (default :data:`FIELDS`; a field left out or
        weighted 0 is not searched). Only products that pass ``filters`` and match a query token are returned."""
        from tantivy import Occur, Query

        terms = query_terms(text)
        weights = FIELDS if weights is None else weights
        unknown = sorted(set(weights) - set(FIELDS))
        if unknown:
            raise InputError(f"unknown search field {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
        should = [(Occur.Should, self._field_query(terms, f, float(w))) for f, w in weights.items() if w > 0]
        filter_clauses = self._filter_clauses(filters)
        if not terms or not should:
            return Hits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        query = Query.boolean_query([(Occur.Must, Query.boolean_query(should)), *filter_clauses])
        return self._search(query, k)

    def field_scores(self, text: str, rows: Sequence[int]) -> np.ndarray:
        """Unweighted BM25 of each field (columns in :data:`FIELDS` order) for the given rows; 0 where a field does
        not match. The features a learned ranker or ``--explain`` reads.

        Read from the term-weight matrices written at build time (BM25 of every term in every product's field,
        tantivy's formula), so that scoring a few hundred candidates is a sparse slice, not a search per field."""
        rows = np.asarray(rows, dtype=np.int64)
        vocab, weights = self._term_weights()
        columns = [vocab[t] for t in query_terms(text) if t in vocab]
        if not len(rows) or not columns:
            return np.zeros((len(rows), len(FIELDS)), dtype=np.float32)
        distinct, back = np.unique(rows, return_inverse=True)
        position = np.full(len(self.products), -1, dtype=np.int64)
        position[distinct] = np.arange(len(distinct))
        out = np.zeros((len(distinct), len(FIELDS)), dtype=np.float32)
        for j, field in enumerate(FIELDS):
            if field not in weights:
                continue
            data, indices, indptr = weights[field]
            for column in columns:  # a term's postings in this field: the candidates among them get its weight
                start, stop = indptr[column], indptr[column + 1]
                found = position[indices[start:stop]]
                hit = found >= 0
                out[found[hit], j] += data[start:stop][hit]
        return out[back]

    def _term_weights(self) -> tuple[dict[str, int], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """The vocabulary (term → column) and, per field, its term-weight matrix as CSC arrays
        (data, row indices, column pointers)."""
        if self._weights is None:
            terms = json.loads((self.folder / TERM_VOCAB).read_text(encoding="utf-8"))
            with np.load(self.folder / TERM_WEIGHTS) as saved:
                weights = {f: (saved[f"{f}.data"], saved[f"{f}.indices"], saved[f"{f}.indptr"]) for f in FIELDS
                           if f"{f}.data" in saved}
            self._weights = ({t: i for i, t in enumerate(terms)}, weights)
        return self._weights

    # -- dense --------------------------------------------------------------------------------------------------
    def vectors(self, encoder: str) -> np.ndarray:
        """The unit vectors of one encoder, one row per product (memory-mapped)."""
        if encoder not in self.meta.get("vectors", {}):
            have = ", ".join(self.encoders) or "none"
            raise NotFound(f"the search index has no vectors of {encoder!r}; it has {have}")
        if encoder not in self._vectors:
            self._vectors[encoder] = np.load(self.folder / f"vectors-{_safe(encoder)}.npy", mmap_mode="r")
        return self._vectors[encoder]

    def mask(self, filters: Mapping[str, Any] | None) -> np.ndarray | None:
        """Rows passing ``filters`` as a boolean array (None: no filter)."""
        checked = check_filters(filters)
        if not checked:
            return None
        keep = np.ones(len(self.products), dtype=bool)
        if "brand" in checked:
            keep &= self.products["brand"].str.strip().str.lower().to_numpy() == checked["brand"]
        if "category" in checked:
            paths = self.products["category"].map(_category_key)
            keep &= ((paths == checked["category"]) | paths.str.startswith(checked["category"] + " > ")).to_numpy()
        price = self.products["price"].to_numpy()
        if "price_min" in checked:
            keep &= price >= checked["price_min"]
        if "price_max" in checked:
            keep &= price <= checked["price_max"]
        return keep

    def dense(self, encoder: str, query_vector: np.ndarray, k: int = 100, *,
              filters: Mapping[str, Any] | None = None) -> Hits:
        """Products by cosine to ``query_vector`` (unit length), best first, among those passing ``filters``."""
        matrix = self.vectors(encoder)
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        keep = self.mask(filters)
        k = max(int(k), 1)
        if len(matrix) >= EXACT_LIMIT:
            return self._ann_search(encoder, query, k, keep)
        scores = matrix @ query
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[np.isfinite(scores[top])]
        return Hits(top.astype(np.int64), scores[top].astype(np.float32))

    def cosines(self, encoder: str, query_vector: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        """Cosine of ``query_vector`` to each given row."""
        return self.vectors(encoder)[np.asarray(rows, dtype=np.int64)] @ np.asarray(query_vector, np.float32)

    def _ann_search(self, encoder: str, query: np.ndarray, k: int, keep: np.ndarray | None) -> Hits:
        if encoder not in self._ann:
            from usearch.index import Index

            self._ann[encoder] = Index.restore(str(self.folder / f"vectors-{_safe(encoder)}.usearch"), view=True)
        ann = self._ann[encoder]
        fetch = k if keep is None else min(len(self), k * 8)  # filtered: over-fetch, then keep the passing rows
        found = ann.search(query, fetch)
        rows, distances = np.asarray(found.keys, np.int64), np.asarray(found.distances, np.float32)
        if keep is not None:
            passing = keep[rows]
            rows, distances = rows[passing], distances[passing]
        return Hits(rows[:k], (1.0 - distances[:k]).astype(np.float32))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _write(staging: Path, documents: pd.DataFrame, products: pd.DataFrame,
           vectors: Mapping[str, np.ndarray]) -> None:
    from tantivy import Document, Index

    (staging / "tantivy").mkdir()
    index = Index(_schema(), path=str(staging / "tantivy"))
    _register(index)
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    texts = {f: documents[f].fillna("").astype(str).to_numpy() if f in documents else None for f in FIELDS}
    tokens: dict[str, list[list[str]]] = {f: [] for f, column in texts.items() if column is not None}
    for row, product in enumerate(products.itertuples(index=False)):
        doc = Document()
        doc.add_unsigned("row", row)
        for field, column in texts.items():
            if column is None:
                continue
            analysed = indexed_text(column[row]) if column[row] else ""
            tokens[field].append(analysed.split())
            if analysed:
                doc.add_text(field, analysed)
        if product.brand.strip():
            doc.add_text("brand_key", product.brand.strip().lower())
        for prefix in _category_prefixes(product.category):
            doc.add_text("category_key", prefix)
        if not math.isnan(product.price):
            doc.add_float("price", float(product.price))
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    products.to_parquet(staging / "products.parquet", index=False)
    _write_term_weights(staging, tokens, len(products))
    for name, matrix in vectors.items():
        np.save(staging / f"vectors-{_safe(name)}.npy", matrix)
        if len(matrix) >= EXACT_LIMIT:
            _write_ann(staging / f"vectors-{_safe(name)}.usearch", matrix)
    meta = {"format": FORMAT_VERSION, "products": len(products), "fields": FIELDS,
            "vectors": {name: int(m.shape[1]) for name, m in vectors.items()}}
    (staging / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _write_term_weights(staging: Path, tokens: Mapping[str, list[list[str]]], n_docs: int) -> None:
    """Per field, a products × terms matrix of BM25 term weights — idf · tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))
    with tantivy's idf and constants (its one-byte length quantisation aside) — so that a query's per-field BM25
    over any candidate rows is the sum of a few columns."""
    from collections import Counter

    vocab: dict[str, int] = {}
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # per field: rows, columns, weights
    for field, docs in tokens.items():
        rows, cols, tfs = [], [], []
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        for row, words in enumerate(docs):
            for term, tf in Counter(words).items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        if not rows:
            continue
        rows_a, cols_a, tf_a = np.array(rows), np.array(cols), np.array(tfs, dtype=np.float64)
        doc_freq = np.bincount(cols_a, minlength=len(vocab))
        idf = np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[rows_a] / max(lengths.sum() / max(n_docs, 1), 1e-9))
        data = (idf[cols_a] * tf_a * (BM25_K1 + 1) / (tf_a + norm)).astype(np.float32)
        arrays[field] = (rows_a, cols_a, data)
    from scipy import sparse

    out: dict[str, np.ndarray] = {}
    for field, (rows_a, cols_a, data) in arrays.items():
        matrix = sparse.csc_matrix((data, (rows_a, cols_a)), shape=(n_docs, len(vocab)), dtype=np.float32)
        out |= {f"{field}.data": matrix.data, f"{field}.indices": matrix.indices, f"{field}.indptr": matrix.indptr}
    np.savez(staging / TERM_WEIGHTS, **out)
    (staging / TERM_VOCAB).write_text(json.dumps(list(vocab), ensure_ascii=False), encoding="utf-8")


def _write_ann(path: Path, matrix: np.ndarray) -> None:
    from usearch.index import Index

    ann = Index(ndim=matrix.shape[1], metric="cos", dtype="f32")
    ann.add(np.arange(len(matrix), dtype=np.uint64), matrix)
    ann.save(str(path))
