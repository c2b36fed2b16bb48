"""Erasing a customer from review results: their predictions and aspect mentions are rows with a ``review_id``
and go with the derived tables; the per-product and per-category aspect summaries quote mentions, so they are
recomputed from the mentions that remain."""

from __future__ import annotations

from shoplens.data.erasure import Cleaned, Erasure, cleaner
from shoplens.reviews.store import MENTIONS, SUMMARY, replace_table, summaries
from shoplens.workspace import has_table


@cleaner("warehouse", "review aspect summaries")
def recompute_summaries(erasure: Erasure) -> list[Cleaned]:
    con = erasure.con
    assert con is not None
    if not erasure.subject.review_ids or not (has_table(con, MENTIONS) and has_table(con, SUMMARY)):
        return []
    table = summaries(con.execute(f"SELECT * FROM {MENTIONS}").df())
    replace_table(con, SUMMARY, table)
    return [Cleaned(f"warehouse/{SUMMARY}", "recomputed", len(table))]
