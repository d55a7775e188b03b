"""A background export, as the OpenAPI document declares it.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from typing import Literal

from callhistory.answers import Shape


class Export(Shape):
    id: str
    status: Literal["queued", "running", "done", "failed", "expired"]
    format: Literal["csv", "csv.gz", "xlsx"]
    time_zone: str
    date_format: str
    rows_total: int | None
    rows_done: int
    size_bytes: int | None
    created_at: int
    finished_at: int | None
    error: str | None
    download_url: str | None
    download_expires_at: int | None
