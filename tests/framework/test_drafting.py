"""The proposal form's check and the upload reader never crash, whatever they are given."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm.framework.drafting import LIST_FIELDS, TEXT_FIELDS, check_proposed_kpi
from pmm.framework.loader import load

FW = load("wco-pmm-v1")
VALID = {"tool": "RKC", "outcome": "TF.1", "code": "TF.1.9", "name_en": "a", "name_fr": "b",
         "definition_en": "c", "definition_fr": "d",
         "formula": "100 * declarations_electronic / declarations", "unit": "percent",
         "direction": "higher", "disclosure": "public", "scoring_method": "zscore",
         "sdg_targets": ["17.10"]}
texts = st.one_of(st.text(max_size=80), st.sampled_from(
    ["", "RKC", "TF.1", "percent", "bands", "goalposts", "1e309", "nan", "-0", "declarations",
     "declarations[T-1] / declarations", "sum(declarations{flow=*})", "((((", "x" * 3000]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(TEXT_FIELDS), texts, max_size=12),
       st.dictionaries(st.sampled_from(LIST_FIELDS), st.lists(texts, max_size=4), max_size=2))
def test_any_form_gives_messages_by_field_never_a_crash(changes: dict, lists: dict) -> None:
    result = check_proposed_kpi(FW, {**VALID, **changes, **lists}, "why")
    known = {"", "rationale", *TEXT_FIELDS, *LIST_FIELDS}
    assert set(result.errors) <= known and set(result.warnings) <= known
    assert result.ok == (result.kpi is not None and not result.errors)
    if result.ok:
        assert result.kpi.code == (changes.get("code", VALID["code"])).strip()


def test_the_valid_form_passes_with_its_data_items_and_year_rule_from_the_formula() -> None:
    result = check_proposed_kpi(FW, {**VALID, "formula": "declarations[T] - declarations[T-1]"},
                                "why")
    assert result.ok, result.errors
    assert result.kpi.data_items == ["declarations"] and result.kpi.years == "T,T-1"
