"""Which source column feeds which canonical column.

A canonical column takes, in order: the source column the user mapped to it (``--map src=canonical``),
the source column with the canonical name, the first source column named by one of its synonyms.
Every other source column goes into the table's JSON extras column (``attributes``, ``properties``,
``features``) or, for tables without one, is listed as ignored in the ingest report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shoplens.errors import InputError
from shoplens.schema import Table

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalize(name: str) -> str:
    """``'Review Text'`` → ``'review_text'``, ``'reviewerID'`` → ``'reviewer_id'``: words split at spaces,
    punctuation and camelCase humps, lower case, joined by one ``_``."""
    return _NON_ALNUM.sub("_", _CAMEL.sub("_", name.strip().lstrip("\ufeff")).lower()).strip("_")


@dataclass
class Mapping:
    assign: dict[str, str] = field(default_factory=dict)  # canonical column -> source column
    extras: list[str] = field(default_factory=list)  # source columns kept in the extras JSON column
    ignored: list[str] = field(default_factory=list)  # source columns dropped (no extras column, or mapped to "")


def parse_map_options(options: list[str] | None) -> dict[str, str]:
    """``["Invoice=order_id", "Notes="]`` → ``{"Invoice": "order_id", "Notes": ""}`` (empty = drop)."""
    result: dict[str, str] = {}
    for option in options or []:
        if "=" not in option:
            raise InputError(f"--map {option!r}: expected SOURCE=CANONICAL (e.g. --map 'Invoice No=order_id')")
        source, canonical = option.split("=", 1)
        result[source.strip()] = canonical.strip()
    return result


def resolve(table: Table, source_columns: list[str], explicit: dict[str, str] | None = None, *,
            file: str | None = None, require_explicit_present: bool = True) -> Mapping:
    """The mapping for one source schema; errors name the file and the offending column."""
    explicit = explicit or {}
    canonical_names = set(table.column_names)
    by_normalized = {normalize(c): c for c in source_columns}
    mapping = Mapping()
    taken: set[str] = set()
    for source, canonical in explicit.items():
        actual = source if source in source_columns else by_normalized.get(normalize(source))
        if actual is None:
            if require_explicit_present:
                raise InputError(f"--map names column {source!r}, which the file does not have; columns are: "
                                 f"{', '.join(source_columns)}", file=file, column=source)
            continue
        if canonical == "":
            mapping.ignored.append(actual)
        elif canonical not in canonical_names:
            raise InputError(f"--map {source}={canonical}: table {table.name!r} has no column {canonical!r}; "
                             f"columns are: {', '.join(table.column_names)}", file=file)
        else:
            mapping.assign[canonical] = actual
        taken.add(actual)
    for column in table.columns:
        if column.name in mapping.assign:
            continue
        exact = by_normalized.get(column.name)
        if exact is not None and exact not in taken:
            mapping.assign[column.name] = exact
            taken.add(exact)
    for column in table.columns:
        if column.name in mapping.assign or column.kind == "json":
            continue
        for synonym in column.synonyms:
            candidate = by_normalized.get(synonym)
            if candidate is not None and candidate not in taken:
                mapping.assign[column.name] = candidate
                taken.add(candidate)
                break
    for source in source_columns:
        if source in taken:
            continue
        (mapping.extras if table.extras_column else mapping.ignored).append(source)
    return mapping


def missing_keys(table: Table, mapping: Mapping) -> list[str]:
    """Key columns the source does not provide."""
    return [k for k in table.key if k not in mapping.assign]


def synthesized_keys(table: Table, mapping: Mapping, *, file: str | None = None) -> list[str]:
    """Key columns ingest derives itself; a clear error when a key is missing and cannot be derived.

    Single-column keys of key-less tables (events, reviews, qa, session features) come from the file hash
    and record number; ``order_items.line_no`` is the position of the line within its order.
    """
    missing = missing_keys(table, mapping)
    if not missing:
        return []
    derivable = table.synthesizable_key and (
        len(table.key) == 1 or (table.name == "order_items" and missing == ["line_no"]))
    if not derivable:
        raise InputError(
            f"missing key column {missing[0]!r} for table {table.name!r} (map one with --map SOURCE={missing[0]})",
            file=file, column=missing[0])
    return missing
