"""The capacity-building support catalogue: kinds of support, and the tools and outcomes they
address. Shipped as data (`support.yaml`); a file of one's own loads the same way."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from pmm.errors import PmmError
from pmm.framework.model import Code, Framework, Text
from pmm.i18n import _

GAP_KINDS = ("target", "peer", "trend", "missing")
SHIPPED = resources.files("pmm.analysis") / "support.yaml"


class Support(BaseModel):
    """One kind of capacity-building support."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: Text
    description: Text = Text()
    kind: Literal["mission", "training", "programme", "technical_assistance"]
    provider: Text = Text()
    tools: list[Code] = []
    outcomes: list[Code] = []
    gaps: list[Literal["target", "peer", "trend", "missing"]] = Field(
        default_factory=lambda: list(GAP_KINDS))
    general: bool = False


@lru_cache(maxsize=8)
def _parsed(path: str, _mtime_ns: int, _size: int) -> object:
    """The file's YAML with its line numbers, parsed once per version of the file (a member's
    results page reads the catalogue on every request; parsing it is most of that page's
    time). Callers only read it."""
    try:
        return YAML(typ="rt").load(Path(path).read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise PmmError(_("{file}:{line}: not valid YAML: {error}").format(
            file=path, line=line, error=getattr(exc, "problem", exc))) from None


def load_support(path: str | Path | None = None, fw: Framework | None = None) -> list[Support]:
    """Read the catalogue (default: the shipped one); with `fw`, its tool and outcome codes are
    checked against the framework. Every defect is reported with file and line."""
    if path is None:
        with resources.as_file(SHIPPED) as shipped:
            return load_support(shipped, fw)
    path = Path(path)
    if not path.is_file():
        raise PmmError(_("{file}: no such file").format(file=path))
    stat = path.stat()
    data = _parsed(str(path), stat.st_mtime_ns, stat.st_size)
    if not isinstance(data, CommentedMap) or not isinstance(data.get("support"), CommentedSeq):
        raise PmmError(_("{file}:1: expected a mapping with a `support` list").format(file=path))
    entries = data["support"]
    errors: list[str] = []
    out: list[Support] = []
    seen: set[str] = set()
    tools = {t.code for t in fw.tools} if fw else None
    outcomes = {o.code for o in fw.outcomes} if fw else None
    for i, raw in enumerate(entries):
        line = entries.lc.item(i)[0] + 1
        where = f"{path}:{line}"
        try:
            item = Support.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                errors.append(_("{where}: support entry {n}: {field}: {message}").format(
                    where=where, n=i + 1, field=field, message=err["msg"]))
            continue
        if item.code in seen:
            errors.append(_("{where}: code {code} appears twice").format(where=where,
                                                                          code=item.code))
        seen.add(item.code)
        if tools is not None and outcomes is not None:
            for code in item.tools:
                if code not in tools:
                    errors.append(_("{where}: {code}: tools: {value!r} is not a tool of {fw}")
                                  .format(where=where, code=item.code, value=code, fw=fw.id))
            for code in item.outcomes:
                if code not in outcomes:
                    errors.append(_("{where}: {code}: outcomes: {value!r} is not an outcome of "
                                    "{fw}").format(where=where, code=item.code, value=code,
                                                   fw=fw.id))
        out.append(item)
    if errors:
        raise PmmError(*errors)
    if not out:
        raise PmmError(_("{file}: the support list is empty").format(file=path))
    return out


def support_frame(catalogue: list[Support], lang: str = "en") -> pd.DataFrame:
    """The catalogue as a table (one row per support type)."""
    return pd.DataFrame([{
        "code": s.code, "name": s.name.get(lang), "kind": s.kind,
        "provider": s.provider.get(lang), "tools": ";".join(s.tools),
        "outcomes": ";".join(s.outcomes), "gaps": ";".join(s.gaps), "general": s.general}
        for s in catalogue])


def match(catalogue: list[Support], kind: str, kpi_tools: list[str], outcome_tools: list[str],
          outcome: str, limit: int = 3) -> list[Support]:
    """The support types that address a gap, most relevant first.

    Specific types rank by how many of the KPI's own tools they cover, then by focus (the share
    of their tools that concern the KPI or its outcome), then by naming the outcome; at most
    `limit` of them. The general types (e.g. a diagnostic mission) come last.
    """
    relevant = set(kpi_tools) | set(outcome_tools)
    scored = []
    for order, s in enumerate(catalogue):
        if kind not in s.gaps or s.general:
            continue
        own = len(set(s.tools) & set(kpi_tools))
        focus = len(set(s.tools) & relevant) / max(len(s.tools), 1)
        named = outcome in s.outcomes
        if own or focus or named:
            scored.append(((-own, -focus, not named, order), s))
    specific = [s for _key, s in sorted(scored, key=lambda t: t[0])][:limit]
    general = [s for s in catalogue if s.general and kind in s.gaps]
    return specific + general
