"""WCO Member administrations and the peer groups derived from them.

The data (`members.csv`, `sources.csv`) ships with the package and is rebuilt from the compiled
reference files by `python -m pmm.members.build_members`; see docs/members.md.
"""

from pmm.members.groups import (
    SIZE_BANDS,
    SIZE_THRESHOLDS,
    load_groups,
    peer_groups,
    size_band,
    size_groups,
)
from pmm.members.model import (
    ADMIN_TYPES,
    GEOGRAPHIES,
    INCOME_GROUPS,
    REGIONS,
    Label,
    Member,
    Source,
)
from pmm.members.registry import load_members, member, members_frame, read_members

__all__ = [
    "ADMIN_TYPES",
    "GEOGRAPHIES",
    "INCOME_GROUPS",
    "REGIONS",
    "SIZE_BANDS",
    "SIZE_THRESHOLDS",
    "Label",
    "Member",
    "Source",
    "load_groups",
    "load_members",
    "member",
    "members_frame",
    "peer_groups",
    "read_members",
    "size_band",
    "size_groups",
]
