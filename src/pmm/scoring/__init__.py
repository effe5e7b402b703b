"""Scoring: scoring rules, aggregation and the general composite-indicator engine.

Scores produced here are computed by the documented method of customs-pmm
(docs/methodology-scoring.md); they are not official WCO ratings.

The public names are loaded on first use, so that `import pmm.scoring` (and the `pmm` command)
stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "aggregation": ["aggregate", "copeland", "outranking_matrix", "outranking_sum"],
    "audit": ["coherence", "collinearity_flags", "correlations", "cronbach", "cronbach_alpha",
              "drop_one", "pca_summary", "strengths_weaknesses"],
    "kpi_values": ["kpi_values"],
    "pefa": ["load_m2_table", "pefa_m1", "pefa_m2"],
    "pipeline": ["Result", "run_pipeline"],
    "pmm": ["score_cycle", "score_kpi"],
    "robustness": ["prepare", "sensitivity", "uncertainty"],
    "rules": ["bands", "borda", "criteria_grade", "distance_to_maximum", "distance_to_reference",
              "distance_to_target", "fraction_of_max", "goalposts", "minmax", "percentile_rank",
              "rank", "scaled", "zscore"],
    "spec": ["Spec", "load_spec", "parse_spec"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pmm.scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pmm.scoring.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
