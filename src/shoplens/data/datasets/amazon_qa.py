"""Amazon question answering data (McAuley), Appliances → qa (product Q&A)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import RESEARCH_ONLY, DatasetInfo, Part, Reports, ingest_frame, locate, read_records
from shoplens.workspace import Workspace

FILES = ("qa_Appliances_dev.json.gz", "qa_Appliances.json.gz")
SOURCE = "product_qa"
# Kept in qa.attributes under their source names (answerType is the label of yes/no answer prediction).
ATTRIBUTE_FIELDS = ("questionType", "answerType", "answerTime", "unixTime")

INFO = DatasetInfo(
    name="amazon_qa",
    description="Questions asked on Amazon product pages (Appliances) with an answer each; yes/no and "
                "open-ended questions (the dev part of a split by product)",
    url="https://cseweb.ucsd.edu/~jmcauley/datasets.html#qa (Wan & McAuley, ICDM 2016; McAuley & Yang, WWW 2016)",
    licence=f"Amazon question/answer data (McAuley lab): {RESEARCH_ONLY}",
    parts=(
        Part("qa", "qa", FILES[0], 7_362,
             "asin → product_id, question → question, answer → answer, source 'product_qa'; questionType, "
             "answerType, answerTime, unixTime → attributes (source names); qa_id from the file position"),
    ),
    notes="gzip, one Python-literal dict per line (single quotes: not JSON), parsed with ast.literal_eval. "
          "attributes.questionType is yes/no (3,821) or open-ended (3,541); attributes.answerType is given on "
          "the yes/no questions only: Y (1,357), N (491) or ? (1,973, undetermined) — the "
          "label for yes/no answer prediction. attributes.answerTime is the answer's date as written "
          "('Jun 27, 2014'); attributes.unixTime (an integer) is missing on 336. A line that is not a literal "
          "stops the load with its line number (the published files have none).",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    records = pd.DataFrame(read_records(source, parse=ast.literal_eval))
    qa = pd.DataFrame({name: records.get(name) for name in ("asin", "question", "answer", *ATTRIBUTE_FIELDS)})
    qa["unixTime"] = qa["unixTime"].astype("Int64")  # an integer in attributes, not 1403852400.0
    qa = qa.rename(columns={"asin": "product_id"}).assign(source=SOURCE)
    return {"qa": ingest_frame(ws, "qa", qa, source, progress=progress)}
