"""Formula-injection neutralisation round-trips every text and never touches numbers."""

from hypothesis import given
from hypothesis import strategies as st

from pmm.conventions import neutralise, restore


@given(st.text())
def test_round_trip(text: str) -> None:
    assert restore(neutralise(text)) == text


@given(st.text())
def test_exported_text_never_starts_a_formula(text: str) -> None:
    out = neutralise(text)
    assert isinstance(out, str) and not out.startswith(("=", "+", "-", "@"))


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_non_text_untouched(value: object) -> None:
    assert neutralise(value) == value and restore(value) == value


def test_examples() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("'=1") == "''=1"
    assert neutralise("plain") == "plain" and neutralise(-5) == -5
    assert restore("'@SUM(A1)") == "@SUM(A1)" and restore("'quoted") == "'quoted"
