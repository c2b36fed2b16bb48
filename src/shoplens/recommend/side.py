"""Side information about items for the sequential model (``SASRec(side=...)``): what each catalogue item is,
apart from who interacted with it, so that rare and new items get a representation.

- :func:`item_side_texts` — one text per item: title, brand, category and the attributes JSON as ``name value``
  facts (the facts the product graph keeps, :func:`shoplens.graph.sources.catalog_facts`);
- :func:`text_vectors` — those texts embedded by a ``shoplens.text`` encoder (the workspace's embedding cache
  when there is one), a zero row for an item without text;
- :func:`attribute_tokens` — structured attributes as tokens: ``brand=…``, ``category=…`` for every prefix of
  the category path, and ``name=value`` for each attribute fact (S3-Rec's ``attribute_ids`` of Beauty read as
  ``attribute_ids=17``); a token carried by a single item says nothing about any other item and is left out.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from shoplens.errors import InputError, ShoplensError
from shoplens.recommend.content import item_texts
from shoplens.recommend.data import ITEM

SIDES = ("text", "attributes", "text+attributes")
TEXT_FIELDS = ("title", "brand", "category", "attributes")
MIN_TOKEN_ITEMS = 2  # a token on one item only is an id in disguise


class AttributeTokens(NamedTuple):
    """Items × tokens as CSR parts: item ``i``'s token codes are ``codes[indptr[i]:indptr[i + 1]]``."""

    indptr: np.ndarray
    codes: np.ndarray
    names: np.ndarray


def side_parts(side: str) -> tuple[bool, bool]:
    """Whether ``side`` asks for the text and for the attributes."""
    if side not in SIDES:
        raise InputError(f"SASRec: side {side!r} is not one of None, {', '.join(map(repr, SIDES))}")
    return "text" in side, "attributes" in side


def _facts(products: pd.DataFrame) -> pd.Series:
    """Each product's attribute facts, (name, value) pairs."""
    from shoplens.graph.sources import catalog_facts

    if "attributes" not in products.columns:
        return pd.Series([[] for _ in range(len(products))], index=products.index, dtype=object)
    return products["attributes"].map(lambda value: catalog_facts(value) if isinstance(value, str) else [])


def item_side_texts(products: pd.DataFrame | None, item_ids: np.ndarray) -> list[str]:
    """One text per catalogue item (title. brand. category. name value, …); '' where nothing is known."""
    if products is None or products.empty:
        return [""] * len(item_ids)
    facts = _facts(products).map(lambda pairs: ", ".join(f"{name} {value}" for name, value in pairs))
    return item_texts(products.assign(attributes=facts), item_ids, fields=TEXT_FIELDS)


def text_vectors(texts: list[str], encoder: str, workspace: Any = None) -> np.ndarray:
    """Unit-length embeddings of the non-empty texts; zero rows for empty ones."""
    try:
        from shoplens.text import load_encoder
    except ImportError:
        raise ShoplensError("SASRec(side='text') needs the text layer: install shoplens[text]") from None
    present = [n for n, text in enumerate(texts) if text.strip()]
    model = load_encoder(encoder, workspace=workspace)
    vectors = np.zeros((len(texts), model.dim), dtype=np.float32)
    if present:
        vectors[present] = model.encode([texts[n] for n in present])
    return vectors


def _tokens_of(row: Any, facts: list[tuple[str, str]]) -> list[str]:
    tokens = []
    brand = str(getattr(row, "brand", "") or "").strip()
    if brand and brand.lower() != "nan":
        tokens.append(f"brand={brand}")
    parts = [p.strip() for p in str(getattr(row, "category", "") or "").split(">") if p.strip()]
    if parts and parts[0].lower() != "nan":
        tokens += [f"category={' > '.join(parts[:depth])}" for depth in range(1, len(parts) + 1)]
    return tokens + [f"{name}={value}" for name, value in facts]


def attribute_tokens(products: pd.DataFrame | None, item_ids: np.ndarray) -> AttributeTokens:
    """The attribute tokens of every catalogue item (see the module docstring), as codes into ``names``."""
    per_item: list[list[str]] = [[] for _ in item_ids]
    if products is not None and not products.empty:
        unique = products.drop_duplicates(ITEM)
        positions = np.searchsorted(item_ids, unique[ITEM].astype(str).to_numpy())
        known = (positions < len(item_ids)) & (item_ids[np.minimum(positions, len(item_ids) - 1)]
                                                == unique[ITEM].astype(str).to_numpy())
        for row, facts, position, ok in zip(unique.itertuples(index=False), _facts(unique), positions, known,
                                            strict=True):
            if ok:
                per_item[position] = sorted(set(_tokens_of(row, facts)))
    counts = pd.Series([t for tokens in per_item for t in tokens], dtype=object).value_counts()
    names = np.array(sorted(counts.index[counts >= MIN_TOKEN_ITEMS]), dtype=str)
    code_of = {name: code for code, name in enumerate(names)}
    kept = [[code_of[t] for t in tokens if t in code_of] for tokens in per_item]
    indptr = np.concatenate([[0], np.cumsum([len(k) for k in kept])]).astype(np.int64)
    codes = np.array([c for k in kept for c in k], dtype=np.int64)
    return AttributeTokens(indptr, codes, names)
