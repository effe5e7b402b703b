"""Analysis: what Members and the WCO do with the results.

Benchmarks against peer groups under statistical disclosure control, gaps and capacity-building
plans, Secretariat views (participation, coverage, demand), SDG contribution, trends and what-if.
The pure functions work on DataFrames (`observations`, `benchmark`, `find_gaps`, ...); `api` runs
them over the database. Every read of member data goes through `disclosure.visible`.
User documentation: docs/analysis.md.
"""

from pmm.analysis.benchmark import benchmark
from pmm.analysis.disclosure import Viewer, parse_viewer, visible
from pmm.analysis.gaps import find_gaps, plan_by_support
from pmm.analysis.groups import memberships
from pmm.analysis.observations import build as build_observations
from pmm.analysis.sdc import Domain, Release, Rules, release
from pmm.analysis.sdg import sdg_benchmark, sdg_member, sdg_observations
from pmm.analysis.secretariat import coverage, demand, participation
from pmm.analysis.support import Support, load_support
from pmm.analysis.trends import comparability, group_trends, member_trends
from pmm.analysis.whatif import WhatIf, whatif

__all__ = [
    "Domain",
    "Release",
    "Rules",
    "Support",
    "Viewer",
    "WhatIf",
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
    "parse_viewer",
    "participation",
    "plan_by_support",
    "release",
    "sdg_benchmark",
    "sdg_member",
    "sdg_observations",
    "visible",
    "whatif",
]
