"""The filters on a call's own columns, shared by the query of calls and the query of
their maintained totals (calls.totals), whose rows carry those columns by the same names."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table

from callhistory.calls.params import CallFilter
from callhistory.db import among


def column_conditions(table: Table, f: CallFilter) -> list[ColumnElement[bool]]:
    """The filters on a call's own columns, for any table that carries them by the same
    names (calls, and the totals kept per day of them: calls.totals)."""
    c = table.c
    conds: list[ColumnElement[bool]] = []
    for values, column in (
        (f.directions, c.direction),
        (f.dispositions, c.disposition),
        (f.sip_users, c.sip_user),
        (f.hotlines, c.hotline),
        (f.queues, c.queue_destination),
    ):
        if values:
            conds.append(among(column, values))
    if f.is_auto_call is not None:
        conds.append(c.is_auto_call.is_(f.is_auto_call))
    return conds
