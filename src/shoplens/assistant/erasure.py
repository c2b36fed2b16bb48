"""Erasing a customer from the assistant: the trained model holds the sentences of their reviews as evidence
passages (text, vectors, index), and the order look-up audit names them by pseudonym.

- ``files``: the model folder is removed when it holds one of the customer's reviews (its passages, vectors,
  index and sample answers are all derived from the warehouse); the customer's lines leave the audit log.
- ``after``: the assistant is trained again from the cleaned warehouse, so the service keeps answering. If training
  fails, the model stays removed and the report says so (``shoplens assistant train`` rebuilds it).
"""

from __future__ import annotations

import json
import logging
import shutil

import pandas as pd

from shoplens.data.erasure import Cleaned, Erasure, cleaner, relative

_REMOVED: set[str] = set()  # workspaces whose model the files stage removed, for the after stage to retrain


@cleaner("files", "assistant model")
def remove_model(erasure: Erasure) -> list[Cleaned]:
    from shoplens.assistant.api import is_trained, model_folder

    ws, subject = erasure.ws, erasure.subject
    folder = model_folder(ws)
    if not is_trained(ws) or not subject.review_ids:
        return []
    passages = folder / "retriever" / "passages.parquet"
    ids = pd.read_parquet(passages, columns=["evidence_id"])["evidence_id"] if passages.exists() else pd.Series([])
    reviews = ids[ids.str.startswith("review:")].str.slice(len("review:")).str.rsplit("#", n=1).str[0]
    if not reviews.isin(subject.review_ids).any() and passages.exists():
        return []
    shutil.rmtree(folder)
    _REMOVED.add(str(ws.path))
    return [Cleaned(relative(ws, folder), "removed", 1)]


@cleaner("files", "assistant audit")
def scrub_audit(erasure: Erasure) -> list[Cleaned]:
    from shoplens.assistant.orders import AUDIT_FILE

    path = erasure.ws.path / "logs" / AUDIT_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.strip() or json.loads(line).get("customer")
            not in erasure.subject.customer_ids]
    if len(kept) == len(lines):
        return []
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    return [Cleaned(relative(erasure.ws, path), "removed lines", len(lines) - len(kept))]


@cleaner("after", "assistant retraining")
def retrain(erasure: Erasure) -> list[Cleaned]:
    from shoplens.assistant import api
    from shoplens.errors import ShoplensError

    if str(erasure.ws.path) not in _REMOVED:
        return []
    _REMOVED.discard(str(erasure.ws.path))
    try:
        api.train(erasure.ws)
    except ShoplensError as error:  # e.g. nothing left to answer from: it stays removed, as the files stage said
        logging.getLogger(__name__).warning("the assistant was not trained again after the erasure: %s", error)
        return []
    return [Cleaned(relative(erasure.ws, api.model_folder(erasure.ws)), "rebuilt", 1)]
