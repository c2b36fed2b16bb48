"""Amazon Beauty sequences as used by S3-Rec → products (attribute ids) + purchase events in sequence order."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    RESEARCH_ONLY,
    DatasetInfo,
    Part,
    Reports,
    folder_of,
    ingest_frame,
    json_text,
    numbered_lines,
    require,
)
from shoplens.errors import InputError
from shoplens.workspace import Workspace

SEQUENCES = ("Beauty.txt",)
ATTRIBUTES_SUFFIX = "_item2attributes.json"  # Beauty.txt → Beauty_item2attributes.json

INFO = DatasetInfo(
    name="s3rec_amazon_seq",
    description="Amazon Beauty review histories (5-core) turned into item sequences, with item attributes "
                "(brand and categories as ids), exactly as used by S3-Rec (CIKM 2020) and later papers",
    url="https://github.com/RUCAIBox/CIKM2020-S3Rec (data/Beauty.txt, Beauty_item2attributes.json)",
    licence=f"derived from the Amazon review data of McAuley et al.: {RESEARCH_ONLY}",
    parts=(
        Part("products", "products", "Beauty_item2attributes.json", 12_101,
             "item id → product_id, its attribute ids → attributes.attribute_ids"),
        Part("events", "events", SEQUENCES[0], 198_502,
             "one purchase event per (user, item, position): user → customer_id, item → product_id, "
             "1-based position in the user's history → properties.position; event_id from the file position"),
    ),
    notes="One user per line, 'user item1 item2 …' in time order, without timestamps (event_ts is empty; "
          "order by properties.position). The interactions are reviews, read as purchases. The other S3-Rec "
          "sets (Sports_and_Outdoors, Toys_and_Games, Yelp, LastFM) load the same way from a path to their .txt.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    given = Path(path).expanduser()
    sequences = given if given.is_file() else require(folder_of(path, INFO.name), INFO.name, SEQUENCES)
    attributes = require(sequences.parent, INFO.name, [sequences.stem + ATTRIBUTES_SUFFIX])
    products, events = _products(attributes), _events(sequences)
    return {
        "products": ingest_frame(ws, "products", products, attributes, progress=progress),
        "events": ingest_frame(ws, "events", events, sequences, progress=progress),
    }


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
