"""The house's structure (docs/contributing.md): the import contract holds and no module imports itself round
a circle, so a new circle or an import across layers fails the suite, not a later review."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml")], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_no_import_circles() -> None:
    graph = grimp.build_graph("shoplens", exclude_type_checking_imports=True)
    edges = nx.DiGraph((module, imported) for module in graph.modules
                       for imported in graph.find_modules_directly_imported_by(module))
    circles = [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1]
    assert circles == []


def test_a_circle_would_be_found() -> None:
    # the check above can fail: the same search finds a circle in a graph that has one
    edges = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1] == [["a", "b", "c"]]
