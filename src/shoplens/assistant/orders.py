"""Order look-ups for the authenticated customer only, audited, with no personal data in any log.

- Who asks is established outside the question: a **customer token** issued by the shop's key holder
  (:func:`issue_customer_token`, HMAC-signed with a secret kept in ``secrets/assistant.key``, with an expiry), or a
  customer id the service accepts only on an admin key. A question never names its customer.
- A look-up reads only that customer's orders (``WHERE customer_id = ?``): another customer's order is "not found",
  the same answer, wording and timing path as a missing one.
- Every look-up appends one line to ``logs/assistant-audit.jsonl``: time, the customer's pseudonym (the keyed hash
  of :mod:`shoplens.data.privacy`, never the id), the order reference asked for, the outcome and the channel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shoplens.data.privacy import looks_personal, pseudonym
from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

TOKEN_PREFIX = "sct_"  # shoplens customer token
AUDIT_FILE = "assistant-audit.jsonl"
DEFAULT_TOKEN_HOURS = 24.0
MAX_ITEMS_SHOWN = 10
# "order 1042", "order #O0000042", "order no. 1042", "订单1042", "订单号：1042", "#1042"
_ORDER_REF = re.compile(
    r"(?:order|ord|invoice|订单|單號|单号)\s*(?:number|no\.?|id|号|編號|编号)?\s*[:：#]?\s*#?\s*([A-Za-z]{0,3}-?\d{2,})"
    r"|#\s*([A-Za-z]{0,3}-?\d{2,})", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_AUDIT_LOCK = threading.Lock()


def order_references(question: str) -> list[str]:
    """The order numbers a question names, in order of appearance, without repeats."""
    refs = [a or b for a, b in _ORDER_REF.findall(question or "")]
    return list(dict.fromkeys(r.replace("-", "") for r in refs))


# -- customer tokens --------------------------------------------------------------------------------------
def _secret(ws: Workspace) -> bytes:
    path = ws.path / "secrets" / "assistant.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        path.chmod(0o600)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _sign(ws: Workspace, payload: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(_secret(ws), payload.encode(), hashlib.sha256).digest()[:24]).decode()


def issue_customer_token(ws: Workspace, customer_id: str, *, hours: float = DEFAULT_TOKEN_HOURS) -> str:
    """A token that lets one customer ask about their own orders for ``hours``; give it to that customer only."""
    customer_id = str(customer_id).strip()
    if not customer_id:
        raise InputError("a customer token needs a customer id")
    if not 0 < hours <= 24 * 366:
        raise InputError(f"token lifetime must be between 0 and 8,784 hours, not {hours}")
    expires = int(time.time() + hours * 3600)
    payload = f"{base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip('=')}.{expires}"
    return f"{TOKEN_PREFIX}{payload}.{_sign(ws, payload)}"


def customer_of_token(ws: Workspace, token: str | None) -> str | None:
    """The customer a valid, unexpired token was issued for; None for anything else (never says why)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 1024:
        return None
    parts = token[len(TOKEN_PREFIX):].split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2], _sign(ws, payload)) or int(parts[1]) < time.time():
        return None
    try:
        return base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


# -- look-ups ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderStatus:
    """What the assistant may tell a customer about one of their own orders."""

    order_id: str
    status: str | None
    order_ts: str | None
    total_amount: float | None
    items: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status, "order_ts": self.order_ts,
                "total_amount": self.total_amount, "items": self.items}


def _customer_keys(ws: Workspace, customer_id: str) -> list[str]:
    """The forms the customer's id may have in the warehouse: as given, and its pseudonym when it looks personal
    (an e-mail or phone used as the id is pseudonymized at ingest)."""
    keys = [customer_id]
    if looks_personal(customer_id):
        keys.append(pseudonym(customer_id, ws.pii_keys()))
    return keys


def _match(reference: str, order_ids: list[str]) -> str | None:
    """The customer's order a reference names: the same id (any case), else the same number ("1042" finds
    "O0001042"). Only the customer's own ids are candidates, so a loose match cannot reach anyone else's order."""
    by_upper = {o.upper(): o for o in order_ids}
    if reference.upper() in by_upper:
        return by_upper[reference.upper()]
    digits = _DIGITS.findall(reference)
    if not digits:
        return None
    number = int(digits[-1])
    found = [o for o in order_ids if (d := _DIGITS.findall(o)) and int(d[-1]) == number]
    return found[0] if len(found) == 1 else None


def lookup_order(ws: Workspace, customer_id: str, reference: str, *, channel: str = "python") -> OrderStatus | None:
    """The customer's own order named by ``reference``, or None — for a missing order and for another customer's
    alike. Audited either way."""
    keys = _customer_keys(ws, str(customer_id).strip())
    placeholders = ", ".join("?" for _ in keys)
    orders = ws.sql(f"SELECT order_id, status, CAST(order_ts AS VARCHAR) AS order_ts, total_amount FROM orders "
                    f"WHERE customer_id IN ({placeholders}) ORDER BY order_ts", keys)
    chosen = _match(reference, orders["order_id"].astype(str).tolist())
    audit(ws, customer_id, reference, "found" if chosen else "not_found", channel=channel)
    if chosen is None:
        return None
    row = orders[orders["order_id"].astype(str) == chosen].iloc[0]
    items = ws.sql("SELECT i.product_id, p.title, i.quantity FROM order_items i LEFT JOIN products p "
                   "USING (product_id) WHERE i.order_id = ? ORDER BY i.line_no LIMIT ?", [chosen, MAX_ITEMS_SHOWN])
    total = None if row["total_amount"] is None or row["total_amount"] != row["total_amount"] else float(
        row["total_amount"])
    return OrderStatus(order_id=chosen, status=row["status"], order_ts=row["order_ts"], total_amount=total,
                       items=[{"product_id": r.product_id, "title": r.title, "quantity": int(r.quantity)}
                              for r in items.itertuples()])


def audit(ws: Workspace, customer_id: str, reference: str, outcome: str, *, channel: str) -> None:
    """One audit line: who (pseudonym), which order reference, the outcome, where from. No personal data."""
    entry = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), "event": "order_lookup",
             "customer": pseudonym(str(customer_id).strip(), ws.pii_keys()), "order_ref": reference[:40],
             "outcome": outcome, "channel": channel}
    path = ws.path / "logs" / AUDIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with _AUDIT_LOCK, path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def audit_entries(ws: Workspace) -> list[dict[str, Any]]:
    """The order look-up audit, oldest first."""
    path = ws.path / "logs" / AUDIT_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
