"""The number normalisation behind customer matching, hotline filters, keyword search and
carrier detection (`callhistory.phones`, `callhistory.carriers`), on any text: it never
raises, it is idempotent, its answers are ASCII digits, and a Vietnamese number written
as 0…, 84…, +84… or 0084…, spaced or punctuated as people write it, is one number, of
one carrier."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from callhistory.carriers import CARRIERS, UNKNOWN, carrier_of, is_external
from callhistory.phones import (
    digits,
    forms,
    international,
    keyword_number,
    looks_like_number,
    national,
)

RUNS = settings(max_examples=500, deadline=None)
ANY_TEXT = st.text(max_size=40) | st.from_regex(r"\A[+0-9 .()\-]{0,25}\Z")
ASCII_DIGITS = frozenset("0123456789")


def _ascii_digits(value: str) -> bool:
    return set(value) <= ASCII_DIGITS


@RUNS
@given(ANY_TEXT)
@example("０９１２３４５６７８")  # full-width, as some keyboards type it
@example("+٨٤٩١٢٣٤٥٦٧٨")  # Arabic-Indic digits
@example("")
def test_any_text_gives_ascii_digits_and_never_raises(text: str) -> None:
    for normalised in (digits(text), national(text), international(text), keyword_number(text)):
        assert _ascii_digits(normalised), normalised
    assert all(_ascii_digits(f) and f for f in forms(text))
    assert isinstance(looks_like_number(text), bool)
    assert carrier_of(text) in CARRIERS | {UNKNOWN}
    assert isinstance(is_external(text), bool)


@RUNS
@given(ANY_TEXT)
def test_idempotent(text: str) -> None:
    once = national(text)
    assert national(once) == once
    assert digits(digits(text)) == digits(text)
    assert international(international(text)) == international(text)
    assert national(international(text)) == once
    assert carrier_of(once) == carrier_of(text)
    assert is_external(once) == is_external(text)
    assert set(forms(once)) <= set(forms(text)) | {once}


# A national number: 0 and 8 to 10 digits (mobile numbers have 9, landlines 10).
NATIONAL = st.from_regex(r"\A0[0-9]{8,10}\Z")


@st.composite
def written(draw: st.DrawFn, number: str) -> str:
    """The number as a person or a PBX may write it."""
    subscriber = number[1:]
    prefix = draw(st.sampled_from(["0", "84", "+84", "0084", "+84 ", "(+84) ", "84-"]))
    chunks, rest = [], subscriber
    while rest:
        size = draw(st.integers(1, 4))
        chunks.append(rest[:size])
        rest = rest[size:]
    separator = draw(st.sampled_from(["", " ", ".", "-"]))
    return prefix + separator.join(chunks)


@RUNS
@given(st.data(), NATIONAL)
def test_every_written_form_is_one_number(data: st.DataObject, number: str) -> None:
    first, second = data.draw(written(number)), data.draw(written(number))
    assert national(first) == national(second) == number
    assert international(first) == international(second) == "84" + number[1:]
    assert {number, "84" + number[1:]} <= set(forms(first)) & set(forms(second))
    assert carrier_of(first) == carrier_of(second) == carrier_of(number)
    assert is_external(first) == is_external(second)
    assert looks_like_number(first) and looks_like_number(second)
    # keyword search: a number typed as 0…, 84… or +84… is found in the forms stored
    for typed in (first, second):
        if not typed.startswith("0084"):
            assert any(keyword_number(typed) in stored for stored in forms(number))
