"""UCI Online Shoppers Purchasing Intention → session_features (one row per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoplens.data.datasets._common import DatasetInfo, Part, Reports, expect_columns, ingest_frame, locate
from shoplens.errors import InputError
from shoplens.workspace import Workspace

FILES = ("online_shoppers_intention.csv",)
OUTCOME = "Revenue"

INFO = DatasetInfo(
    name="online_shoppers_intention",
    description="12,330 sessions of an online shop over one year: page counts and durations by page type, "
                "Google Analytics bounce and exit rates, page value, month, visitor type and whether the "
                "session ended in a purchase",
    url="https://archive.ics.uci.edu/dataset/468/online+shoppers+purchasing+intention+dataset",
    licence="CC BY 4.0 (UCI Machine Learning Repository); cite Sakar et al. (2019)",
    parts=(
        Part("sessions", "session_features", FILES[0], 12_330,
             "Revenue → purchased; the 17 other columns → features (numbers and booleans typed); "
             "session_id from the file position"),
    ),
    notes="No session ids, customers or dates (only the month, in features). 14 sessions lack the eight page "
          "count and duration fields (null in features). 119 rows repeat an earlier row exactly (sessions with "
          "identical aggregates): all are kept.",
)


def load(ws: Workspace, path: str | Path, *, progress: bool = False) -> Reports:
    source = locate(path, INFO.name, FILES)
    try:  # typed, so that the features JSON holds numbers and booleans (a model reads them as they are)
        sessions = pd.read_csv(source, true_values=["TRUE", "True"], false_values=["FALSE", "False"],
                               dtype_backend="numpy_nullable")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the file ({str(exc)[:200]})", file=str(source)) from None
    expect_columns(sessions, [OUTCOME], source)
    return {"sessions": ingest_frame(ws, "session_features", sessions, source, progress=progress,
                                     mapping={OUTCOME: "purchased"})}
