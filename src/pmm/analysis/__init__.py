"""Analysis: what Members and the WCO do with the results.

Benchmarks against peer groups under statistical disclosure control, gaps and capacity-building
plans, Secretariat views (participation, coverage, demand), SDG contribution, trends and what-if.
The pure functions work on DataFrames (`observations`, `benchmark`, `find_gaps`, ...); `api` runs
them over a database session for a principal; `release` audits and freezes what each audience
receives. Every read of member data goes through `pmm.access.visible`.
User documentation: docs/analysis.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use, so that `pmm --help` and the other commands do not pay for scipy.
_WHERE = {
    "benchmark": "benchmark", "audit_cycle": "release", "find_gaps": "gaps",
    "plan_by_support": "gaps",
    "memberships": "groups", "build_observations": "observations", "Domain": "sdc",
    "Rules": "sdc", "sdg_benchmark": "sdg",
    "sdg_member": "sdg", "sdg_observations": "sdg", "coverage": "secretariat",
    "demand": "secretariat", "participation": "secretariat", "Support": "support",
    "load_support": "support", "comparability": "trends", "group_trends": "trends",
    "member_trends": "trends", "WhatIf": "whatif", "whatif": "whatif",
}
_RENAMED = {"build_observations": "build"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'pmm.analysis' has no attribute {name!r}")
    module = importlib.import_module(f"pmm.analysis.{_WHERE[name]}")
    return getattr(module, _RENAMED.get(name, name))


__all__ = [
    "Domain",
    "Rules",
    "Support",
    "WhatIf",
    "audit_cycle",
    "benchmark",
    "build_observations",
    "comparability",
    "coverage",
    "demand",
    "find_gaps",
    "group_trends",
    "load_support",
    "member_trends",
    "memberships",
    "participation",
    "plan_by_support",
    "sdg_benchmark",
    "sdg_member",
    "sdg_observations",
    "whatif",
]
