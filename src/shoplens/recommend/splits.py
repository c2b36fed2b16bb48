"""Evaluation splits of interactions (long frames ``customer_id, product_id[, ts, weight]``).

- :func:`stratified_split` — per user, random, a ratio of each user's rows to training: the semantics
  of Microsoft Recommenders' ``python_stratified_split`` (same seed → the same rows as theirs);
- :func:`leave_one_out` — per user in time order: the last interaction to test, the one before it to
  validation (users with fewer than three interactions keep everything in training);
- :func:`temporal_split` — one global cut in time: everything before it trains, the rest tests;
- :func:`cold_item_split` — a share of items is held out entirely (every interaction with them goes to
  test), for cold-start evaluation.

Every splitter returns disjoint pieces whose union is the input (rows keep their index), and never
puts a test row into training (a property test checks it). Validation splits for hyper-parameters
are carved from the training piece with the same functions, never from test.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from shoplens.errors import InputError

USER, ITEM, TS = "customer_id", "product_id", "ts"


class Split(NamedTuple):
    train: pd.DataFrame
    test: pd.DataFrame
    validation: pd.DataFrame | None = None


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what}: missing column {', '.join(repr(c) for c in missing)}; "
                         f"columns are {', '.join(map(str, frame.columns))}")


def stratified_split(frame: pd.DataFrame, ratio: float = 0.75, seed: int = 42, *, by: str = USER) -> Split:
    """Per ``by`` (user), a random ``ratio`` of the rows to training, the rest to test.

    Microsoft Recommenders' semantics: ``np.random.seed(seed)``, one uniform number per row in the frame's
    order, rows sorted by (user, number), and a row trains when its rank within the user divided by the
    user's row count is at most ``ratio``.
    """
    _require(frame, (by,), "stratified split")
    if not 0 < ratio < 1:
        raise InputError(f"ratio {ratio} must lie strictly between 0 and 1 (0.75, never 75)")
    random = np.random.RandomState(seed).rand(len(frame))  # the stream of np.random.seed(seed); rand(n)
    order = pd.DataFrame({"by": frame[by].to_numpy(), "random": random}, index=frame.index)
    order = order.sort_values(["by", "random"])
    groups = order.groupby("by", sort=False)
    rank = (groups.cumcount() + 1) / groups["by"].transform("count")
    train_index = rank.index[rank.to_numpy() <= ratio]
    in_train = frame.index.isin(train_index)
    return Split(frame[in_train], frame[~in_train])


def _time_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame ordered by user, then time (ties keep the frame's order)."""
    _require(frame, (USER, TS), "time-ordered split")
    return frame.sort_values([USER, TS], kind="stable")


def leave_one_out(frame: pd.DataFrame, *, validation: bool = True, min_history: int = 1) -> Split:
    """Per user in time order: last interaction → test, second to last → validation (when asked).

    A user needs ``min_history`` training rows plus the held-out ones; shorter histories stay whole in
    training (they are scored by nobody and count for no metric).
    """
    ordered = _time_order(frame)
    position_from_end = ordered.groupby(USER, sort=False).cumcount(ascending=False)
    size = ordered.groupby(USER, sort=False)[USER].transform("size")
    held = 2 if validation else 1
    eligible = size >= held + min_history
    test = ordered[eligible & (position_from_end == 0)]
    valid = ordered[eligible & (position_from_end == 1)] if validation else None
    train = ordered[~eligible | (position_from_end >= held)]
    return Split(train, test, valid)


def temporal_split(frame: pd.DataFrame, ratio: float = 0.8, *, cutoff: object = None) -> Split:
    """One global cut: rows before ``cutoff`` (default: the ``ratio`` quantile of time) train, the rest test.

    Test rows of users or items never seen before the cut stay in test (they are the cold part of the
    future); metrics count only users with a training history.
    """
    _require(frame, (TS,), "temporal split")
    if frame[TS].isna().any():
        raise InputError(f"temporal split: {int(frame[TS].isna().sum())} rows have no timestamp (column 'ts')")
    if cutoff is None:
        if not 0 < ratio < 1:
            raise InputError(f"ratio {ratio} must lie strictly between 0 and 1")
        ordered = np.sort(frame[TS].to_numpy())
        cutoff = ordered[min(int(len(ordered) * ratio), len(ordered) - 1)]
    before = (frame[TS] < cutoff).to_numpy()
    return Split(frame[before], frame[~before])


def cold_item_split(frame: pd.DataFrame, n_items: int | None = None, share: float = 0.2, seed: int = 0,
                    items: np.ndarray | None = None) -> Split:
    """Hold out whole items: all interactions with the chosen items go to test, none stays in training.

    Choose ``items`` explicitly, or ``n_items`` (else ``share`` of the items) at random with ``seed``.
    """
    _require(frame, (ITEM,), "cold-item split")
    catalogue = np.sort(frame[ITEM].unique())
    if items is None:
        count = n_items if n_items is not None else max(1, round(share * len(catalogue)))
        if not 0 < count < len(catalogue):
            raise InputError(f"cannot hold out {count} of {len(catalogue)} items")
        items = np.random.default_rng(seed).choice(catalogue, size=count, replace=False)
    cold = frame[ITEM].isin(items).to_numpy()
    return Split(frame[~cold], frame[cold])
