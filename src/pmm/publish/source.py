"""A release as one principal may read it: its values and its statistics.

`read(session, who, year, number)` picks the release (default: the latest not withdrawn), keeps the
frozen values the policy lets `who` see, and the statistics released to `who`'s audience (the
Secretariat, who sees every value, receives the WCO-level statistics: a publication never shows a
figure that was not audited for some audience).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from pmm.access import Principal, visible
from pmm.analysis import release as rel_mod
from pmm.analysis.load import previous_year
from pmm.analysis.memo import Memo
from pmm.analysis.sdc import Rules
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.framework.model import Framework
from pmm.members import member as member_record
from pmm.store.models import Release

# What one kind of principal may see of one release's values (a release never changes).
_VISIBLE: Memo[tuple[pd.DataFrame, frozenset[str]]] = Memo(64)


@dataclass
class ReleaseView:
    """What `who` may read of one release."""

    year: int
    number: int
    release: Release
    fw: Framework
    who: Principal
    audience: str
    obs: pd.DataFrame  # the frozen observations `who` may see (pmm.analysis.observations)
    groups: pd.DataFrame  # grouping, group, member
    stats: pd.DataFrame  # release statistics of the audience (release.STAT_COLUMNS)
    rules: Rules
    members: frozenset[str]  # every member whose values the release holds (validated)

    def reason(self, code: str, withheld: str) -> str:
        return rel_mod.reason_text(code, withheld, self.rules)

    @property
    def label(self) -> str:
        return f"{self.year}#{self.number}"


def read(session: Session, who: Principal, year: int, number: int | None = None) -> ReleaseView:
    """Release `number` of cycle `year` (default: the latest not withdrawn) as `who` reads it."""
    rel = rel_mod.require_latest(session, year) if number is None else rel_mod.get(
        session, year, number)
    obs, groups = rel_mod.snapshot(rel)
    obs, members = _VISIBLE.get((rel_mod.identity(rel), year, who.role, who.member, who.assigned),
                                lambda: _visible(who, obs, year))
    audience = "wco" if who.sees_all else who.audience
    stats = rel_mod.statistics(session, rel, audience)
    rules = Rules(min_n=rel.min_n, dominance_p=rel.dominance_p, protection_p=rel.protection_p)
    fw = framework_of(get_cycle(session, year))
    return ReleaseView(year, rel.number, rel, fw, who, audience, obs, groups, stats, rules,
                       members)


def _visible(who: Principal, obs: pd.DataFrame, year: int) -> tuple[pd.DataFrame, frozenset[str]]:
    members = frozenset(obs.loc[obs["validated"].astype(bool), "member"])
    return obs[visible(who, obs, cycle=year)].reset_index(drop=True), members


def previous(session: Session, who: Principal, year: int) -> ReleaseView | None:
    """The latest release of the cycle before `year`, if there is one."""
    before = previous_year(session, year)
    if before is None or rel_mod.latest(session, before) is None:
        return None
    return read(session, who, before)


def member_name(code: str, lang: str) -> str:
    m = member_record(code)
    return m.name_fr if lang == "fr" else m.name_en
