"""The tables of docs/datasets.md that come from the catalogue: the list of loaders and, per dataset, what maps
where. After editing catalog.toml, rewrite them (a test checks that the docs say what the catalogue says):

    python -m shoplens.data.datasets._docs docs/datasets.md
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from shoplens.data.datasets._common import DatasetInfo

BEGIN = ("<!-- generated from src/shoplens/data/datasets/catalog.toml by "
         "`python -m shoplens.data.datasets._docs docs/datasets.md`: edit the catalogue, not this text -->")
END = "<!-- end of the generated text -->"


def _fills(info: DatasetInfo) -> str:
    """``products 95, orders 9,531``; a part whose key is not its table says both: ``events (views) 12,391``."""
    names = [(p.table if p.key == p.table else f"{p.table} ({p.key})", p.rows) for p in info.parts]
    return ", ".join(name if rows is None else f"{name} {rows:,}" for name, rows in names)


def loaders_table(infos: Sequence[DatasetInfo]) -> str:
    lines = ["| dataset | fills (rows read) | terms |", "|---|---|---|"]
    lines += [f"| [`{i.name}`](#{i.name}) | {_fills(i)} | {i.licence.split('; ')[0]} |" for i in infos]
    return "\n".join(lines)


def dataset_section(info: DatasetInfo) -> str:
    lines = [f"### {info.name}", "", f"{info.description}.  ", f"Source: {info.url}.  ", f"Terms: {info.licence}.",
             "", "| report | table | file | rows read | what maps where |", "|---|---|---|---:|---|"]
    lines += [f"| `{p.key}` | {p.table} | `{p.file}` | {'your copy' if p.rows is None else f'{p.rows:,}'} | {p.maps} |"
              for p in info.parts]
    return "\n".join([*lines, "", info.notes])


def render(infos: Sequence[DatasetInfo]) -> str:
    """The generated text between the markers."""
    sections = "\n\n".join(dataset_section(i) for i in infos)
    return f"{loaders_table(infos)}\n\n## What maps where\n\n{sections}"


def generated_part(text: str) -> str:
    """The text between the markers of a docs page ('' when it has none)."""
    if BEGIN not in text or END not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def rewrite(path: Path, infos: Sequence[DatasetInfo]) -> None:
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no markers {BEGIN!r} … {END!r} to write between")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{BEGIN}\n{render(infos)}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    from shoplens.data.datasets import list_datasets

    rewrite(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/datasets.md"), list_datasets())
