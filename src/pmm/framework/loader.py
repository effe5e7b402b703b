"""Load a framework from YAML: one file, or a folder of files whose lists are merged.

Shipped catalogues live in `pmm/framework/catalog/`, each a folder named by its id. A user's file
(the official catalogue, once obtained) loads the same way, with no code change. Every item keeps
the file and line it came from, so errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pmm.errors import PmmError
from pmm.framework.model import Framework

CATALOG = resources.files("pmm.framework") / "catalog"
LIST_KEYS = ("working_bodies", "tools", "sdg_goals", "sdg_targets", "breakdowns", "dimensions",
             "outcomes", "data_items", "kpis")
SINGLE_KEYS = ("framework", "aggregation")


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class FrameworkError(PmmError):
    """A framework that cannot be read or fails the model; one line per defect."""


def shipped_ids() -> list[str]:
    """Ids of the catalogues shipped in the package."""
    return sorted(p.name for p in CATALOG.iterdir() if p.is_dir() and not p.name.startswith("_"))


def resolve(ref: str | Path) -> Path:
    """A shipped id, or a path to a YAML file or a folder of them."""
    path = Path(ref)
    if path.exists():
        return path
    if isinstance(ref, str) and ref in shipped_ids():
        return Path(str(CATALOG / ref))
    known = ", ".join(shipped_ids())
    raise FrameworkError(f"{ref}: no such framework file, folder or shipped id (shipped: {known})")


def yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        if not files:
            raise FrameworkError(f"{path}: folder holds no .yaml file")
        return files
    return [path]


def load(ref: str | Path) -> Framework:
    """Load and validate a framework, raising `FrameworkError` with file:line per defect."""
    if isinstance(ref, str) and not Path(ref).exists() and ref in shipped_ids():
        return _load_shipped(ref)
    framework, _ = load_with_locations(ref)
    return framework


@cache
def _load_shipped(framework_id: str) -> Framework:
    """Shipped catalogues are package data: read once per process (the model is immutable)."""
    return load_with_locations(framework_id)[0]


def load_with_locations(ref: str | Path) -> tuple[Framework, dict[tuple, Location]]:
    raw, locations = read_raw(resolve(ref))
    try:
        framework = Framework.model_validate(raw)
    except ValidationError as exc:
        raise FrameworkError(*_explain(exc, raw, locations)) from None
    return framework, locations


def read_raw(path: Path) -> tuple[dict[str, Any], dict[tuple, Location]]:
    """Merge the YAML files into one plain mapping and record where each item is."""
    problems: list[str] = []
    sources: list[tuple[str, str]] = []
    for file in yaml_files(path):
        try:
            sources.append((str(file), file.read_text(encoding="utf-8")))
        except UnicodeDecodeError as exc:
            problems.append(f"{file}:1: not valid YAML: {exc}")
    if problems:
        raise FrameworkError(*problems)
    merged, locations = read_texts(sources, origin=str(path))
    return merged, locations


def load_text(name: str, text: str) -> tuple[Framework, dict[tuple, Location]]:
    """A framework from one YAML text that came from outside (an upload named `name`).

    The text is untrusted: anchors and aliases are refused, since expanding them can make a
    small text into an enormous document."""
    try:
        raw, locations = read_texts([(name, text)], origin=name, aliases=False)
        framework = Framework.model_validate(raw)
    except ValidationError as exc:
        raise FrameworkError(*_explain(exc, raw, locations)) from None
    except RecursionError:  # the YAML reader recurses once per level of nesting
        raise FrameworkError(f"{name}:1: nested too deeply to be a framework") from None
    return framework, locations


def read_texts(sources: list[tuple[str, str]], *, origin: str,
               aliases: bool = True) -> tuple[dict[str, Any], dict[tuple, Location]]:
    """Merge YAML texts, each (name, text), into one plain mapping with where each item is."""
    merged: dict[str, Any] = {}
    locations: dict[tuple, Location] = {}
    problems: list[str] = []
    yaml = YAML(typ="rt")
    for name, text in sources:
        try:
            doc = yaml.load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problems.append(f"{name}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}")
            continue
        if doc is None:
            continue
        if not aliases:
            shared = _shared_node(doc)
            if shared is not None:
                problems.append(f"{name}:{shared}: YAML anchors and aliases are not accepted "
                                "here; write each item out in full")
                continue
        if not isinstance(doc, dict):
            problems.append(f"{name}:1: expected a mapping of sections at the top of the file")
            continue
        for key, value in doc.items():
            line = doc.lc.key(key)[0] + 1
            if key in SINGLE_KEYS:
                if key in merged:
                    problems.append(f"{name}:{line}: section '{key}' is given twice")
                merged[key] = _plain(value)
                locations[(key,)] = Location(name, line)
                if hasattr(value, "lc") and isinstance(value, dict):
                    for field in value:
                        locations[(key, field)] = Location(name, value.lc.key(field)[0] + 1)
            elif key in LIST_KEYS:
                if not isinstance(value, list):
                    problems.append(f"{name}:{line}: section '{key}' must be a list")
                    continue
                bucket = merged.setdefault(key, [])
                for i, item in enumerate(value):
                    item_line = value.lc.item(i)[0] + 1
                    index = len(bucket)
                    locations[(key, index)] = Location(name, item_line)
                    if isinstance(item, dict):
                        for field in item:
                            locations[(key, index, field)] = Location(
                                name, item.lc.key(field)[0] + 1)
                    bucket.append(_plain(item))
            else:
                expected = ", ".join(SINGLE_KEYS + LIST_KEYS)
                problems.append(f"{name}:{line}: unknown section '{key}' (expected one of: "
                                f"{expected})")
    if problems:
        raise FrameworkError(*problems)
    if "framework" not in merged:
        raise FrameworkError(f"{origin}: no 'framework' section (id, title, status, date)")
    return merged, locations


def locate(locations: dict[tuple, Location], *key: object) -> Location | None:
    """The most precise known location for a path into the raw data."""
    for end in range(len(key), 0, -1):
        found = locations.get(tuple(key[:end]))
        if found is not None:
            return found
    return None


def item_label(raw: dict[str, Any], section: str, index: int) -> str:
    try:
        item = raw[section][index]
        return str(item.get("code") or item.get("key") or f"#{index + 1}")
    except (KeyError, IndexError, AttributeError, TypeError):
        return f"#{index + 1}"


def _explain(exc: ValidationError, raw: dict, locations: dict[tuple, Location]) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.endswith("Rule"))]
        where = locate(locations, *loc)
        prefix = f"{where}: " if where else ""
        subject = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and isinstance(loc[1], int):
            label = item_label(raw, str(loc[0]), loc[1])
            field = ".".join(str(p) for p in loc[2:])
            subject = f"{loc[0]} {label}" + (f": field '{field}'" if field else "")
        value = error.get("input")
        shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
        lines.append(f"{prefix}{subject}: {error['msg']}{shown}")
    return lines


def _shared_node(doc: Any) -> int | None:
    """The line (1-based) of a mapping or list reached twice (an alias), else None."""
    seen: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if id(node) in seen:
            lc = getattr(node, "lc", None)
            return (lc.line + 1) if lc is not None and lc.line is not None else 1
        seen.add(id(node))
        stack.extend(node.values() if isinstance(node, dict) else node)
    return None


def _plain(value: Any) -> Any:
    """ruamel's commented containers to plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
