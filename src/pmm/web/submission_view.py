"""A submission as the web shows it: lookups with web errors, the entry form of one outcome.

The form is generated from the framework: for each KPI of the outcome its status, disclosure
and note; for each data item its KPIs read, one field per year (T, and T-1 where a KPI uses it)
and breakdown. Field names carry the value's key, so messages of the services land next to
their field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session

from pmm import access
from pmm.analysis import release as rel_mod
from pmm.analysis.load import data_digest
from pmm.analysis.memo import Memo, database_of
from pmm.assessment import workflow
from pmm.assessment.cycles import framework_of
from pmm.assessment.exchange import format_value, grid
from pmm.assessment.submissions import find_submission
from pmm.errors import NotFound, PmmError
from pmm.framework.model import Framework, Outcome
from pmm.i18n import _
from pmm.store.models import Cycle, Submission
from pmm.store.users import check_member

Key = tuple[str, int, str]


def cycle_or_404(session: Session, year: int) -> Cycle:
    from sqlalchemy import select

    cycle = session.scalar(select(Cycle).where(Cycle.year == year))
    if cycle is None:
        raise NotFound(_("no cycle reports on {year}").format(year=year))
    return cycle


def member_or_404(member: str) -> str:
    try:
        return check_member(member)
    except PmmError:
        raise NotFound(_("no member {code!r} (expected an ISO 3166-1 alpha-3 code)").format(
            code=member)) from None


def lookup(session: Session, year: int, member: str) -> tuple[Cycle, str, Submission | None]:
    cycle = cycle_or_404(session, year)
    code = member_or_404(member)
    return cycle, code, find_submission(session, cycle, code)


def outcome_or_404(fw: Framework, code: str) -> Outcome:
    found = {o.code: o for o in fw.outcomes}.get(code)
    if found is None:
        raise NotFound(_("framework {fw} has no outcome {code!r}").format(fw=fw.id, code=code))
    return found


def value_field(key: Key) -> str:
    return f"v:{key[0]}:{key[1]}:{key[2]}"


def parse_value_field(name: str) -> Key | None:
    parts = name.split(":", 3)
    if len(parts) != 4 or parts[0] != "v" or not parts[2].lstrip("-").isdigit():
        return None
    return parts[1], int(parts[2]), parts[3]


@dataclass
class Field:
    key: Key
    name: str
    id: str
    label: str
    text: str  # shown in the input
    original: str  # as stored when the form was made
    errors: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # id, message, explained


@dataclass
class ItemGroup:
    code: str
    name: str
    definition: str
    type: str
    fields: list[Field]


@dataclass
class KpiRow:
    code: str
    name: str
    status: str
    disclosure: str
    note: str
    errors: list[str] = field(default_factory=list)


@dataclass
class EntryForm:
    outcome: Outcome
    items: list[ItemGroup]
    kpis: list[KpiRow]
    version: int
    general: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # label, yours, now

    def field(self, name: str) -> Field | None:
        for group in self.items:
            for f in group.fields:
                if f.name == name:
                    return f
        return None

    def place(self, lines: list[str]) -> None:
        """Put each `where: message` line next to its field, the rest above the form."""
        names = {f.name for g in self.items for f in g.fields}
        kpis = {k.code: k for k in self.kpis}
        for line in lines:
            where, sep, message = line.partition(": ")
            if sep and where in names:
                self.field(where).errors.append(message)  # type: ignore[union-attr]
            elif sep and where.startswith("kpi:") and where[4:] in kpis:
                kpis[where[4:]].errors.append(message)
            elif sep and parse_value_field(where) is not None:  # a value of another outcome
                item, year, breakdown = parse_value_field(where)  # type: ignore[misc]
                self.general.append(f"{item} {year}{' ' + breakdown if breakdown else ''}: "
                                    f"{message}")
            else:
                self.general.append(line)


def label_of(fw: Framework, key: Key, lang: str) -> str:
    _item, year, breakdown = key
    text = f"{year}"
    if breakdown:
        text += " · " + breakdown
    return text


def build_form(fw: Framework, year: int, outcome: Outcome, values: pd.DataFrame,
               kpis: dict[str, tuple[str, str, str]], version: int, lang: str) -> EntryForm:
    """The form of one outcome, filled with the stored values."""
    outcome_kpis = fw.kpis_of_outcome(outcome.code)
    items: list[str] = []
    for kpi in outcome_kpis:
        items += [i for i in kpi.data_items if i not in items]
    kinds = {d.code: d.type for d in fw.data_items}
    stored = {(r.data_item, int(r.year), r.breakdown): r.value
              for r in values.itertuples(index=False)}
    keys = [k for k in grid(fw, year) if k[0] in items]
    groups: dict[str, ItemGroup] = {}
    for n, key in enumerate(keys):
        d = fw.data_item(key[0])
        group = groups.setdefault(key[0], ItemGroup(d.code, d.name.get(lang),
                                                    d.definition.get(lang), d.type, []))
        text = format_value(kinds.get(key[0]), stored.get(key))
        group.fields.append(Field(key, value_field(key), f"f{n}", label_of(fw, key, lang),
                                  text, text))
    rows = []
    for kpi in outcome_kpis:
        status, disclosure, note = kpis.get(kpi.code, ("reported", kpi.disclosure, ""))
        rows.append(KpiRow(kpi.code, kpi.name.get(lang), status, disclosure, note))
    return EntryForm(outcome, [groups[i] for i in items if i in groups], rows, version)


def framework_for(cycle: Cycle) -> Framework:
    return framework_of(cycle)


@dataclass
class Post:
    """One message of a thread: a reviewer's finding or a comment."""

    kind: str  # "finding" or "comment"
    author: str
    at: object
    text: str
    round: int = 0  # the review round of a finding (1, 2, ...)


@dataclass
class Thread:
    kpi: str  # "" for the submission as a whole
    name: str
    posts: list[Post]


def threads(fw: Framework, rounds: list, notes: list, lang: str) -> list[Thread]:
    """Findings and comments as one conversation per KPI, in time order: the reviewer's
    finding, the NCP's answer, the next round's finding... The general thread comes first,
    then KPIs in framework order."""
    found: dict[str, list[Post]] = {}
    for number, (review, findings) in enumerate(rounds, start=1):
        for f in findings:
            found.setdefault(f.kpi or "", []).append(
                Post("finding", review.reviewer, f.at, f.text, number))
    for c in notes:
        found.setdefault(c.kpi or "", []).append(Post("comment", c.author, c.at, c.text))
    names = {k.code: k.name.get(lang) for k in fw.kpis}
    order = {"": -1, **{k.code: i for i, k in enumerate(fw.kpis)}}
    return [Thread(kpi, names.get(kpi, "") if kpi else _("The submission as a whole"),
                   sorted(posts, key=lambda p: p.at))
            for kpi, posts in sorted(found.items(), key=lambda kv: order.get(kv[0], 1 << 30))]


# A submission's validation report is derived from the cycle's data (its values, statuses and
# explanations, and the peers' validated values that outlier warnings compare with: all in the
# cycle's data digest, which every save changes), who reads it (peers are those the reader may
# know) and the language of its messages. Kept per process under exactly those inputs, read
# again in each request, so a save through any worker is seen by every worker at once.
_REPORTS: Memo[workflow.Report] = Memo(256)


def report_of(session: Session, cycle: Cycle, sub: Submission, who: access.Principal,
              lang: str) -> workflow.Report:
    """`pmm.assessment.workflow.report` of `sub` as `who` may see it (shared: do not modify)."""
    access.require(who, "read_submission", member=sub.member, year=cycle.year)
    key = (database_of(session), cycle.year, sub.member, data_digest(session, cycle.year), who,
           lang)
    return _REPORTS.get(key, lambda: workflow.report(session, sub, who))


# The members of a release never change (a new release has a new identity).
_RELEASED: Memo[frozenset[str]] = Memo(64)


def released_members(session: Session, years: set[int]) -> dict[int, frozenset[str]]:
    """The members in the latest release of each of `years` (a cycle without one is left out)."""
    out: dict[int, frozenset[str]] = {}
    for year in years:
        rel = rel_mod.latest(session, year)
        if rel is not None:
            out[year] = members_of(rel)
    return out


def members_of(rel: rel_mod.Release) -> frozenset[str]:
    """The members in release `rel` (kept per process under the release's identity)."""
    return _RELEASED.get(rel_mod.identity(rel), lambda: frozenset(
        str(m) for m in rel_mod.snapshot(rel)[0]["member"].unique()))
