"""Spreadsheet cells that cannot run as formulas (CSV / formula injection, OWASP).

A spreadsheet opening a CSV reads a cell that starts with `=`, `+`, `-` or `@` as a
formula: a note of `=HYPERLINK("http://x","y")` becomes a live link, worse ones reach
other cells or old DDE. Notes, tags, names and every number or id a PBX sends are text
someone else chose, so each text cell of an export that would start a formula gets a
single quote in front (`'=HYPERLINK(...)`), as OWASP's "CSV Injection" page and ASVS
1.2.10 say; the value in the database and in the API is not touched.

What counts as starting a formula, a little wider than the four characters:

- a first character of tab, carriage return, line feed or NUL (OWASP names tab and CR);
- `=`, `+`, `-` or `@` as the first character once leading white space and invisible
  characters (zero-width spaces, a BOM, control characters) are skipped, since some
  applications trim them before they look;
- the same four in any form that Unicode compatibility folding (NFKC) turns into them:
  the full-width `＝＋－＠` of East Asian keyboards, the small `﹦﹢﹣﹫`.

Numbers our own columns hold (durations, epoch times) are not text: they are written as
numbers and never quoted. See docs/exports.md, "Spreadsheet formulas".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

QUOTE = "'"
_TRIGGERS = frozenset("=+-@")
_LEADING_CONTROLS = frozenset("\t\r\n\x00")
_SKIPPED = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})  # controls, format, spaces


def _first_visible(text: str) -> str:
    for ch in text:
        if not ch.isspace() and unicodedata.category(ch) not in _SKIPPED:
            return ch
    return ""


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet might read this text as a formula."""
    if not text:
        return False
    if text[0] in _LEADING_CONTROLS:
        return True
    first = _first_visible(text)
    return bool(first) and unicodedata.normalize("NFKC", first)[:1] in _TRIGGERS


def neutralise(text: str) -> str:
    """The text with a single quote in front when it would start a formula; else as is."""
    return QUOTE + text if starts_formula(text) else text


def cell(value: Any) -> Any:
    """A text cell neutralised; numbers (and anything not text) as they are."""
    return neutralise(value) if isinstance(value, str) else value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]
