"""Labels from one catalogue per language, and numbers, durations and times as people read them.

Vietnamese is the default; English is a cookie away. A label missing from a catalogue
falls back to Vietnamese, then to its key, so a page never breaks on a missing word (the
tests check both catalogues have the same keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "ch_lang"
_CATALOGUES = Path(__file__).parent / "catalogues"


@cache
def catalogue(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((_CATALOGUES / f"{lang}.json").read_text("utf-8"))
    return loaded


def language(raw: str | None) -> str:
    return raw if raw in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str) -> Callable[..., str]:
    words, fallback = catalogue(lang), catalogue(DEFAULT_LANGUAGE)

    def t(key: str, **values: object) -> str:
        text = words.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """1234567 -> '1.234.567' in Vietnamese (dot groups, comma decimals), '1,234,567' in English."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def duration(seconds: int | None) -> str:
    """m:ss, as a call center reads a call's length (75 minutes stays 75:00)."""
    total = max(int(seconds or 0), 0)
    return f"{total // 60}:{total % 60:02d}"


def hours(seconds: int, lang: str) -> str:
    """Long talk times: h:mm:ss."""
    total = max(int(seconds), 0)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def local_time(epoch_ms: int | None, zone: str, with_seconds: bool = True) -> str:
    """Day first, 24-hour clock, in the tenant's time zone: both languages read it so."""
    if epoch_ms is None:
        return ""
    moment = datetime.fromtimestamp(epoch_ms / 1000, ZoneInfo(zone))
    return moment.strftime("%d/%m/%Y %H:%M:%S" if with_seconds else "%d/%m/%Y %H:%M")
