"""`pmm demo`: a realistic, synthetic, reproducible PMM history in the embedded database.

Members' users for every role, and two cycles: 2022 (62 participants, as in the first cycle of
the PMM, closed, mostly published) and 2024 (a larger, different set, open, every workflow state
present). Values are drawn from a seeded generator and derived from the framework itself:

- each KPI gets a value per member from its scoring rule (goalposts, bands, target) and the
  member's latent maturity; the KPI's formula is then solved for one of its data items (by
  vectorised bisection on a multiplier), the others coming from size-based defaults;
- parts never exceed their wholes, breakdowns add up to their totals, counts are whole;
- public first-cycle facts: electronic declarations average about 98%, and only 24 of the 62
  participants report the e-commerce share in 2022.

Everything goes through the same services as real users (imports, explanations, submissions,
reviews, validation, publication), so the audit trail shows the whole seeded history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pmm.access import Principal
from pmm.assessment import review as reviews
from pmm.assessment import workflow
from pmm.assessment.cycles import create_cycle, set_state
from pmm.assessment.submissions import (
    ItemChange,
    KpiChange,
    apply_changes,
    explain,
    start_submission,
)
from pmm.assessment.validation import required_refs
from pmm.conventions import format_breakdown
from pmm.errors import PmmError
from pmm.framework import formula as formulas
from pmm.framework.model import KPI, Framework
from pmm.i18n import _
from pmm.store.engine import display_url, resolve_url, transaction
from pmm.store.migrate import upgrade
from pmm.store.models import Cycle, User
from pmm.store.users import add_user, hash_password, principal_for

PASSWORD = "pmm-demo-2024"  # every demo account; documented in docs/secretariat-guide.md
FRAMEWORK = "wco-pmm-v1"
UTC = dt.UTC

# Typical magnitudes of the data items that nothing else derives from (log10 of the value
# per 100 000 declarations, or absolute where marked); unknown items fall back on their type.
PER_DECLARATIONS = {"trade_value": 9.3, "revenue_assessed": 8.3, "physical_controls": 4.0,
                    "pca_audits": 2.3, "seizures": 3.0, "aeo_count": 1.9, "permits_issued": 4.2,
                    "disputes_cvo": 2.1, "appeals_decided": 1.9, "drug_controls": 3.2,
                    "ipr_applications": 1.6, "waste_ods_seizures": 0.6,
                    "cargo_consignments": 4.9, "requests_for_information": 2.2,
                    "staff": 3.4, "integrity_complaints": 1.3, "advance_rulings_issued": 2.3,
                    "customs_offices": 1.7, "revenue_target": 8.3, "tax_revenue_total": 9.0,
                    "operating_expenditure": 6.8}
ABSOLUTE = {"border_agencies": (8, 30), "aeo_mras": (0, 9), "declaration_data_elements":
            (80, 160), "trade_consultations": (1, 12), "tfa_info_items_published": (3, 10)}
TYPE_DEFAULT = {"count": 2.0, "currency": 8.0}  # log10 per 100 000 declarations
HOURS = {"hours": (4.0, 120.0), "days": (5.0, 120.0), "percentage": (5.0, 95.0),
         "number": (1.0, 100.0)}
MODES = ("1", "3", "4")  # maritime, road, air: the transport modes the demo reports
NA_REASONS = {
    "transit": "No transit regime in operation: the territory has no land border crossed by "
               "transit traffic.",
    "aeo": "The AEO programme is being set up; no operator is authorised yet.",
    "revenue_target": "The Ministry of Finance sets no revenue target for Customs.",
    "cites": "CITES enforcement lies with the environment agency, not with Customs.",
    "ecommerce": "E-commerce shipments are not flagged in the declaration data.",
    "other": "Not part of this administration's mandate (national specificity).",
}
EXPLANATIONS = [
    "Checked with the statistics unit: the figure is correct.",
    "New electronic system in production since the start of the year.",
    "Exceptional year: a large seizure operation with partner agencies.",
    "Change of counting method agreed with the Ministry of Finance.",
    "The administration is small: a handful of cases changes the figure a lot.",
]


@dataclass
class Latent:
    """Per-member hidden traits the values are drawn from."""

    log_decl: np.ndarray
    maturity: np.ndarray
    growth: np.ndarray


class Generator:
    """Draws every data item of the framework for a set of members at once (numpy columns)."""

    def __init__(self, fw: Framework, latent: Latent, rng: np.random.Generator, year: int
                 ) -> None:
        self.fw, self.lat, self.rng, self.year = fw, latent, rng, year
        self.n = len(latent.maturity)
        self.items = {d.code: d for d in fw.data_items}
        self.vals: dict[tuple[str, int], dict[str, np.ndarray]] = {}  # (item, off) → bd → col

    # -- blocks: all breakdowns of one item in one year
    def _split_keys(self, item: str) -> list[tuple[str, tuple[str, ...]]]:
        d = self.items[item]
        out = []
        for key in d.breakdowns:
            values = tuple(self.fw.breakdown_values(item, key))
            if key == "transport_mode":
                values = tuple(v for v in MODES if v in values)
            out.append((key, values))
        return out

    def _root(self, item: str) -> np.ndarray:
        d = self.items[item]
        lo, hi = d.bounds()
        if item == "declarations":
            total = 10 ** self.lat.log_decl
        elif item in ABSOLUTE:
            a, b = ABSOLUTE[item]
            total = a + (b - a) * np.clip(self.lat.maturity + self.rng.normal(0, .15, self.n),
                                          0, 1)
        elif d.type in ("count", "currency"):
            per = PER_DECLARATIONS.get(item, TYPE_DEFAULT[d.type])
            total = 10 ** (per + (self.lat.log_decl - 5) * 0.85
                           + self.rng.normal(0, 0.25, self.n))
        elif d.type == "yes_no":
            total = (self.rng.random(self.n) < 0.3 + 0.6 * self.lat.maturity).astype(float)
        else:
            a, b = HOURS.get(d.type, (1.0, 100.0))
            total = np.exp(np.log(a) + (np.log(b) - np.log(a))
                           * np.clip(1 - self.lat.maturity + self.rng.normal(0, .15, self.n),
                                     0.02, 1))
        if lo is not None or hi is not None:
            total = np.clip(total, lo if lo is not None else -np.inf,
                            hi if hi is not None else np.inf)
        return total

    def _spread(self, item: str, total: np.ndarray) -> dict[str, np.ndarray]:
        """Breakdown values of a block from its total (additive types split, others vary)."""
        d = self.items[item]
        block = {"": total}
        for key, values in self._split_keys(item):
            if d.type in ("count", "currency"):
                weights = self.rng.dirichlet(np.full(len(values), 2.0), self.n)
                for i, v in enumerate(values):
                    block[format_breakdown({key: v})] = total * weights[:, i]
            else:
                for v in values:
                    block[format_breakdown({key: v})] = total * np.exp(
                        self.rng.normal(0, 0.35, self.n))
        return block

    def ensure(self, item: str, off: int) -> None:
        """Draw the block (item, year offset) unless it exists."""
        if (item, off) in self.vals or item not in self.items:
            return
        other = (item, -1 - off if off in (0, -1) else 0)
        if other in self.vals:  # the other year exists: grow or shrink from it
            factor = 1 + self.lat.growth + self.rng.normal(0, 0.04, self.n)
            if off < other[1]:
                factor = 1 / factor
            d = self.items[item]
            if d.type in ("percentage", "yes_no"):
                factor = np.ones(self.n)
            self.vals[(item, off)] = {bd: col * factor for bd, col in self.vals[other].items()}
            return
        d = self.items[item]
        if d.part_of and d.part_of in self.items:
            self.ensure(d.part_of, off)
            whole = self.vals[(d.part_of, off)]
            share = np.clip(self.rng.beta(2 + 4 * self.lat.maturity, 3, self.n), 0.01, 1)
            block = {bd: whole.get(bd, whole[""]) * share
                     for bd in self._spread(item, np.ones(self.n))}
            self.vals[(item, off)] = block  # the same share in every breakdown: sums hold
            return
        self.vals[(item, off)] = self._spread(item, self._root(item))

    # -- KPIs
    def draw_kpi(self, kpi: KPI) -> np.ndarray | None:
        """A KPI value per member from its scoring rule and the members' maturity."""
        q = np.clip(self.lat.maturity + self.rng.normal(0, 0.12, self.n), 0.01, 0.99)
        q = q if kpi.direction == "higher" else 1 - q
        rule = kpi.scoring
        items = {r.item for r in required_refs(self.fw, kpi)}
        if "declarations_electronic" in items:  # first cycle: 98.1% on average
            return 100 - np.minimum(self.rng.exponential(2.0, self.n), 40)
        if rule.method == "goalposts":
            return rule.low + (rule.high - rule.low) * q
        if rule.method == "bands":
            t = sorted(b.threshold for b in rule.bands)
            lo, hi = t[0] * 0.5, t[-1] * 1.15
            if kpi.unit == "percent" and hi > 100 and lo < 100:
                hi = max(t[-1], min(hi, 100.0))
            return lo + (hi - lo) * q
        if rule.method == "distance_to_target":
            return rule.target * (0.55 + 0.7 * q)
        if kpi.unit == "percent":
            return 100 * np.clip(self.rng.beta(1 + 3 * q, 3), 0.001, 1)
        return None

    def _resolve(self, ref: formulas.Ref, override: tuple | None = None) -> formulas.Values:
        key = (ref.item, ref.year)
        block = self.vals.get(key)
        if block is None:
            return formulas.Values.missing(self.n, "missing")
        column = block.get(format_breakdown(dict(ref.breakdown)))
        if column is None:
            return formulas.Values.missing(self.n, "missing")
        if override is not None and override[0] == key:
            column = column * override[1]
        return formulas.Values.of(column)

    def _expand(self, ref: formulas.Ref) -> list[formulas.Ref]:
        block = self.vals.get((ref.item, ref.year), {})
        out = []
        for bd in block:
            pairs = dict(p.split("=") for p in bd.split(";")) if bd else {}
            if all(k in pairs and (v == "*" or pairs[k] == v) for k, v in ref.breakdown):
                out.append(formulas.Ref(ref.item, ref.year, tuple(sorted(pairs.items()))))
        return out

    def solve(self, kpi: KPI) -> None:
        """Draw the KPI's inputs so that it takes a plausible value."""
        refs = list(required_refs(self.fw, kpi))
        unknown = [r for r in refs if (r.item, r.year) not in self.vals and r.item in self.items]
        target_value = self.draw_kpi(kpi) if unknown else None
        if target_value is None:
            for r in refs:
                self.ensure(r.item, r.year)
            return
        current = [r for r in unknown if r.year == 0] or unknown
        target = min(current, key=lambda r: _position(kpi.formula, r.item))
        for r in refs:
            if (r.item, r.year) != (target.item, target.year):
                self.ensure(r.item, r.year)
        self.ensure(target.item, target.year)
        expr = formulas.parse(kpi.formula)
        key = (target.item, target.year)

        def f(k: np.ndarray) -> np.ndarray:
            return formulas.evaluate(expr, lambda r: self._resolve(r, (key, k)), self.n,
                                     self._expand).value

        lo, hi = np.full(self.n, -6.0), np.full(self.n, 6.0)
        rising = f(np.full(self.n, 10.0)) >= f(np.full(self.n, 0.1))
        for _step in range(45):
            mid = (lo + hi) / 2
            above = f(10 ** mid) > target_value
            go_down = np.where(rising, above, ~above)
            hi, lo = np.where(go_down, mid, hi), np.where(go_down, lo, mid)
        k = 10 ** ((lo + hi) / 2)
        k = np.where(np.isfinite(k), k, 1.0)
        self.vals[key] = {bd: col * k for bd, col in self.vals[key].items()}

    def finish(self) -> None:
        """Whole numbers, bounds, parts within wholes, additive breakdowns = totals."""
        order = sorted(self.vals, key=lambda k: self._depth(k[0]))
        for key in order:
            item, _off = key
            d = self.items[item]
            block = self.vals[key]
            lo, hi = d.bounds()
            for bd in block:
                col = np.clip(block[bd], lo if lo is not None else -np.inf,
                              hi if hi is not None else np.inf)
                if d.type in ("count", "yes_no"):
                    col = np.round(col)
                elif d.type == "currency":
                    col = np.round(col, 0)
                else:
                    col = np.round(col, 1)
                block[bd] = col
            whole = self.vals.get((d.part_of, key[1])) if d.part_of else None
            if whole is not None:
                for bd in block:
                    block[bd] = np.minimum(block[bd], whole.get(bd, whole[""]))
            if d.type in ("count", "currency"):
                for k_name, values in self._split_keys(item):
                    parts = [block[format_breakdown({k_name: v})] for v in values]
                    block[""] = np.sum(parts, axis=0)
                if whole is not None:
                    block[""] = np.minimum(block[""], whole[""])

    def _depth(self, item: str) -> int:
        depth, seen = 0, item
        while seen in self.items and self.items[seen].part_of:
            seen = self.items[seen].part_of
            depth += 1
        return depth


def _position(text: str, item: str) -> int:
    """Where a data item is first written in a formula (the numerator comes first)."""
    import re

    found = re.search(rf"\b{re.escape(item)}\b", text)
    return found.start() if found else len(text)


def _participants(members: list, rng: np.random.Generator, n2022: int, n2024: int
                  ) -> tuple[list, list]:
    codes = [m.iso3 for m in members]
    weights = np.array([{"high": 1.4, "upper_middle": 1.2, "lower_middle": 1.0, "low": 0.7}
                        .get(m.income_group, 0.8) for m in members])
    first = list(rng.choice(codes, n2022, replace=False, p=weights / weights.sum()))
    # most 2022 participants take part again, never more than the 2024 cycle holds
    stay = list(rng.choice(first, min(int(n2022 * 0.8), n2024), replace=False))
    rest = [c for c in codes if c not in first]
    extra = list(rng.choice(rest, n2024 - len(stay), replace=False))
    return sorted(first), sorted(stay + extra)


def _latent(members: dict, codes: list[str], rng: np.random.Generator) -> Latent:
    bonus = {"high": 0.12, "upper_middle": 0.04, "lower_middle": -0.05, "low": -0.15}
    m = np.array([bonus.get(members[c].income_group, 0.0) for c in codes])
    return Latent(log_decl=np.clip(rng.normal(5.2, 0.8, len(codes)), 3.4, 7.3),
                  maturity=np.clip(rng.beta(5, 2.5, len(codes)) + m, 0.05, 0.97),
                  growth=rng.normal(0.03, 0.05, len(codes)))


def _reason(kpi: KPI, fw: Framework, refs_items: set[str]) -> str:
    if any("transit" in i for i in refs_items):
        return NA_REASONS["transit"]
    if any(i.startswith("aeo") or i.endswith("_aeo") for i in refs_items):
        return NA_REASONS["aeo"]
    if "revenue_target" in refs_items:
        return NA_REASONS["revenue_target"]
    if "cites" in kpi.formula:
        return NA_REASONS["cites"]
    return NA_REASONS["other"]


@dataclass
class Plan:
    """What the demo reports for one member: values, KPI statuses and the state to reach."""

    member: str
    items: list[ItemChange]
    kpis: list[KpiChange]
    state: str


def build_plans(fw: Framework, year: int, codes: list[str], members: dict,
                rng: np.random.Generator, states: list[str], ecommerce: int) -> list[Plan]:
    """Values and statuses for every participant of a cycle (deterministic for a seed)."""
    gen = Generator(fw, _latent(members, codes, rng), rng, year)
    for kpi in fw.kpis:
        gen.solve(kpi)
    gen.finish()
    n = len(codes)
    # Some members had an unusual year: a jump from T-1 to T that needs an explanation.
    parts_of = {d.part_of for d in fw.data_items if d.part_of}
    jumpy = [item for (item, off) in gen.vals if off == -1 and (item, 0) in gen.vals
             and item not in parts_of and not gen.items[item].part_of
             and not gen.items[item].breakdowns and gen.items[item].type == "count"]
    if jumpy:
        for i in np.flatnonzero(rng.random(n) < 0.2):
            block = gen.vals[(str(rng.choice(jumpy)), 0)]
            block[""][i] = np.round(block[""][i] * 2.2 + 10)
    ecommerce_items = {d.code for d in fw.data_items if "ecommerce" in d.code}
    reports_ecommerce = np.zeros(n, bool)
    reports_ecommerce[rng.choice(n, min(ecommerce, n), replace=False)] = True
    plans = []
    kpi_items = {k.code: {r.item for r in required_refs(fw, k)} for k in fw.kpis}
    for i, code in enumerate(codes):
        state = states[i]
        info = members[code]
        kpis: list[KpiChange] = []
        for kpi in fw.kpis:
            items = kpi_items[kpi.code]
            na = None
            if items & ecommerce_items and not reports_ecommerce[i]:
                kpis.append(KpiChange(kpi.code, "not_available", None, NA_REASONS["ecommerce"]))
                continue
            if items & ecommerce_items:
                pass  # reported exactly when the member reports e-commerce (24 in 2022)
            elif any("transit" in it for it in items) and info.geography == "sids":
                na = NA_REASONS["transit"]
            elif rng.random() < 0.03:
                na = _reason(kpi, fw, items)
            if na:
                kpis.append(KpiChange(kpi.code, "not_applicable", None, na))
            elif rng.random() < 0.03 and not items & ecommerce_items:
                kpis.append(KpiChange(kpi.code, "not_available", None,
                                      f"Not collected in {year}."))
            elif rng.random() < 0.15:
                level = rng.choice(["public", "wco", "restricted"])
                kpis.append(KpiChange(kpi.code, None, str(level), ""))
        items_out: list[ItemChange] = []
        for (item, off), block in gen.vals.items():
            for bd, col in block.items():
                value = float(col[i])
                if item in ecommerce_items and not reports_ecommerce[i]:
                    if off == 0 and bd == "":
                        items_out.append(ItemChange(item, year + off, bd, None,
                                                    "not_available"))
                    continue
                if not np.isfinite(value):
                    continue
                items_out.append(ItemChange(item, year + off, bd, value))
        if state == "draft" and rng.random() < 0.6:  # drafts are often incomplete
            keep = rng.random(len(items_out)) > 0.35
            items_out = [c for c, k in zip(items_out, keep, strict=True) if k]
        plans.append(Plan(code, items_out, kpis, state))
    return plans


STATES_2024 = (["draft"] * 10 + ["submitted"] * 18 + ["review_requested"] * 5
               + ["in_review"] * 4 + ["changes_requested"] * 3 + ["resubmitted"] * 3
               + ["validated"] * 22)


def _states(n: int, pattern: list[str], rng: np.random.Generator) -> list[str]:
    out = (pattern + ["published"] * n)[:n]
    return list(rng.permutation(out))


class Clock:
    """Deterministic timestamps moving forward through a period."""

    def __init__(self, start: dt.datetime, end: dt.datetime, steps: int) -> None:
        self.t, self.step = start, (end - start) / max(steps, 1)

    def tick(self) -> dt.datetime:
        self.t += self.step
        return self.t


def seed_demo(url: str | None = None, *, participants_2022: int = 62,
              participants_2024: int = 90, seed: int = 2024) -> list[str]:
    """Create the demo data in an empty database; returns the lines to print."""
    if not 10 <= participants_2024 <= 187 or not 10 <= participants_2022 <= 187:
        raise PmmError(_("--members {n}: expected 10 to 187").format(n=participants_2024))
    upgrade(url)
    from pmm.framework.loader import load
    from pmm.members import load_members

    with transaction(url) as session:
        if session.scalar(select(func.count()).select_from(User)) or session.scalar(
                select(func.count()).select_from(Cycle)):
            raise PmmError(_("The database {url} already holds data: the demo needs a new, "
                             "empty database (remove the file, or use --database-url).")
                           .format(url=display_url(resolve_url(url))))
    rng = np.random.default_rng(seed)
    fw = load(FRAMEWORK)
    members = {m.iso3: m for m in load_members() if m.income_group}
    first, second = _participants(list(members.values()), rng, participants_2022,
                                  participants_2024)
    pw = hash_password(PASSWORD)
    t0 = dt.datetime(2023, 11, 20, 9, 0, tzinfo=UTC)
    with transaction(url) as session:
        add_user(session, "admin", "admin", name="Platform administrator (demo)",
                 password_hash=pw, actor="demo", now=t0)
        add_user(session, "secretariat", "secretariat", name="WCO Secretariat (demo)",
                 password_hash=pw, actor="demo", now=t0)
        add_user(session, "wb-pmmpt", "working_body", name="PMM Project Team member (demo)",
                 password_hash=pw, actor="demo", now=t0)
        for i in range(1, 4):
            add_user(session, f"reviewer{i}", "peer_reviewer", name=f"Peer reviewer {i} (demo)",
                     password_hash=pw, actor="demo", now=t0)
        for code in sorted(set(first) | set(second)):
            add_user(session, f"ncp-{code.lower()}", "ncp", member=code,
                     name=f"National Contact Point, {members[code].name_en}",
                     password_hash=pw, actor="demo", now=t0)
        for code in sorted(second)[:5]:
            add_user(session, f"viewer-{code.lower()}", "viewer", member=code,
                     password_hash=pw, actor="demo", now=t0)
    with transaction(url) as session:
        sec = principal_for(session, "secretariat")

    _run_cycle(url, fw, 2022, first, members, rng, sec,
               states=_states(len(first), ["validated"] * 4 + ["reopened"] * 1, rng),
               ecommerce=24, dates=(dt.date(2023, 12, 5), dt.date(2024, 6, 30)),
               period=(dt.datetime(2023, 12, 6, 8, tzinfo=UTC),
                       dt.datetime(2024, 6, 20, 17, tzinfo=UTC)), close=True)
    _run_cycle(url, fw, 2024, second, members, rng, sec,
               states=_states(len(second), STATES_2024, rng),
               ecommerce=int(len(second) * 0.45), dates=(dt.date(2025, 12, 8),
                                                          dt.date(2027, 3, 31)),
               period=(dt.datetime(2025, 12, 9, 8, tzinfo=UTC),
                       dt.datetime(2026, 5, 29, 17, tzinfo=UTC)), close=False)
    from pmm.assessment.tables import cycle_tables

    lines = [_("Demo data in {url}:").format(url=display_url(resolve_url(url)))]
    reviewed = second[0]
    for year in (2022, 2024):
        t = cycle_tables(year, url)
        in_review = t.submissions[t.submissions["state"] == "in_review"]["member"]
        reviewed = in_review.iloc[0] if len(in_review) else reviewed
        counts = t.submissions["state"].value_counts().to_dict()
        e = t.values[(t.values.year == year) & (t.values.breakdown == "")].pivot_table(
            index="member", columns="data_item", values="value")
        rate = (100 * e["declarations_electronic"] / e["declarations"]).mean()
        eco = int((t.kpis["kpi"].isin([k.code for k in fw.kpis if "ecommerce_shipments" in
                                       {r.item for r in required_refs(fw, k)}][:1])
                   & (t.kpis["status"] == "reported")).sum())
        lines.append(_("  cycle {year}: {n} submissions ({states}); electronic declarations "
                       "{rate:.1f}% on average; {eco} report the e-commerce share").format(
            year=year, n=len(t.submissions), rate=rate, eco=eco,
            states=", ".join(f"{k} {v}" for k, v in sorted(counts.items()))))
    lines += [_("Users (password for all: {pw}):").format(pw=PASSWORD),
              "  admin (admin), secretariat (secretariat), wb-pmmpt (working_body), reviewer1..3 "
              "(peer_reviewer),",
              "  ncp-<iso3> for each participant, e.g. ncp-" + second[0].lower()
              + " (ncp), viewer-" + sorted(second)[0].lower() + " (viewer)",
              _("Try: pmm cycle show 2024 --as secretariat; pmm audit --cycle 2024 --member {m} "
                "--as secretariat (a peer review in progress)").format(m=reviewed)]
    return lines


def _run_cycle(url: str | None, fw: Framework, year: int, codes: list[str], members: dict,
               rng: np.random.Generator, sec: Principal, *, states: list[str], ecommerce: int,
               dates: tuple[dt.date, dt.date], period: tuple[dt.datetime, dt.datetime],
               close: bool) -> None:
    plans = build_plans(fw, year, codes, members, rng, states, ecommerce)
    clock = Clock(period[0], period[1], 14 * len(plans) + 10)
    created = dt.datetime.combine(dates[0], dt.time(9), UTC) - dt.timedelta(days=14)
    with transaction(url) as session:
        create_cycle(session, sec, year, FRAMEWORK, dates[0], dates[1], now=created)
        set_state(session, sec, year, "open", now=dt.datetime.combine(dates[0], dt.time(9),
                                                                      UTC))
    with transaction(url) as session:
        ncp = {p.member: principal_for(session, f"ncp-{p.member.lower()}") for p in plans}
    with transaction(url) as session:
        for p in plans:
            now = clock.tick()
            sub = start_submission(session, ncp[p.member], year, p.member, now=now)
            apply_changes(session, ncp[p.member], sub, p.items, p.kpis,
                          reason=_("import of {file}").format(
                              file=f"pmm-{year}-{p.member}.xlsx"), now=now)
    reviewer_names = ["reviewer1", "reviewer2", "reviewer3"]
    with transaction(url) as session:
        for i, p in enumerate(plans):
            if p.state != "draft":
                _advance(session, fw, year, p, i, ncp[p.member], sec, reviewer_names, rng,
                         clock)
    if close:
        with transaction(url) as session:
            set_state(session, sec, year, "closed",
                      now=dt.datetime.combine(dates[1], dt.time(18), UTC))


def _advance(session: Session, fw: Framework, year: int, p: Plan, i: int,
             actor: Principal, sec: Principal, reviewer_names: list[str],
             rng: np.random.Generator, clock: Clock) -> None:
    """Take one submission through the workflow to its planned state."""
    from pmm.assessment.submissions import comment, get_submission

    sub = get_submission(session, year, p.member)
    found = workflow.report(session, sub, actor)
    now = clock.tick()
    for w in found.warnings:
        explain(session, actor, sub, w.id, EXPLANATIONS[int(rng.integers(
            len(EXPLANATIONS)))], now=now)
    review = p.state in ("review_requested", "in_review", "changes_requested",
                         "resubmitted") or (p.state == "published" and i % 9 == 0)
    workflow.submit(session, actor, sub, request_review=review, now=clock.tick())
    if p.state in ("submitted", "review_requested") and not (
            p.state == "review_requested" and i % 2):
        return
    if review:
        reviews.assign(session, sec, sub, reviewer_names[i % 3], now=clock.tick())
        reviewer = principal_for(session, reviewer_names[i % 3])
        if p.state == "review_requested":
            return
        reviews.start(session, reviewer, sub, now=clock.tick())
        kpi = fw.kpis[i % len(fw.kpis)].code
        reviews.add_finding(session, reviewer, sub, "Source of the figures checked "
                            "against the annual report.", kpi=kpi, now=clock.tick())
        if p.state == "in_review":
            return
        if p.state in ("changes_requested", "resubmitted"):
            reviews.request_changes(session, reviewer, sub, "Please document the "
                                    "method for " + kpi + " and attach the source.",
                                    now=clock.tick())
            if p.state == "changes_requested":
                return
            comment(session, actor, sub, "Method documented; source attached to the "
                    "national annual report.", kpi=kpi, now=clock.tick())
            workflow.resubmit(session, actor, sub, now=clock.tick())
            return
        reviews.complete(session, reviewer, sub, "Data consistent with national "
                         "sources.", now=clock.tick())
    workflow.validate(session, sec, sub, now=clock.tick())
    if p.state == "reopened":
        workflow.reopen(session, sec, sub, "Revenue figures revised by the Ministry "
                        "of Finance after validation.", now=clock.tick())
        workflow.submit(session, actor, sub, now=clock.tick())
        workflow.validate(session, sec, sub, now=clock.tick())
        workflow.publish(session, sec, sub, now=clock.tick())
    elif p.state == "published":
        workflow.publish(session, sec, sub, now=clock.tick())
