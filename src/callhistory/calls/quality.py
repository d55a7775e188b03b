"""The call-quality filters, our additions to the contract: how long, how it ended,
whether it was recorded, how it sounded. Taken by the list, search, report and export
endpoints (and the dashboard) alike, from a query string or a JSON body.

- `min_duration` / `max_duration`: the call's `duration` in whole seconds, inclusive;
- `hangup_cause`: an array of the PBX's causes (`NORMAL_CLEARING`, `USER_BUSY`…),
  any case; a call with one of them;
- `has_recording`: true, a call with a recording file; false, one without;
- `min_mos` / `max_mos`: the inbound audio's MOS (1 to 5), inclusive; a call the PBX
  gave no MOS is left out as soon as either is set.

The maintained totals do not carry these, so a count with any of them reads the calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, and_, or_

from callhistory.calls.values import number, parse_bool
from callhistory.db import among
from callhistory.envelope import validation_error

if TYPE_CHECKING:
    from callhistory.calls.params import CallFilter

MAX_SECONDS = 2_147_483_647  # the duration column's range
_CAUSE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _seconds(name: str, raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    value = number(raw)
    if value is None or value != value.to_integral_value() or not 0 <= value <= MAX_SECONDS:
        raise validation_error(name, "must_be_a_non_negative_integer")
    return int(value)


def _mos(name: str, raw: Any) -> float | None:
    if raw in (None, ""):
        return None
    value = number(raw)
    if value is None or not Decimal(1) <= value <= Decimal(5):
        raise validation_error(name, "must_be_a_number_from_1_to_5")
    return float(value)


def _causes(values: list[str]) -> list[str]:
    if any(not _CAUSE.match(v) for v in values):
        raise validation_error("hangup_cause", "invalid_hangup_cause")
    return list(dict.fromkeys(v.upper() for v in values))


def quality_filters(
    array: Callable[[str], list[str]], value: Callable[[str], Any]
) -> dict[str, Any]:
    """The filters as CallFilter's keyword arguments; a minimum above its maximum is a
    request for nothing, so it is refused rather than answered empty."""
    found: dict[str, Any] = {
        "min_duration": _seconds("min_duration", value("min_duration")),
        "max_duration": _seconds("max_duration", value("max_duration")),
        "hangup_causes": _causes(array("hangup_cause")),
        "has_recording": parse_bool("has_recording", value("has_recording")),
        "min_mos": _mos("min_mos", value("min_mos")),
        "max_mos": _mos("max_mos", value("max_mos")),
    }
    for low, high in (("min_duration", "max_duration"), ("min_mos", "max_mos")):
        if found[low] is not None and found[high] is not None and found[low] > found[high]:
            raise validation_error(low, f"greater_than_{high}")
    return found


def is_set(f: CallFilter) -> bool:
    return bool(
        f.hangup_causes
        or f.has_recording is not None
        or any(v is not None for v in (f.min_duration, f.max_duration, f.min_mos, f.max_mos))
    )


def quality_conditions(table: Table, f: CallFilter) -> list[ColumnElement[bool]]:
    """The conditions on the calls table (only it carries these columns)."""
    c = table.c
    conds: list[ColumnElement[bool]] = []
    if f.min_duration is not None:
        conds.append(c.duration >= f.min_duration)
    if f.max_duration is not None:
        conds.append(c.duration <= f.max_duration)
    if f.hangup_causes:
        conds.append(among(c.hangup_cause, f.hangup_causes))
    if f.has_recording is True:
        conds.append(and_(c.recording_file.is_not(None), c.recording_file != ""))
    elif f.has_recording is False:
        conds.append(or_(c.recording_file.is_(None), c.recording_file == ""))
    if f.min_mos is not None:
        conds.append(c.rtp_audio_in_mos >= f.min_mos)
    if f.max_mos is not None:
        conds.append(c.rtp_audio_in_mos <= f.max_mos)
    return conds
