"""Run the benchmarks one after another, then regenerate BENCHMARKS.md (what `make bench` does).

    python benchmarks/run_all.py                 # every benchmarks/*.py script, at full size
    python benchmarks/run_all.py ingest          # only the named ones

Each script runs in its own process at full size and writes benchmarks/results/<name>.json. A script
that fails (a crash or a failed gate) does not stop the others; the exit status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"run_all", "report"}


def benchmark_scripts() -> dict[str, Path]:
    """Every benchmark script in benchmarks/, by name, in name order."""
    return {p.stem: p for p in sorted(HERE.glob("*.py")) if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")}


def run(script: Path) -> bool:
    print(f"== {script.stem}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
    print(f"== {script.stem}: {'ok' if done.returncode == 0 else f'FAILED (exit {done.returncode})'} "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    scripts = benchmark_scripts()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(scripts)})")
    names = parser.parse_args(argv).names or list(scripts)
    unknown = [n for n in names if n not in scripts]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(scripts)}")
    failed = [name for name in names if not run(scripts[name])]
    report = subprocess.run([sys.executable, str(HERE / "report.py")], cwd=HERE.parent, check=False)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed or report.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
