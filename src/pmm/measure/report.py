"""The report of a microdata check: findings by kind, each a count and a few examples.

Kept apart from `verify` (which makes reports) so that `saved` (which stores them beside the
data) and `verify` (which calls `saved`) need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pmm.i18n import N_, _, format_number
from pmm.measure.contract import TABLES

Severity = Literal["error", "warning"]
EXAMPLES = 3
# Kinds, their severity and a short title (the order is the order of the report).
KINDS: dict[str, tuple[Severity, str]] = {
    "unreadable_file": ("error", N_("files that cannot be read")),
    "missing_table": ("error", N_("required tables missing")),
    "missing_column": ("error", N_("required columns missing")),
    "bad_type": ("error", N_("cells of the wrong type")),
    "timezone": ("error", N_("timestamps without a time zone")),
    "null_value": ("error", N_("required cells empty")),
    "bad_value": ("error", N_("values outside the allowed set or range")),
    "duplicate_id": ("error", N_("duplicate ids")),
    "duplicate_event": ("error", N_("milestones recorded twice for a declaration")),
    "orphan_event": ("error", N_("events without a declaration")),
    "missing_lodgement": ("error", N_("declarations without a lodgement event")),
    "impossible_order": ("error", N_("milestones in an impossible order")),
    "negative_interval": ("error", N_("negative intervals")),
    "missing_milestone": ("warning",
                          N_("missing milestones (left out of the intervals that need them)")),
    "implausible_interval": ("warning", N_("implausibly long intervals")),
    "orphan_control": ("warning", N_("controls of declarations not in the extract")),
}


@dataclass
class Finding:
    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return KINDS[self.kind][0]


@dataclass
class Report:
    folder: Path
    findings: dict[str, Finding] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int, examples: list[str] = ()) -> None:  # type: ignore[assignment]
        f = self.findings.setdefault(kind, Finding(kind))
        f.count += count
        room = EXAMPLES - len(f.examples)
        if room > 0:
            f.examples.extend(list(examples)[:room])

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self._ordered() if f.severity == "error" and f.count]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self._ordered() if f.severity == "warning" and f.count]

    @property
    def ok(self) -> bool:
        return not self.errors

    def _ordered(self) -> list[Finding]:
        return [self.findings[k] for k in KINDS if k in self.findings]

    def lines(self, *, warnings: bool = True) -> list[str]:
        """The report as text: errors then warnings, each a count and a few examples."""
        out: list[str] = []
        for f in self.errors + (self.warnings if warnings else []):
            label = _("error") if f.severity == "error" else _("warning")
            out.append(f"{label}: {f.kind}: {f.count} — {_(KINDS[f.kind][1])}")
            out.extend(f"  {e}" for e in f.examples)
        return out

    def summary(self) -> str:
        rows = ", ".join(f"{t} {format_number(self.rows[t])}" for t in TABLES if t in self.rows)
        return _("{folder}: {errors} errors, {warnings} warnings ({rows})").format(
            folder=self.folder, errors=sum(f.count for f in self.errors),
            warnings=sum(f.count for f in self.warnings), rows=rows)
