"""The filters on a call's own columns, shared by the query of calls and the query of
their maintained totals (calls.totals), whose rows carry those columns by the same names."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table

from callhistory.calls.params import CallFilter
from callhistory.db import among

# The filter's lists of values, each with the column it filters.
LISTED = (
    ("directions", "direction"),
    ("dispositions", "disposition"),
    ("sip_users", "sip_user"),
    ("hotlines", "hotline"),
    ("queues", "queue_destination"),
)


def has_column_filters(f: CallFilter) -> bool:
    """Whether `column_conditions` has any, without building them (a per-request test)."""
    return f.is_auto_call is not None or any(getattr(f, name) for name, _ in LISTED)


def column_conditions(table: Table, f: CallFilter) -> list[ColumnElement[bool]]:
    """The filters on a call's own columns, for any table that carries them by the same
    names (calls, and the totals kept per day of them: calls.totals)."""
    conds: list[ColumnElement[bool]] = [
        among(table.c[column], values) for name, column in LISTED if (values := getattr(f, name))
    ]
    if f.is_auto_call is not None:
        conds.append(table.c.is_auto_call.is_(f.is_auto_call))
    return conds
