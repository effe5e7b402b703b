"""WCO Member administrations and the peer groups derived from them.

The data (`members.csv`, `sources.csv`) ships with the package and is rebuilt from the compiled
reference files by `python -m pmm.members.build_members`; see docs/members.md.
"""

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
    "Label",
    "Member",
    "Source",
    "load_members",
    "member",
    "members_frame",
    "read_members",
]
