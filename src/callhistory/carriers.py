"""Vietnamese carriers by number prefix: the one table behind `provider`.

Prefixes are national (0…) and current after the 2018 move from 11 to 10 digits; the
old 11-digit prefixes (01xx) are kept so old records still resolve. Fixed lines are
02xx area codes. Service numbers (1800, 1900) are their own kind.
"""

from __future__ import annotations

from callhistory.phones import national

MOBILE_PREFIXES: dict[str, tuple[str, ...]] = {
    "viettel": ("086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039"),
    "mobifone": ("089", "090", "093", "070", "076", "077", "078", "079"),
    "vinaphone": ("088", "091", "094", "081", "082", "083", "084", "085"),
    "vietnamobile": ("092", "056", "058"),
    "gmobile": ("099", "059"),
    "itelecom": ("087",),
    "reddi": ("055",),
}

# Before September 2018, 11-digit numbers: the old prefix maps to the carrier of its new one.
LEGACY_PREFIXES: dict[str, str] = {
    **dict.fromkeys(("0162", "0163", "0164", "0165", "0166", "0167", "0168", "0169"), "viettel"),
    **dict.fromkeys(("0120", "0121", "0122", "0126", "0128"), "mobifone"),
    **dict.fromkeys(("0123", "0124", "0125", "0127", "0129"), "vinaphone"),
    **dict.fromkeys(("0186", "0188"), "vietnamobile"),
    **dict.fromkeys(("0199",), "gmobile"),
}

FIXED_LINE = "fixed"
SERVICE = "service"
UNKNOWN = "unknown"

# Every value `provider` can take from the prefix table (also the price table's keys).
CARRIERS: frozenset[str] = frozenset([*MOBILE_PREFIXES, FIXED_LINE, SERVICE])

_BY_PREFIX = {prefix: carrier for carrier, ps in MOBILE_PREFIXES.items() for prefix in ps}


def carrier_of(number: str) -> str:
    """'viettel', 'mobifone', …, 'fixed' (02x landline), 'service' (1800/1900) or 'unknown'."""
    n = national(number)
    if n.startswith(("1800", "1900")):
        return SERVICE
    if len(n) == 10 and n[:3] in _BY_PREFIX:
        return _BY_PREFIX[n[:3]]
    if len(n) == 11 and n[:4] in LEGACY_PREFIXES:
        return LEGACY_PREFIXES[n[:4]]
    if n.startswith("02") and len(n) in (10, 11):
        return FIXED_LINE
    return UNKNOWN


def is_external(number: str) -> bool:
    """A number on the public network (mobile, landline, service), not an extension."""
    return carrier_of(number) != UNKNOWN or len(national(number)) >= 8
