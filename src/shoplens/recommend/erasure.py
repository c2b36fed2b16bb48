"""Erasing a customer from saved recommenders: every version in the registry (not only the deployed one) has
the customer's history, factors and sequences removed, so that the customer gets the answer of an unknown
one (popular products). Scored top-k lists are rows of a warehouse table and go with the derived tables."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from shoplens._files import replace_folder
from shoplens.data.erasure import Cleaned, Erasure, cleaner, relative
from shoplens.recommend.persist import ARRAYS_FILE, MODEL_FILE, is_saved_model, load_model, write_model_files


@cleaner("files", "recommenders")
def scrub_recommenders(erasure: Erasure) -> list[Cleaned]:
    done = []
    for folder in sorted(p for p in erasure.ws.dir("models").glob("*/*") if p.is_dir() and is_saved_model(p)):
        model = load_model(folder)
        removed = model.forget_users(sorted(erasure.subject.customer_ids))
        if removed:
            _rewrite(folder, model, removed)
            done.append(Cleaned(relative(erasure.ws, folder), "scrubbed", removed))
    return done


def _rewrite(folder: Path, model: object, removed: int) -> None:
    """The version folder again, with the scrubbed model and a line in its card saying so."""
    def fill(staging: Path) -> None:
        for item in folder.iterdir():
            if item.name not in (MODEL_FILE, ARRAYS_FILE):
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, staging / item.name)
        write_model_files(model, staging)  # type: ignore[arg-type]
        card_file = staging / "card.json"
        if card_file.exists():
            card = json.loads(card_file.read_text(encoding="utf-8"))
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            card["notes"] = (card.get("notes", "") + f"\nerasure {stamp}: {removed} customer(s) removed from the "
                             "histories; item weights unchanged").strip()
            card_file.write_text(json.dumps(card, indent=2), encoding="utf-8")

    replace_folder(folder, fill)
