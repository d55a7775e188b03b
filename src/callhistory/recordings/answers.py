"""What the recording link route answers, as the OpenAPI document declares it."""

from __future__ import annotations

from callhistory.answers import Shape


class RecordingLink(Shape):
    url: str  # plays or downloads (`&download=1`) without credentials until expires_at
    expires_at: int  # epoch ms
    media_type: str
