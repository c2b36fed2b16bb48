"""SQL that parses source values into canonical types and says why a row fails.

For every canonical column fed by a source column, :func:`column_sql` returns a :class:`ColumnSql`:
the parsed value and the checks (SQL expressions that are NULL when the value is fine and a reason
otherwise). Parsing runs inside DuckDB on Arrow batches, so a 10-million-row file validates in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from shoplens.data import privacy
from shoplens.errors import InputError
from shoplens.schema import Column

# Timestamp formats tried on a sample of each string timestamp column; the one that parses the most
# values is used for the whole file (ties go to the earlier format; day-first formats come after
# month-first ones, as in US exports; pass ``ts_format`` when a file is day-first and ambiguous).
TIMESTAMP_FORMATS = (
    "iso", "epoch_s", "epoch_ms", "%Y%m%d", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%m %d, %Y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y",
    "%d-%b-%Y", "%d-%b-%y",
)
EARLIEST, LATEST = "1900-01-01", "2100-01-01"
MAX_TEXT_CHARS = 1_000_000  # a longer "review" or "title" is a broken export, not text
_STRING_TYPES = ("VARCHAR",)  # binary columns are decoded to text by the readers
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")


RAW, VALUE = "⟦raw⟧", "⟦value⟧"  # placeholders in checks, see ColumnSql.checks_for


@dataclass
class ColumnSql:
    value: str  # the parsed canonical value, an expression over the source column
    checks: list[str]  # each NULL when fine, else a reason; written with the RAW and VALUE placeholders

    def checks_for(self, raw_ref: str, value_ref: str) -> list[str]:
        """The checks, reading the source value from ``raw_ref`` and the parsed one from ``value_ref``."""
        return [c.replace(RAW, raw_ref).replace(VALUE, value_ref) for c in self.checks]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shown(raw: str) -> str:
    """A source value quoted for a reason, with e-mail addresses and phone numbers masked."""
    return f"""('"' || left({privacy.mask_text_sql(f'CAST({raw} AS VARCHAR)')}, 60) || '"')"""


def _base_type(duck_type: str) -> str:
    return duck_type.split("(")[0].upper()


def is_string_type(duck_type: str) -> bool:
    return _base_type(duck_type) in _STRING_TYPES


def _is_numeric(duck_type: str) -> bool:
    base = _base_type(duck_type)
    return base in _INTEGER_TYPES or base in _FLOAT_TYPES or base == "DECIMAL"


def _present(duck_type: str) -> str:
    """SQL: the source value is there (not NULL, and not blank for text)."""
    if is_string_type(duck_type):
        return f"(nullif(trim(CAST({RAW} AS VARCHAR)), '') IS NOT NULL)"
    return f"({RAW} IS NOT NULL)"


def _failed(column: Column, duck_type: str, what: str) -> str:
    # the cheap test first: a CASE condition stops at the first false conjunct, and few values fail
    return (f"CASE WHEN {VALUE} IS NULL AND {_present(duck_type)} THEN "
            f"{literal(column.name + ': not ' + what + ' ')} || {_shown(RAW)} END")


def _range_checks(column: Column) -> list[str]:
    checks = []
    for bound, op, word in ((column.min, "<", "below the minimum"), (column.max, ">", "above the maximum")):
        if bound is not None:
            checks.append(f"CASE WHEN {VALUE} {op} {bound:g} THEN {literal(column.name + ': ')} || "
                          f"CAST({VALUE} AS VARCHAR) || {literal(f' is {word} {bound:g}')} END")
    return checks


def check_ts_format(fmt: str) -> str:
    """``fmt`` when it is a named format (``iso``, ``epoch_s``, ``epoch_ms``) or one DuckDB's strptime reads."""
    if fmt in ("iso", "epoch_s", "epoch_ms"):
        return fmt
    with duckdb.connect() as con:
        try:
            con.execute("SELECT try_strptime('2000-01-01', ?)", [fmt])
        except duckdb.Error as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise InputError(f"ts_format {fmt!r} is not a strptime format ({reason}); e.g. '%d/%m/%Y %H:%M'") from None
    return fmt


def timestamp_sql(text: str, fmt: str, tz: str) -> str:
    """Parse a string in format ``fmt`` (see :data:`TIMESTAMP_FORMATS`) to naive UTC."""
    def local_to_utc(naive: str) -> str:
        return naive if tz == "UTC" else f"timezone('UTC', timezone({literal(tz)}, {naive}))"

    if fmt == "iso":
        return (f"CASE WHEN regexp_matches({text}, '(?i)(z|[+-][0-9][0-9]:?[0-9][0-9])$') "
                f"THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) "
                f"ELSE {local_to_utc(f'TRY_CAST({text} AS TIMESTAMP)')} END")
    if fmt == "epoch_s":
        return (f"CASE WHEN regexp_full_match({text}, '[0-9]{{9,10}}([.][0-9]+)?') "
                f"THEN timezone('UTC', to_timestamp(TRY_CAST({text} AS DOUBLE))) END")
    if fmt == "epoch_ms":
        return (f"CASE WHEN regexp_full_match({text}, '[0-9]{{12,13}}') "
                f"THEN timezone('UTC', to_timestamp(TRY_CAST({text} AS DOUBLE) / 1000)) END")
    return local_to_utc(f"try_strptime({text}, {literal(fmt)})")


def native_timestamp_sql(raw: str, duck_type: str, tz: str) -> str:
    """A typed source column (timestamp, date, epoch number) to naive UTC."""
    base = _base_type(duck_type)
    if "WITH TIME ZONE" in duck_type.upper() or base == "TIMESTAMPTZ":
        return f"timezone('UTC', {raw})"
    if _is_numeric(duck_type):
        seconds = f"(CASE WHEN abs({raw}) >= 1e11 THEN {raw} / 1000 ELSE {raw} END)"
        return f"timezone('UTC', to_timestamp(CAST({seconds} AS DOUBLE)))"
    naive = f"TRY_CAST({raw} AS TIMESTAMP)"
    return naive if tz == "UTC" else f"timezone('UTC', timezone({literal(tz)}, {naive}))"


def detect_timestamp_format(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    """The format in :data:`TIMESTAMP_FORMATS` that parses the most non-empty values of a sample."""
    raw = quote(column)
    sample = f"(SELECT trim({raw}) AS v FROM {relation} WHERE nullif(trim({raw}), '') IS NOT NULL LIMIT 2000)"
    counts = con.execute("SELECT " + ", ".join(
        f"count({timestamp_sql('v', fmt, 'UTC')})" for fmt in TIMESTAMP_FORMATS) + f" FROM {sample}").fetchall()[0]
    best, best_count = "iso", -1
    for fmt, count in zip(TIMESTAMP_FORMATS, counts, strict=True):
        if count > best_count:
            best, best_count = fmt, count
    return best


def column_sql(column: Column, raw: str, duck_type: str, *, tz: str, ts_format: str | None = None,
               personal: bool = True) -> ColumnSql:
    """Parsed value and checks for one canonical column fed by the source expression ``raw``."""
    is_string = is_string_type(duck_type)
    text = _text(raw) if is_string else raw
    kind = column.kind
    if kind == "id":
        value = text if is_string else _number_as_id(raw, duck_type)
        if column.pii and personal:
            value = privacy.personal_id_sql(value)
        return ColumnSql(value, [])
    if kind == "text":
        value = f"nullif(CAST({raw} AS VARCHAR), '')"
        if column.free_text and personal:
            value = privacy.mask_text_sql(value)
        too_long = (f"CASE WHEN length({RAW}) > {MAX_TEXT_CHARS} THEN {literal(column.name + ': ')} || "
                    f"CAST(length({RAW}) AS VARCHAR) || "
                    f"{literal(f' characters, more than the limit of {MAX_TEXT_CHARS}')} END")
        return ColumnSql(value, [too_long])
    if kind == "category":
        value = text if is_string else f"CAST({raw} AS VARCHAR)"
        if not column.choices:
            return ColumnSql(value, [])
        lowered = f"lower({value})"
        if column.aliases:
            cases = " ".join(f"WHEN {literal(src)} THEN {literal(dst)}" for src, dst in column.aliases)
            lowered = f"(CASE {lowered} {cases} ELSE {lowered} END)"
        allowed = ", ".join(literal(c) for c in column.choices)
        return ColumnSql(f"(CASE WHEN {lowered} IN ({allowed}) THEN {lowered} END)",
                         [_failed(column, duck_type, "one of " + ", ".join(column.choices))])
    if kind == "timestamp":
        fmt = ts_format or "iso"
        parsed = timestamp_sql(text, fmt, tz) if is_string else native_timestamp_sql(raw, duck_type, tz)
        value = f"(CASE WHEN {parsed} BETWEEN TIMESTAMP '{EARLIEST}' AND TIMESTAMP '{LATEST}' THEN {parsed} END)"
        what = f"a timestamp between {EARLIEST[:4]} and {LATEST[:4]}"
        if is_string and fmt != "iso":
            what += f" in the format {fmt}"
        return ColumnSql(value, [_failed(column, duck_type, what)])
    if kind in ("money", "price"):
        value = _number(raw, column.sql_type) if is_string else f"TRY_CAST({raw} AS {column.sql_type})"
        return ColumnSql(value, [_failed(column, duck_type, "an amount"), *_range_checks(column)])
    if kind == "int":
        if _base_type(duck_type) == "BOOLEAN":
            return ColumnSql(f"CAST({raw} AS BIGINT)", _range_checks(column))
        number = _number(raw, "DOUBLE") if is_string else f"TRY_CAST({raw} AS DOUBLE)"
        value = f"(CASE WHEN {number} = round({number}) AND abs({number}) < 9e15 THEN CAST({number} AS BIGINT) END)"
        return ColumnSql(value, [_failed(column, duck_type, "a whole number"), *_range_checks(column)])
    if kind == "float":
        number = _number(raw, "DOUBLE") if is_string else f"TRY_CAST({raw} AS DOUBLE)"
        value = f"(CASE WHEN isfinite({number}) THEN {number} END)"
        return ColumnSql(value, [_failed(column, duck_type, "a number"), *_range_checks(column)])
    if kind == "bool":
        if is_string:
            value = (f"(CASE WHEN lower({text}) IN ('true', 't', 'yes', 'y', '1', '1.0') THEN TRUE "
                     f"WHEN lower({text}) IN ('false', 'f', 'no', 'n', '0', '0.0') THEN FALSE END)")
        elif _is_numeric(duck_type):
            value = f"({raw} <> 0)"
        else:
            value = f"TRY_CAST({raw} AS BOOLEAN)"
        return ColumnSql(value, [_failed(column, duck_type, "true/false")])
    if kind == "json":
        value = f"TRY_CAST({text} AS JSON)" if is_string else f"to_json({raw})"
        return ColumnSql(value, [_failed(column, duck_type, "valid JSON")])
    raise AssertionError(f"unhandled kind {kind}")


def _number_as_id(raw: str, duck_type: str) -> str:
    """Numeric ids as text, without a trailing ``.0`` when a float column holds whole numbers."""
    if _base_type(duck_type) in _FLOAT_TYPES:
        return (f"(CASE WHEN {raw} = round({raw}) THEN CAST(CAST({raw} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({raw} AS VARCHAR) END)")
    return f"CAST({raw} AS VARCHAR)"


def _text(raw: str) -> str:
    """SQL: a source value as trimmed text, NULL when blank."""
    return f"nullif(trim(CAST({raw} AS VARCHAR)), '')"


def _number(raw: str, sql_type: str) -> str:
    """A number from the text ``raw``: a plain cast first; only values it fails on are trimmed, then cleaned
    (see _clean_number).

    DuckDB's casts skip surrounding whitespace themselves, so a value that casts as it is gives the number its
    trimmed text would, without the cost of trimming every value (trim also removes Unicode spaces such as
    U+00A0, which the cast refuses: those values take the second branch). CASEs, not coalesce: DuckDB evaluates
    every argument of coalesce for every row, so the regular expressions of the cleaning ran on all values; a
    CASE branch runs only for the rows that reach it."""
    text = _text(raw)
    direct, cast = f"TRY_CAST(CAST({raw} AS VARCHAR) AS {sql_type})", f"TRY_CAST({text} AS {sql_type})"
    return (f"(CASE WHEN {direct} IS NOT NULL THEN {direct} WHEN {cast} IS NOT NULL THEN {cast} "
            f"ELSE TRY_CAST({_clean_number(text)} AS {sql_type}) END)")


def _clean_number(text: str) -> str:
    """Strip currency symbols, spaces and thousands separators: ``'$1,234.50'`` → ``'1234.50'``;
    a lone decimal comma (``'12,50'``) becomes a point."""
    no_symbols = f"regexp_replace({text}, '[$€£¥₹\\s]|^[A-Z]{{3}} ', '', 'g')"
    return (f"(CASE WHEN regexp_full_match({no_symbols}, '[-+]?[0-9]+,[0-9]{{1,2}}') "
            f"THEN replace({no_symbols}, ',', '.') "
            f"WHEN regexp_full_match({no_symbols}, '[-+]?[0-9]{{1,3}}(,[0-9]{{3}})+([.][0-9]+)?') "
            f"THEN replace({no_symbols}, ',', '') ELSE {no_symbols} END)")


def extras_sql(table_name: str, columns: list[tuple[str, str]], personal: bool = True, prefix: str = "") -> str:
    """JSON object of the unmapped source columns; personal data in them pseudonymized or masked.

    ``prefix`` is prepended to each column's reference (not to its key in the JSON object)."""
    from shoplens.data.mapping import normalize

    if not columns:
        return "NULL"
    parts = []
    for name, duck_type in columns:
        raw = quote(prefix + name)
        value = raw
        if personal and is_string_type(duck_type):
            if privacy.is_pii_column_name(table_name, normalize(name)):
                value = f"CASE WHEN {raw} IS NOT NULL THEN {privacy.pseudonym_sql(f'trim({raw})')} END"
            else:
                value = privacy.mask_text_sql(privacy.personal_id_sql(raw))
        parts.append(f"{literal(name)}, {value}")
    return f"json_object({', '.join(parts)})"


def quarantine_values_sql(table_name: str, columns: list[tuple[str, str]], personal: bool = True,
                          prefix: str = "") -> str:
    """The source values of a quarantined row as JSON text, personal data treated as in extras."""
    return f"CAST({extras_sql(table_name, columns, personal, prefix)} AS VARCHAR)" if columns else "'{}'"
