"""Routers bind parameters and shape responses; the SQL lives in the capabilities' read modules and in
``serve/warehouse.py`` (issue 15). This test reads the routers' source and fails on SQL in a string literal
(docstrings and messages for people excepted) and on a call that runs SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROUTERS = Path(__file__).resolve().parents[2] / "src" / "shoplens" / "serve" / "routers"
# SQL keywords are written in capitals in this code base, so capitals anywhere are SQL; a string that starts with
# "select … from" is SQL in any case. Fragments count too: a bound condition ("segment = ?") or an ordering.
SQL_PATTERNS = (
    re.compile(r"\b(SELECT|WITH)\b.*\bFROM\b", re.S),
    re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\s", re.S),
    re.compile(r"^\s*select\s.*\sfrom\s", re.S | re.I),
    re.compile(r"\b(WHERE|ORDER BY|GROUP BY|LIMIT|OFFSET|ASC|DESC|UNION|JOIN)\b"),
    re.compile(r"[\w\")]\s*(=|<>|<=|>=|<|>|\bIN\b|\bLIKE\b)\s*\?"),
)
RUNS_SQL = frozenset({"execute", "executemany", "sql", "query"})  # DuckDB connection methods


def looks_like_sql(text: str) -> bool:
    return any(pattern.search(text) for pattern in SQL_PATTERNS)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (a module's, class's or function's first statement when it is a string)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _text(node: ast.JoinedStr) -> str:
    """An f-string with each placeholder as ``{}``."""
    return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)


def string_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal that is not a docstring; an f-string is one literal."""
    tree = ast.parse(source)
    docstrings, inside_fstrings = _docstrings(tree), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside_fstrings.update(id(part) for part in node.values)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            found.append((node.lineno, _text(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings | inside_fstrings:
            found.append((node.lineno, node.value))
    return sorted(found)


def sql_calls(source: str) -> list[tuple[int, str]]:
    """(line, method) of every call of a connection method that runs SQL (``con.execute(…)``, ``con.sql(…)``)."""
    return sorted((node.lineno, node.func.attr) for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in RUNS_SQL)


def sql_in(source: str) -> list[str]:
    literals = [f"{line}: {text!r}" for line, text in string_literals(source) if looks_like_sql(text)]
    calls = [f"{line}: .{method}(…)" for line, method in sql_calls(source)]
    return literals + calls


@pytest.mark.parametrize("path", sorted(ROUTERS.glob("*.py")), ids=lambda p: p.name)
def test_a_router_holds_no_sql(path: Path) -> None:
    found = sql_in(path.read_text(encoding="utf-8"))
    assert not found, f"SQL in {path.name} (move it to the capability's read module or serve/warehouse.py):\n" + \
        "\n".join(found)


def test_every_router_is_read() -> None:
    assert {"analytics.py", "forecast.py", "health.py", "pricing.py", "reviews.py"} <= \
        {p.name for p in ROUTERS.glob("*.py")}


SOURCE_WITH_SQL = '''
"""Reads the data FROM the warehouse: SELECT what you need."""
def rows(con, name, segment):
    """SELECT * FROM nowhere: a docstring is not SQL."""
    con.execute(f"SELECT * FROM {name} WHERE segment = ?", [segment])
    return "select count(*) from orders"
ORDER = "monetary DESC, customer_id"
WHERE = "segment = ?"
'''
SOURCE_WITHOUT_SQL = '''
"""Stored results FROM the warehouse, as JSON."""
def page(warehouse, name):
    """SELECT a result FROM the warehouse (a docstring)."""
    raise NotFound(f"no {name} yet: data from the warehouse, select a product from the list")
'''


def test_sql_is_found_and_messages_are_not() -> None:
    # the check above can fail: it finds each kind of SQL in a source that has it, and nothing in one that has none
    found = sql_in(SOURCE_WITH_SQL)
    assert [entry.split(":")[0] for entry in found] == ["5", "6", "7", "8", "5"]
    assert sql_in(SOURCE_WITHOUT_SQL) == []
