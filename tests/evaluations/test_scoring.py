"""The weighted percentage and the numbers the answers show, as pure functions."""

from __future__ import annotations

from statistics import mean

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callhistory.evaluations.shapes import number, rounded, weighted_percentage

criterion = st.integers(min_value=1, max_value=1000).flatmap(
    lambda maximum: st.tuples(
        st.floats(min_value=0, max_value=maximum),
        st.just(maximum),
        st.floats(min_value=0.01, max_value=1000),
    )
)


@given(st.lists(criterion, min_size=1, max_size=20))
def test_weighted_percentage_is_a_share_of_the_maximum(
    scores: list[tuple[float, int, float]],
) -> None:
    value = weighted_percentage(scores)
    assert -1e-9 <= value <= 100 + 1e-9
    full = weighted_percentage((m, m, w) for _, m, w in scores)
    assert full == pytest.approx(100)
    equal = weighted_percentage((s, m, 1.0) for s, m, _ in scores)
    assert equal == pytest.approx(mean(100 * s / m for s, m, _ in scores))


def test_whole_numbers_show_as_integers() -> None:
    assert (number(4.0), number(4.5), rounded(76.24999999999999), rounded(2 / 3)) == (
        4,
        4.5,
        76.25,
        0.67,
    )
    assert isinstance(number(4.0), int)
