"""Metrics, protocols and benchmark records shared by every capability (DESIGN.md, "Benchmark records").

``records``: the record schema, protocol labels, results files. ``measure``: medians of timed runs and
peak memory. ``report``: BENCHMARKS.md from the results files.
"""

from __future__ import annotations

from shoplens.evaluation.measure import PeakMemory, Timing, peak_rss_mb, ratio, timed
from shoplens.evaluation.records import (
    BenchmarkRecord,
    Protocol,
    Role,
    cpu_model,
    git_commit,
    load_all_results,
    load_results,
    now_iso,
    write_results,
)

__all__ = [
    "BenchmarkRecord",
    "PeakMemory",
    "Protocol",
    "Role",
    "Timing",
    "cpu_model",
    "git_commit",
    "load_all_results",
    "load_results",
    "now_iso",
    "peak_rss_mb",
    "ratio",
    "timed",
    "write_results",
]
