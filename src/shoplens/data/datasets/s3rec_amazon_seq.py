"""Amazon Beauty sequences as used by S3-Rec → products (attribute ids) + purchase events in sequence order."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import Files, Frames, json_text, numbered_lines
from shoplens.errors import InputError


def build(files: Files) -> Frames:
    return {"products": _products(files["attributes"]), "events": _events(files["sequences"])}


def _products(attributes: Path) -> pd.DataFrame:
    try:
        by_item = json.loads(attributes.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({str(exc)[:120]})", file=str(attributes)) from None
    if not isinstance(by_item, dict):
        raise InputError("expected a JSON object mapping item ids to attribute id lists", file=str(attributes))
    return pd.DataFrame({"product_id": list(by_item),
                         "attributes": [json_text({"attribute_ids": ids}) for ids in by_item.values()]})


def _events(sequences: Path) -> pd.DataFrame:
    users, items, positions = [], [], []
    for _, line in numbered_lines(sequences):
        user, *history = line.split()
        users += [user] * len(history)
        items += history
        positions += range(1, len(history) + 1)
    return pd.DataFrame({"customer_id": users, "product_id": items, "event_type": "purchase",
                         "position": positions})
