"""Amazon question answering data (McAuley), Appliances → qa (product Q&A)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import RESEARCH_ONLY, DatasetInfo, Part, Reports, ingest_frame, locate, read_records
from shoplens.workspace import Workspace

FILES = ("qa_Appliances_dev.json.gz", "qa_Appliances.json.gz")
SOURCE = "product_qa"

INFO = DatasetInfo(
    name="amazon_qa",
    description="Questions asked on Amazon product pages (Appliances) with an answer each; yes/no and "
                "open-ended questions (the dev part of a split by product)",
    url="https://cseweb.ucsd.edu/~jmcauley/datasets.html#qa (Wan & McAuley, ICDM 2016; McAuley & Yang, WWW 2016)",
    licence=f"Amazon question/answer data (McAuley lab): {RESEARCH_ONLY}",
    parts=(
        Part("qa", "qa", FILES[0], 7_362,
             "asin → product_id, question → question, answer → answer, source 'product_qa'; qa_id from the "
             "file position"),
    ),
    notes="gzip, one Python-literal dict per line (single quotes: not JSON), parsed with ast.literal_eval. "
          "questionType (yes/no, open-ended), answerType (Y, N, ? on 3,821 yes/no questions), answerTime and "
          "unixTime (missing on 336) are not kept: qa has no extras column. A line that is not a literal stops "
          "the load with its line number (the published files have none).",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    records = pd.DataFrame(read_records(source, parse=ast.literal_eval))
    qa = pd.DataFrame({name: records.get(name) for name in ("asin", "question", "answer")})
    qa = qa.rename(columns={"asin": "product_id"}).assign(source=SOURCE)
    return {"qa": ingest_frame(ws, "qa", qa, source, progress=progress)}
