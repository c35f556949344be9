from hypothesis import given
from hypothesis import strategies as st

from coordination.interop.safe_cells import TRIGGERS, neutralise, safe_value


@given(st.text())
def test_no_neutralised_text_starts_with_a_trigger(text):
    result = neutralise(text)
    assert not result.startswith(TRIGGERS)
    assert result.endswith(text)  # nothing lost, at most an apostrophe in front


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none()))
def test_numbers_we_write_stay_numbers(value):
    assert safe_value(value) == value
