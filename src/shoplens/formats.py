"""How shoplens writes numbers for people (dashboard, report, charts): one helper per kind, so money always
carries the shop's currency (``Workspace.config.currency``) and reads the same everywhere."""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

NOT_KNOWN = "—"
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float, decimal.Decimal)) else float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def money(amount: Any, currency: str, *, digits: int = 2, signed: bool = False) -> str:
    """An amount with the currency code after it: ``1,234.50 USD``, ``+12.00 EUR`` when ``signed``; ``—`` when
    unknown. The ISO code rather than a symbol: ``$`` is also the Canadian, Australian … dollar."""
    number = finite(amount)
    if number is None:
        return NOT_KNOWN
    sign = "+" if signed else ""
    return f"{number:{sign},.{digits}f} {currency}".rstrip()


def language_of(text: str) -> str | None:
    """``"zh"`` for text with Chinese characters (so the browser picks a CJK font and Chinese glyph forms)."""
    return "zh" if HAN.search(text or "") else None
