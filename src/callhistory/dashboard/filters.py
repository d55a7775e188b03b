"""The calls view's state, read from and written back to the URL, so a view is a bookmark.

The parameter names are the API's (direction, disposition, agents, sip_numbers,
queue_destination, is_auto_call, keyword, page, size) plus `tags` (tag ids), `from` and
`to` as local date-times of the tenant's zone, and `sort` / `order`. The checking is the
API's own (callhistory.calls.params), so both refuse the same things.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from callhistory.calls import params
from callhistory.calls.params import CallFilter
from callhistory.calls.quality import quality_filters
from callhistory.calls.values import parse_bool
from callhistory.config import get_settings
from callhistory.envelope import ApiError

SORTS = ("time", "duration")
ORDERS = ("desc", "asc")
PAGE_SIZES = (25, 50, 100)
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class View:
    start: datetime  # aware, in the tenant's zone
    end: datetime
    directions: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    hotlines: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    is_auto_call: bool | None = None
    keyword: str = ""
    quality: dict[str, Any] = field(default_factory=dict)  # calls.quality's, as parsed
    page: int = 1
    size: int = 50
    sort: str = "time"
    order: str = "desc"

    @property
    def call_filter(self) -> CallFilter:
        return CallFilter(
            from_ms=int(self.start.timestamp() * 1000),
            # the shown minute is read to its last millisecond
            to_ms=int(self.end.replace(second=0, microsecond=0).timestamp() * 1000) + 59_999,
            directions=self.directions,
            dispositions=self.dispositions,
            agents=self.agents,
            hotlines=params.hotline_numbers(self.hotlines),
            queues=self.queues,
            tag_ids=self.tags,
            is_auto_call=self.is_auto_call,
            keyword=self.keyword or None,
            **self.quality,
        )

    @property
    def from_local(self) -> str:
        return self.start.strftime(_LOCAL_FORMAT)

    @property
    def to_local(self) -> str:
        return self.end.strftime(_LOCAL_FORMAT)

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The view as query pairs, defaults left out so URLs stay short."""
        view = replace(self, **changes) if changes else self
        out: list[tuple[str, str]] = [("from", view.from_local), ("to", view.to_local)]
        for name, values in (
            ("direction", view.directions),
            ("disposition", view.dispositions),
            ("agents", view.agents),
            ("sip_numbers", view.hotlines),
            ("queue_destination", view.queues),
            ("tags", view.tags),
        ):
            out.extend((name, v) for v in values)
        if view.is_auto_call is not None:
            out.append(("is_auto_call", "true" if view.is_auto_call else "false"))
        if view.keyword:
            out.append(("keyword", view.keyword))
        out.extend(_quality_pairs(view.quality))
        if view.page != 1:
            out.append(("page", str(view.page)))
        if view.size != 50:
            out.append(("size", str(view.size)))
        if (view.sort, view.order) != ("time", "desc"):
            out.extend((("sort", view.sort), ("order", view.order)))
        return out

    def query(self, **changes: Any) -> str:
        return urlencode(self.pairs(**changes))

    def filter_query(self) -> str:
        """The filters alone (no paging or sorting): for reports and exports."""
        return urlencode(
            [(k, v) for k, v in self.pairs() if k not in ("page", "size", "sort", "order")]
        )


def _quality_pairs(quality: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in quality.items():
        if name == "hangup_causes":
            out.extend(("hangup_cause", cause) for cause in value)
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif value is not None:
            out.append((name, f"{value:g}" if isinstance(value, float) else str(value)))
    return out


def _local(raw: str | None, zone: ZoneInfo, name: str) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    for fmt in (_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ApiError(400, f"{name}_invalid")


def today(zone: ZoneInfo) -> tuple[datetime, datetime]:
    day = datetime.now(zone).date()
    return datetime.combine(day, time.min, zone), datetime.combine(day, time(23, 59), zone)


def read(query: QueryParams, time_zone: str) -> View:
    """The view a URL asks for; the API's checks raise ApiError with the API's codes."""
    zone = ZoneInfo(time_zone)
    default_start, default_end = today(zone)
    start = _local(query.get("from"), zone, "from_date") or default_start
    end = _local(query.get("to"), zone, "to_date") or default_end
    size = params.positive_int("size", query.get("size"), 50)
    sort, order = query.get("sort", "time"), query.get("order", "desc")
    view = View(
        start=start,
        end=end,
        directions=params.choices(
            "direction", params.query_array(query, "direction"), params.DIRECTIONS
        ),
        dispositions=params.choices(
            "disposition", params.query_array(query, "disposition"), params.DISPOSITIONS
        ),
        agents=params.emails(params.query_array(query, "agents")),
        hotlines=params.query_array(query, "sip_numbers"),
        queues=params.query_array(query, "queue_destination"),
        tags=params.query_array(query, "tags"),
        is_auto_call=parse_bool("is_auto_call", query.get("is_auto_call")),
        keyword=params.keyword(query.get("keyword")) or "",
        quality=quality_filters(lambda name: params.query_array(query, name), query.get),
        page=params.positive_int("page", query.get("page"), 1),
        size=size if size in PAGE_SIZES else 50,
        sort=sort if sort in SORTS else "time",
        order=order if order in ORDERS else "desc",
    )
    checked = view.call_filter
    params.date_window(checked.from_ms, checked.to_ms, get_settings().max_window_days)
    return view
