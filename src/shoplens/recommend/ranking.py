"""The ranking arithmetic the models share: top-k per row, top-k neighbours per column, EASE's closed form."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shoplens.errors import InputError


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``k`` best columns (best first; ties by lower index) and their scores; -1 for -inf."""
    n_items = scores.shape[1]
    if k < n_items:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(n_items), (scores.shape[0], 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    items = np.take_along_axis(part, order, axis=1)
    top = np.take_along_axis(part_scores, order, axis=1)
    items = np.where(np.isfinite(top), items, -1)
    if items.shape[1] < k:
        pad = k - items.shape[1]
        items = np.pad(items, ((0, 0), (0, pad)), constant_values=-1)
        top = np.pad(top, ((0, 0), (0, pad)), constant_values=-np.inf)
    return items, top.astype(np.float32)


def top_per_column(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each column (each target item keeps its k best neighbours)."""
    csc = matrix.tocsc()
    rows, cols, vals = [], [], []
    for j in range(csc.shape[1]):
        start, end = csc.indptr[j], csc.indptr[j + 1]
        if end == start:
            continue
        data, index = csc.data[start:end], csc.indices[start:end]
        if end - start > k:
            best = np.argpartition(-data, k - 1)[:k]
            data, index = data[best], index[best]
        rows.append(index)
        cols.append(np.full(len(index), j))
        vals.append(data)
    if not rows:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                         shape=matrix.shape)


def ease_weights(gram: np.ndarray, lam: float, popularity_regularization: float = 0.0) -> np.ndarray:
    """EASE's closed form (Steck, WWW 2019) with a zero diagonal: ``B = I − P · diag(1 / diag(P))``,
    ``P = (G + Λ)^-1``, ``Λ = λ I + c · diag(G)`` (c > 0: the dropout-like emphasis of EDLAE, Steck 2020)."""
    if lam <= 0 and popularity_regularization <= 0:
        raise InputError(f"EASE needs a positive regularisation λ; got {lam}")
    regularised = np.array(gram, dtype=np.float64)
    diagonal = np.diag(regularised).copy()
    regularised[np.diag_indices_from(regularised)] += lam + popularity_regularization * diagonal
    inverse = np.linalg.inv(regularised)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights.astype(np.float32)
