from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vostack.votable import float32_text


@pytest.mark.parametrize(
    ("value", "text"),
    [(9.405500411987305, "9.4055"), (-1.0875999927520752, "-1.0876"), (0.086800002, "0.0868"), (7.0, "7.0"),
     (1e-30, "1e-30"), (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf")],
)  # fmt: skip
def test_single_precision_values_print_as_people_wrote_them(value: float, text: str) -> None:
    assert float32_text(value) == text


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_the_text_reads_back_as_the_same_float32(value: float) -> None:
    text = float32_text(value)
    assert struct.pack(">f", float(text)) == struct.pack(">f", value)
    assert "." in text or "e" in text


def test_a_value_beyond_float32_is_shown_exactly() -> None:
    assert float32_text(1e40) == "1e+40"
