"""Legs of one call, merged into one record: the same result whatever order they came in.

The A-leg (the channel that came into the switch) speaks for the call: its numbers,
its hang-up cause. The B-legs add who answered and when. A call placed with
`originate` has no A-leg; its earliest leg speaks for it then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from callhistory.ingest.formats.call import MergedCall
from callhistory.ingest.formats.freeswitch import Leg

T = TypeVar("T")


def _ordered(legs: Sequence[Leg]) -> list[Leg]:
    """The leg that speaks for the call first, then the others by start and uuid."""
    return sorted(legs, key=lambda leg: (leg.is_b_leg, leg.start_ms or 0, leg.uuid))


def _first(values: Sequence[T | None]) -> T | None:
    return next((v for v in values if v is not None and v != ""), None)


def _extensions(ordered: Sequence[Leg], answered: bool) -> tuple[str, ...]:
    """Agents' extensions on the call, the one who answered first: an answered B-leg's
    user, else the user the A-leg bridged to, else the calling user."""
    found = [leg.sip_user for leg in ordered if leg.answered and leg.is_b_leg]
    if answered:
        found += [leg.dialed_user for leg in ordered if leg.answered]
    found += [leg.sip_user for leg in ordered] + [leg.dialed_user for leg in ordered]
    return tuple(dict.fromkeys(e for e in found if e))


def _wait(start: int, answer: int | None, main: Leg) -> int:
    return round((answer - start) / 1000) if answer else (main.waitsec or 0)


def merge(legs: Sequence[Leg]) -> MergedCall:
    if not legs:
        raise ValueError("a call has at least one leg")
    ordered = _ordered(legs)
    main = ordered[0]
    starts = [leg.start_ms for leg in legs if leg.start_ms]
    start = min(starts) if starts else 0
    end = max((leg.end_ms or 0) for leg in legs) or start
    answers = [leg.answer_ms for leg in legs if leg.answered and leg.answer_ms]
    answer = min(answers) if answers else None
    answered = any(leg.answered for leg in legs)
    extensions = _extensions(ordered, answered)
    bill_sec = max((leg.billsec for leg in legs), default=0) if answered else 0
    # The PBX's figures speak for the call when their leg spans it: a later leg (a
    # transfer's) that outlives the first makes the call longer than that leg's duration.
    spans = main.start_ms == start and (main.end_ms or start) == end
    waited = main.waitsec if spans and main.answer_ms == answer else None
    return MergedCall(
        call_id=main.call_id,
        caller_number=main.caller_number,
        destination_number=main.destination_number,
        start_ms=start,
        answer_ms=answer,
        end_ms=end,
        bill_sec=bill_sec,
        wait_sec=waited if waited is not None else _wait(start, answer, main),
        hold_sec=max(leg.hold_sec for leg in legs),
        answered=answered,
        hangup_cause=main.hangup_cause,
        hangup_cause_q850=main.hangup_cause_q850,
        dial_status=_first([main.dial_status, *(leg.dial_status for leg in ordered)]),
        mos=_first([leg.mos for leg in ordered]),
        extensions=extensions,
        sip_from_user=_first([leg.sip_from_user for leg in ordered]),
        domain=_first([leg.domain for leg in ordered]),
        queue=_first([leg.queue for leg in ordered]),
        recording_path=_first([leg.recording_path for leg in ordered]),
        record_seconds=_first([leg.record_seconds for leg in ordered]),
        voicemail=any(leg.voicemail for leg in legs),
        voicemail_path=_first([leg.voicemail_path for leg in ordered]),
        is_auto_call=main.is_auto_call,
        playback_seconds=max(leg.playback_seconds for leg in legs),
        duration=main.duration if spans else None,
        outbound_caller_id=_first(
            [
                leg.variables.get(name)
                for leg in ordered
                for name in ("effective_caller_id_number", "outbound_caller_id_number")
            ]
        ),
    )
