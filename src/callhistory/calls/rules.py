"""What a call's people-owned fields may hold, checked the same way by the API, the
dashboard and ingest (so a batch item's tags are refused as a change's would be).
Pure: no storage, so the ingest formats' parsers may use it."""

from __future__ import annotations

from callhistory.text import fold

MAX_TAG_LENGTH = 100
MAX_TAGS_PER_CALL = 50
MAX_NOTE_LENGTH = 5000


class TagProblem(ValueError):
    """A list of tag names that cannot be stored; `code` is the API's code for why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def tag_names(raw: list[str]) -> list[str]:
    """The names as stored: white space collapsed, duplicates (folded) dropped, the first
    spelling kept; TagProblem when one is empty or too long, or there are too many."""
    names: dict[str, str] = {}  # folded -> as typed (first spelling wins)
    for tag in raw:
        name = " ".join(tag.split())
        if not name:
            raise TagProblem("empty_tag")
        if len(name) > MAX_TAG_LENGTH:
            raise TagProblem("tag_too_long")
        names.setdefault(fold(name), name)
    if len(names) > MAX_TAGS_PER_CALL:
        raise TagProblem("too_many_tags")
    return list(names.values())
