"""Scoring: scoring rules, aggregation and the general composite-indicator engine.

Scores produced here are computed by the documented method of customs-pmm
(docs/methodology-scoring.md); they are not official WCO ratings.
"""

from pmm.scoring.aggregation import aggregate, copeland, outranking_matrix, outranking_sum
from pmm.scoring.audit import (
    coherence,
    collinearity_flags,
    correlations,
    cronbach,
    cronbach_alpha,
    drop_one,
    pca_summary,
    strengths_weaknesses,
)
from pmm.scoring.pefa import load_m2_table, pefa_m1, pefa_m2
from pmm.scoring.pipeline import Result, run_pipeline
from pmm.scoring.robustness import prepare, sensitivity, uncertainty
from pmm.scoring.rules import (
    bands,
    borda,
    criteria_grade,
    distance_to_maximum,
    distance_to_reference,
    distance_to_target,
    fraction_of_max,
    goalposts,
    minmax,
    percentile_rank,
    rank,
    scaled,
    zscore,
)
from pmm.scoring.spec import Spec, load_spec, parse_spec

__all__ = [
    "Result",
    "Spec",
    "aggregate",
    "bands",
    "borda",
    "coherence",
    "collinearity_flags",
    "copeland",
    "correlations",
    "criteria_grade",
    "cronbach",
    "cronbach_alpha",
    "distance_to_maximum",
    "distance_to_reference",
    "distance_to_target",
    "drop_one",
    "fraction_of_max",
    "goalposts",
    "load_m2_table",
    "load_spec",
    "minmax",
    "outranking_matrix",
    "outranking_sum",
    "parse_spec",
    "pca_summary",
    "pefa_m1",
    "pefa_m2",
    "percentile_rank",
    "prepare",
    "rank",
    "run_pipeline",
    "scaled",
    "sensitivity",
    "strengths_weaknesses",
    "uncertainty",
    "zscore",
]
