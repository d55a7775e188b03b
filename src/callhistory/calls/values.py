"""Values as clients send them: PHP, Node, C#, Java and Python each write a number or a
boolean their own way (`2`, `2.0`, `"2"`, `1.79e12`; `true`, `"1"`, `"yes"`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from callhistory.envelope import validation_error


def parse_bool(name: str, raw: Any) -> bool | None:
    """true / false / absent (NULL): the source's tri-state `is_auto_call`."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("", "null", "none"):
        return None
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise validation_error(name, "must_be_true_or_false")


# A plain decimal number, as clients write one: 1793979050000, 1793979050000.0, 1.79397905e12.
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def number(raw: Any) -> Decimal | None:
    """A JSON number or a numeric string, exactly (no float rounding); None if it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    text = str(raw).strip()
    if not _NUMBER.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
