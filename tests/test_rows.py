"""rows.array_literal: what PostgreSQL reads back is what was written, by either path
(orjson's in one call, or value by value where JSON's text would differ)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.rows import _literal_by_value, array_literal

TEXTS = [
    "",
    "plain",
    "NULL",
    "null",
    'a "quoted" word',
    "back\\slash",
    "\\n is not a newline",
    "line\nbreak",
    "tab\there",
    "bell\x07",
    "\x1f",
    "{braces}, commas, and spaces",
    "Nguyễn Văn Anh 🎧",
    "\u2028",
    "\x7f",
    "trailing \\",
]
FLOATS = [0.0, -0.0, 1.5, 1e16, 3.25e-7, math.inf, -math.inf, math.nan]


def _mixed(rng: random.Random, pool: list[Any]) -> list[Any]:
    return [None if rng.random() < 0.2 else rng.choice(pool) for _ in range(rng.randint(0, 12))]


def _cases() -> list[tuple[str, list[Any]]]:
    rng = random.Random(16)
    cases: list[tuple[str, list[Any]]] = [
        ("text", TEXTS),
        ("text", [None, None]),
        ("text", []),
        ("bigint", [0, -1, 2**63 - 1, -(2**63), None]),
        ("numeric", [2**70, 5]),  # past orjson's 64 bits: value by value
        ("boolean", [True, False, None]),
        ("float8", FLOATS),
        ("float8", [1.0, None, 2.5]),
    ]
    for _ in range(40):
        cases.append(("text", _mixed(rng, TEXTS)))
        cases.append(("float8", _mixed(rng, FLOATS)))
    return cases


def _same(got: list[Any] | None, wanted: list[Any]) -> bool:
    if got is None or len(got) != len(wanted):
        return False
    for a, b in zip(got, wanted, strict=True):
        if isinstance(b, float) and math.isnan(b):
            if not (isinstance(a, float) and math.isnan(a)):
                return False
        elif a != b or (isinstance(b, float) and math.copysign(1, a) != math.copysign(1, b)):
            return False
    return True


async def test_postgresql_reads_back_what_either_path_wrote(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("array literals are PostgreSQL's")
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for kind, values in _cases():
            for literal in (array_literal(values), _literal_by_value(values)):
                got = await raw.fetchval(f"SELECT $1::text::{kind}[]", literal)
                if kind == "numeric":
                    got = [None if v is None else int(v) for v in got]
                assert _same(got, values), (kind, values, literal, got)


def test_the_fast_path_is_taken_for_ordinary_columns() -> None:
    assert array_literal(["a", 'b"c', None, "d\\e"]) == '{"a","b\\"c",null,"d\\\\e"}'
    assert array_literal([1, None, 3]) == "{1,null,3}"
    # where JSON would differ: a control character, a NaN
    assert array_literal(["x\ny"]) == '{"x\ny"}'
    assert array_literal([math.nan, None]) == "{nan,NULL}"
