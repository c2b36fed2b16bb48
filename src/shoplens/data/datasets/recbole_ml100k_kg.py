"""RecBole's Freebase knowledge graph for MovieLens 100K → kg_triples (triples + item links)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import (
    RESEARCH_ONLY,
    DatasetInfo,
    Part,
    Reports,
    folder_of,
    ingest_frame,
    read_csv,
    require,
)
from shoplens.workspace import Workspace

KG, LINK = ("ml-100k.kg",), ("ml-100k.link",)
KG_COLUMNS = {"head_id:token": "head", "relation_id:token": "relation", "tail_id:token": "tail"}
SAME_AS = "same_as"  # relation of a link triple: MovieLens item → the Freebase entity it is

INFO = DatasetInfo(
    name="recbole_ml100k_kg",
    description="Freebase triples about the MovieLens 100K movies (actors, directors, genres, producers …) "
                "and the links from MovieLens item ids to Freebase entities, as packaged by RecBole (KB4Rec)",
    url="https://github.com/RUCAIBox/RecSysDatasets (knowledge-aware ml-100k); KB4Rec, Zhao et al. (2019)",
    licence=f"derived from MovieLens ({RESEARCH_ONLY}) and Freebase (CC BY 2.5)",
    parts=(
        Part("kg_triples", "kg_triples", KG[0], 91_631, "head_id → head, relation_id → relation, tail_id → tail"),
        Part("links", "kg_triples", LINK[0], 1_598,
             f"one triple per line: (item_id, '{SAME_AS}', entity_id), joining MovieLens products to entities"),
    ),
    notes="Tab-separated RecBole atomic files whose headers carry types ('head_id:token'). Item ids are "
          "MovieLens 100K's: load movielens_100k into the same workspace for the products, users and ratings "
          "(ml-100k.item repeats u.item's titles and genres and is not loaded). 84 of the 1,682 movies have "
          "no Freebase link.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    folder = folder_of(path, INFO.name)
    kg, link = require(folder, INFO.name, KG), require(folder, INFO.name, LINK)
    links = read_csv(link, ["item_id:token", "entity_id:token"], sep="\t")
    same_as = pd.DataFrame({"head": links["item_id:token"], "relation": SAME_AS, "tail": links["entity_id:token"]})
    return {
        "kg_triples": ws.ingest("kg_triples", kg, delimiter="\t", mapping=KG_COLUMNS, progress=progress),
        "links": ingest_frame(ws, "kg_triples", same_as, link, progress=progress),
    }
