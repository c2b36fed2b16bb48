"""The command line of a benchmark made of parts (``benchmarks/<name>.py`` with ``benchmarks/_<name>_<part>.py``
modules, or another prefix, each defining ``run() -> (records, gates)`` where a gate is ``(description, met,
detail)``)."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

from shoplens.evaluation.records import write_results


def run_parts(benchmark: str, parts: tuple[str, ...], description: str | None, argv: list[str] | None = None, *,
              prefix: str | None = None, default: tuple[str, ...] | None = None) -> int:
    """Run the named parts (default: ``default``, else all), merge each part's records into
    ``benchmarks/results/<benchmark>.json`` as it finishes, print the gates; the exit status is 1 when a gate is
    not met. A part lives in the module ``<prefix><part>`` (default prefix ``_<benchmark>_``)."""
    default = default or parts
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help=f"parts to run (of {', '.join(parts)}; default {', '.join(default)})")
    parser.add_argument("--output", type=Path, help=f"results file (default benchmarks/results/{benchmark}.json)")
    args = parser.parse_args(argv)
    names = args.parts or list(default)
    unknown = [n for n in names if n not in parts]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; parts are {', '.join(parts)}")
    gates = []
    for name in names:
        started = time.perf_counter()
        records, part_gates = importlib.import_module(f"{prefix or f'_{benchmark}_'}{name}").run()
        path = write_results(benchmark, records, args.output)
        gates += part_gates
        print(f"{name}: {len(records)} records → {path} in {time.perf_counter() - started:.0f} s", flush=True)
    print(json.dumps({"gates": [{"gate": g[0], "met": g[1], "detail": g[2]} for g in gates]}, indent=2,
                     ensure_ascii=False))
    return 1 if any(not g[1] for g in gates) else 0
