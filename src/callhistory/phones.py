"""Vietnamese phone numbers in their three written forms: 0…, 84…, +84…."""

from __future__ import annotations

import functools
import re
import unicodedata

_NOT_DIGITS = re.compile(r"[^\d]")
_NUMBERISH = re.compile(r"^\(?\+?[\d\s.\-()]+$")  # '+84 912…', '(+84) 912…', '0912.345…'


def digits(raw: str) -> str:
    """The digits of what was typed, as ASCII: a full-width `０` or an Arabic-Indic `٠`
    (some keyboards and CRM exports write them) is the 0 the PBX sends."""
    found = _NOT_DIGITS.sub("", raw)
    if found.isascii():
        return found
    return "".join(str(unicodedata.decimal(d)) for d in found)


@functools.lru_cache(maxsize=8192)
def national(raw: str) -> str:
    """The national form (0…) of a Vietnamese number; other numbers keep their digits.

    Kept for the numbers seen lately: a call's numbers are read ten times on their way
    in (directories, carriers, the keyword text), mostly the same few thousand a tenant's
    calls share (its extensions, hotlines, customers).

    '+84 912 345 678', '84912345678' and '0912345678' all give '0912345678'. Short
    numbers (extensions, service numbers) are returned as digits unchanged.
    """
    number = digits(raw)
    if number.startswith("84") and len(number) >= 10:
        return "0" + number[2:]
    if number.startswith("0084") and len(number) >= 12:
        return "0" + number[4:]
    return number


def international(raw: str) -> str:
    """The 84… form of a national number, or the digits when it is not one."""
    number = national(raw)
    if number.startswith("0") and len(number) >= 9:
        return "84" + number[1:]
    return number


def forms(raw: str) -> list[str]:
    """Every form a user may type the number in, for substring search."""
    found = [digits(raw), national(raw), international(raw)]
    return list(dict.fromkeys(f for f in found if f))


def looks_like_number(text: str) -> bool:
    return bool(_NUMBERISH.match(text.strip())) and len(digits(text)) >= 2


def keyword_number(text: str) -> str:
    """A number typed as a keyword, reduced to the digits it is stored with.

    '+84912' -> '84912' (found in the stored 84… form), '0912' -> '0912'.
    """
    return digits(text)
