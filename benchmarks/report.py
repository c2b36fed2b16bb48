"""Generate BENCHMARKS.md from benchmarks/results/*.json (see shoplens.evaluation.report).

    python benchmarks/report.py            # writes BENCHMARKS.md at the project root
    python benchmarks/report.py --check    # exit 1 when BENCHMARKS.md is out of date
"""

from __future__ import annotations

import sys

from shoplens.evaluation.report import main

if __name__ == "__main__":
    sys.exit(main())
