"""The disclosure policy, in one place: who is looking decides which individual values they see.

Every read of member data in `pmm.analysis` goes through `visible(viewer, rows)`; pages, the API
and exports call the same function. The policy (docs/analysis.md has the table):

- the Secretariat sees every value;
- a member's NCP or viewer always sees all of its own member's data, whatever its state;
- NCPs (the WCO-level audience) and peer reviewers see other members' values disclosed at WCO
  level or public; a member's viewer (read-only account) sees other members' public values only;
- a peer reviewer also sees everything of the submissions assigned to them;
- the public and members of working bodies see public values.

Other members' values are visible only once their submission is validated (or published): what is
not validated is not a result yet. Statistics over groups of members are not individual values:
they may use every validated value, and are released only through `pmm.analysis.sdc`, which
protects the values that this function hides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pmm.errors import PmmError
from pmm.framework.model import DISCLOSURE_LEVELS, Framework
from pmm.i18n import _

KINDS = ("public", "working_body", "wco", "ncp", "member_viewer", "peer_reviewer", "secretariat")
MEMBER_KINDS = ("ncp", "member_viewer")
RANK = {level: i for i, level in enumerate(DISCLOSURE_LEVELS)}  # public 0, wco 1, restricted 2
# The widest disclosure level each kind may see in other members' validated data.
_SEES = {"public": 0, "working_body": 0, "member_viewer": 0, "wco": 1, "ncp": 1,
         "peer_reviewer": 1, "secretariat": 2}
VALIDATED_STATES = ("validated", "published")


@dataclass(frozen=True)
class Viewer:
    """Who is looking.

    `kind`: public, working_body, wco (any member's NCP, seen without a member of its own), ncp,
    member_viewer, peer_reviewer or secretariat. `member`: the ISO3 code of an NCP's or member
    viewer's administration. `assigned`: the submissions a peer reviewer is assigned to, as
    (cycle year, member) pairs.
    """

    kind: str
    member: str | None = None
    assigned: frozenset[tuple[int, str]] = field(default_factory=frozenset)
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PmmError(_("viewer kind {value!r}: expected one of {expected}").format(
                value=self.kind, expected=", ".join(KINDS)))
        if self.kind in MEMBER_KINDS:
            if not self.member:
                raise PmmError(_("viewer kind {kind} needs the member's ISO3 code").format(
                    kind=self.kind))
            object.__setattr__(self, "member", self.member.strip().upper())
        elif self.member:
            raise PmmError(_("viewer kind {kind} is not tied to a member; leave the member out")
                           .format(kind=self.kind))
        if self.assigned and self.kind != "peer_reviewer":
            raise PmmError(_("only a peer reviewer has assigned submissions (viewer kind {kind})")
                           .format(kind=self.kind))
        object.__setattr__(self, "assigned", frozenset(
            (int(c), str(m).upper()) for c, m in self.assigned))

    @property
    def label(self) -> str:
        if self.kind in MEMBER_KINDS:
            return f"{self.kind}:{self.member}"
        if self.kind == "peer_reviewer" and self.name:
            return f"reviewer:{self.name}"
        return self.kind

    @property
    def sees_all(self) -> bool:
        return self.kind == "secretariat"


def parse_viewer(text: str) -> Viewer:
    """`public`, `working_body`, `wco`, `secretariat`, `member:ISO3` (= `ncp:ISO3`, the member's
    NCP), `viewer:ISO3` (a member's read-only viewer) or `reviewer:NAME` (a peer reviewer; its
    assignments are read from the database by the caller)."""
    raw = text.strip()
    kind, _sep, arg = raw.partition(":")
    kind = kind.lower().replace("-", "_")
    if kind in ("public", "working_body", "wco", "secretariat") and not arg:
        return Viewer(kind)
    if kind in ("member", "ncp") and arg:
        return Viewer("ncp", member=_member_code(arg, raw))
    if kind == "viewer" and arg:
        return Viewer("member_viewer", member=_member_code(arg, raw))
    if kind in ("reviewer", "peer_reviewer") and arg:
        return Viewer("peer_reviewer", name=arg)
    raise PmmError(_("--viewer {value!r}: expected public, working_body, wco, secretariat, "
                     "member:ISO3, viewer:ISO3 or reviewer:USER").format(value=text))


def _member_code(code: str, raw: str) -> str:
    from pmm.members import member

    try:
        return member(code).iso3
    except PmmError as exc:
        raise PmmError(*(f"--viewer {raw}: {line}" for line in exc.lines)) from None


def visible(viewer: Viewer, rows: pd.DataFrame, cycle: int | None = None) -> np.ndarray:
    """Boolean mask: which rows' individual values `viewer` may see.

    `rows` needs `member` and `disclosure` (public, wco, restricted); `validated` (bool, default
    True) and `cycle` (default the `cycle` argument) are used when present. Vectorised over rows.
    """
    n = len(rows)
    if viewer.sees_all:
        return np.ones(n, dtype=bool)
    missing = [c for c in ("member", "disclosure") if c not in rows.columns]
    if missing:
        raise PmmError(_("disclosure check: rows lack column(s) {columns}").format(
            columns=", ".join(missing)))
    disclosure = rows["disclosure"].astype(object).to_numpy()
    known = np.isin(disclosure, DISCLOSURE_LEVELS)
    if not known.all():
        bad = sorted({str(d) for d in disclosure[~known]})
        raise PmmError(_("disclosure {values}: expected one of {expected}").format(
            values=", ".join(bad), expected=", ".join(DISCLOSURE_LEVELS)))
    level = np.vectorize(RANK.__getitem__, otypes=[int])(disclosure) if n else np.zeros(0, int)
    validated = (rows["validated"].to_numpy(bool) if "validated" in rows.columns
                 else np.ones(n, dtype=bool))
    members = rows["member"].astype(str).to_numpy()
    mask = validated & (level <= _SEES[viewer.kind])
    if viewer.kind in MEMBER_KINDS:
        mask |= members == viewer.member
    if viewer.kind == "peer_reviewer" and viewer.assigned:
        if "cycle" in rows.columns:
            cycles = rows["cycle"].astype(int).to_numpy()
        elif cycle is not None:
            cycles = np.full(n, int(cycle))
        else:
            raise PmmError(_("disclosure check for a peer reviewer: rows need a cycle"))
        keys = pd.MultiIndex.from_arrays([cycles, members])
        assigned = pd.MultiIndex.from_tuples(sorted(viewer.assigned))
        mask |= keys.isin(assigned)
    return mask


def most_restrictive(levels: Iterable[str]) -> str:
    """The most restrictive of disclosure levels (public for none)."""
    ranks = [RANK[level] for level in levels]
    return DISCLOSURE_LEVELS[max(ranks)] if ranks else "public"


def composite_disclosure(kpi_disclosure: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """Disclosure of each member's outcome and dimension scores.

    A composite of one hidden input and visible ones would reveal the hidden input, so a score
    takes the most restrictive disclosure of every KPI under it (whatever their status).
    `kpi_disclosure`: member, kpi, disclosure. Returns member, level, code, disclosure.
    """
    outcome_of = {k.code: k.outcome for k in fw.kpis}
    dimension_of = {o.code: o.dimension for o in fw.outcomes}
    frame = kpi_disclosure[["member", "kpi", "disclosure"]].copy()
    frame["rank"] = frame["disclosure"].map(RANK)
    frame["outcome"] = frame["kpi"].map(outcome_of)
    frame["dimension"] = frame["outcome"].map(dimension_of)
    out = []
    for level in ("outcome", "dimension"):
        worst = frame.dropna(subset=[level]).groupby(["member", level], as_index=False)["rank"] \
            .max().rename(columns={level: "code"})
        worst["level"] = level
        worst["disclosure"] = worst["rank"].map(dict(enumerate(DISCLOSURE_LEVELS)))
        out.append(worst[["member", "level", "code", "disclosure"]])
    return pd.concat(out, ignore_index=True)
