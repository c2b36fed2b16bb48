"""Pseudonymization at ingest and erasure of a customer ("right to be forgotten").

- Identifier columns that may hold personal data (``customer_id``) are replaced by a keyed hash when a
  value looks like an e-mail address or phone number; the same input always gives the same pseudonym,
  so joins across tables still work.
- Extra source columns whose names say they hold a name, e-mail, phone, address or birth date are
  always pseudonymized (customers, orders, events, reviews, qa, session features).
- E-mail addresses and phone numbers inside free text are masked (``[email]``, ``[phone]``).
- The keyed hash is ``'p_' || hex(SHA-256(k2 || hex(SHA-256(k1 || value))))[:20]`` with two secret 256-bit
  keys stored in ``secrets/pii.key`` (outside the warehouse); the nested construction resists the
  length-extension attack a single keyed SHA-256 would allow.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    pass

# RE2 (DuckDB) and Python re share this syntax.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = (
    r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]?\d{3,4}"
    r"|\b1[3-9]\d{9}\b"  # mainland China mobile numbers
)
EMAIL_RE = re.compile(EMAIL_PATTERN)
PHONE_RE = re.compile(PHONE_PATTERN)

# Source column names that hold personal data whatever their values look like.
# Names are personal only when the column says whose: ``reviewer_name`` is, ``product_name`` is not.
PII_NAME_RE = re.compile(
    r"^name$|(?:^|_)(?:e_?mail|email_address|phone|phone_number|mobile|tel|telephone|"
    r"(?:first|last|full|middle|customer|reviewer|buyer|contact|recipient|sender|user|account|billing|"
    r"shipping)_name|username|user_name|nickname|surname|address|street|addr|postcode|zip|zipcode|"
    r"postal_code|ip|ip_address|birth|birthday|dob|date_of_birth|ssn)(?:$|_)"
)
PII_NAME_TABLES = {"customers", "orders", "events", "reviews", "qa", "session_features", "ratings"}

PSEUDONYM_PREFIX = "p_"


def is_pii_column_name(table: str, normalized_name: str) -> bool:
    """Whether an extra source column of ``table`` is personal data by its name alone."""
    return table in PII_NAME_TABLES and bool(PII_NAME_RE.search(normalized_name))


def pseudonym(value: str, keys: tuple[str, str]) -> str:
    """The keyed-hash pseudonym of ``value`` (the Python twin of :func:`pseudonym_sql`)."""
    inner = hashlib.sha256((keys[0] + value).encode("utf-8")).hexdigest()
    return PSEUDONYM_PREFIX + hashlib.sha256((keys[1] + inner).encode("utf-8")).hexdigest()[:20]


def looks_personal(value: str) -> bool:
    """Whether a whole identifier value is an e-mail address or a phone number."""
    value = value.strip()
    return bool(EMAIL_RE.fullmatch(value) or PHONE_RE.fullmatch(value))


def mask_text(text: str, keys: tuple[str, str] | None = None) -> str:
    """Mask e-mail addresses and phone numbers in free text (with pseudonyms when keys are given)."""
    if keys is None:
        return PHONE_RE.sub("[phone]", EMAIL_RE.sub("[email]", text))
    def hashed(match: re.Match[str]) -> str:
        return pseudonym(match.group(0), keys)
    return PHONE_RE.sub(hashed, EMAIL_RE.sub(hashed, text))


def bind_keys(con: duckdb.DuckDBPyConnection, keys: tuple[str, str]) -> None:
    """Make the keys available to :func:`pseudonym_sql` as session variables (never in SQL text)."""
    con.execute("SET VARIABLE shoplens_pii_k1 = ?", [keys[0]])
    con.execute("SET VARIABLE shoplens_pii_k2 = ?", [keys[1]])


def pseudonym_sql(expr: str) -> str:
    """SQL for the pseudonym of a VARCHAR expression (requires :func:`bind_keys` on the connection)."""
    return (f"('{PSEUDONYM_PREFIX}' || left(sha256(getvariable('shoplens_pii_k2') || "
            f"sha256(getvariable('shoplens_pii_k1') || {expr})), 20))")


def looks_personal_sql(expr: str) -> str:
    return (f"(regexp_full_match(trim({expr}), '{EMAIL_PATTERN}') OR "
            f"regexp_full_match(trim({expr}), '{_sql_escape(PHONE_PATTERN)}'))")


def personal_id_sql(expr: str) -> str:
    """An identifier, pseudonymized when the value is an e-mail address or phone number."""
    return f"(CASE WHEN {looks_personal_sql(expr)} THEN {pseudonym_sql(f'trim({expr})')} ELSE {expr} END)"


def mask_text_sql(expr: str) -> str:
    """Free text with e-mail addresses and phone numbers replaced by ``[email]`` and ``[phone]``."""
    return (f"regexp_replace(regexp_replace({expr}, '{EMAIL_PATTERN}', '[email]', 'g'), "
            f"'{_sql_escape(PHONE_PATTERN)}', '[phone]', 'g')")


def _sql_escape(text: str) -> str:
    return text.replace("'", "''")
