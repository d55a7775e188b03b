"""Folding Vietnamese text, the forms of a number, and carriers by prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callhistory.carriers import LEGACY_PREFIXES, MOBILE_PREFIXES, carrier_of
from callhistory.phones import forms, international, national
from callhistory.text import fold, unsigned


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Trần Văn Tiến", "tran van tien"),
        ("ĐẶNG THỊ HƯƠNG", "dang thi huong"),
        ("  Nguyễn   Hoàng\tNam ", "nguyen hoang nam"),
        ("Gọi lại sau", "goi lai sau"),
        ("Bùi Chí Hậu", "bui chi hau"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_unsigned_keeps_case() -> None:
    assert unsigned("Trần Văn Tiến") == "Tran Van Tien"
    assert unsigned("Đặng") == "Dang"


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize(
    "written", ["0912345678", "84912345678", "+84912345678", "+84 912 345 678", "0084912345678"]
)
def test_number_forms(written: str) -> None:
    assert national(written) == "0912345678"
    assert international(written) == "84912345678"
    assert {"0912345678", "84912345678"} <= set(forms(written))


def test_short_numbers_are_left_alone() -> None:
    assert national("101") == "101"
    assert national("19001234") == "19001234"
    assert forms("101") == ["101"]


@pytest.mark.parametrize(("carrier", "prefixes"), MOBILE_PREFIXES.items())
def test_every_mobile_prefix(carrier: str, prefixes: tuple[str, ...]) -> None:
    for prefix in prefixes:
        number = prefix + "1234567"
        assert carrier_of(number) == carrier
        assert carrier_of("+84" + number[1:]) == carrier


def test_legacy_prefixes_and_other_kinds() -> None:
    for prefix, carrier in LEGACY_PREFIXES.items():
        assert carrier_of(prefix + "1234567") == carrier
    assert carrier_of("02873001234") == "fixed"
    assert carrier_of("842473001234") == "fixed"
    assert carrier_of("19001234") == "service"
    assert carrier_of("18006789") == "service"
    assert carrier_of("101") == "unknown"
    assert carrier_of("0951234567") == "unknown"  # no carrier holds 095
