"""What the statistics routes answer, as the OpenAPI document declares it."""

from __future__ import annotations

from callhistory.answers import Shape


class Figures(Shape):
    calls: int
    inbound: int
    outbound: int
    answered: int
    missed: int
    answer_rate: float | None  # % of inbound calls answered
    talk_sec: int
    average_handle_sec: float | None
    average_wait_sec: float | None
    average_score: float | None  # 0..100


class Bucket(Figures):
    start: int  # epoch ms: the local hour, day or week it begins


class StatsAgent(Shape):
    email: str | None
    sip_user: str | None
    full_name: str
    user_uuid: str | None


class AgentLine(Shape):
    agent: StatsAgent
    totals: Figures
    buckets: list[Bucket]


class QueueLine(Shape):
    queue: str
    name: str
    totals: Figures
    buckets: list[Bucket]


class AgentStats(Shape):
    from_date: int
    to_date: int
    interval: str | None
    time_zone: str
    items: list[AgentLine]


class QueueStats(Shape):
    from_date: int
    to_date: int
    interval: str | None
    time_zone: str
    items: list[QueueLine]
