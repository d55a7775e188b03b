"""The call report, as the OpenAPI document declares it.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from callhistory.answers import Disposition, Shape


class DirectionTotal(Shape):
    id: Literal["inbound", "outbound"] = Field(alias="_id")
    total_count: int
    total_time: int = Field(description="Summed bill_sec.")


class DispositionTotal(Shape):
    id: Disposition = Field(alias="_id")
    total_count: int
    total_outbound: int
    total_inbound: int


class LocalTotal(Shape):
    total_call: int
    total_call_answer: int


class CallReport(Shape):
    categorized_by_direction: list[DirectionTotal]
    categorized_by_disposition: list[DispositionTotal]
    categorized_by_local_direction: LocalTotal
