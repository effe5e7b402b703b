"""The user documentation against the code: every English page has its French translation, and
every `pmm ...` command line in the docs and the README names commands and options that exist.

The commands are read from the docs' fenced code blocks and from inline code that starts with
`pmm `; they are checked against the Click tree of the real `pmm` app (what `--help` prints), so
an option renamed or removed in the code fails here until the docs follow.
"""

from __future__ import annotations

import importlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FRENCH = DOCS / "fr"

# English pages that have no French translation yet, each with the reason. Keep it short: the
# project's rule is English and French for everything a user reads.
NOT_TRANSLATED: dict[str, str] = {}

PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md"), *FRENCH.glob("*.md")])

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"`(pmm [^`]+)`")
# where a command starts inside a line of a code block: `pmm`, `.venv/bin/pmm`, `$ pmm`
START = re.compile(r"(?:^\s*(?:\$\s+)?(?:[A-Z_]+=\S*\s+)*|[;&|(]\s*)(?:[\w./-]*/)?pmm(?=\s)")
# shell syntax that ends one command: a comment, a pipe, a list, a redirection
SUBSHELL = re.compile(r"\$\([^)]*\)")
END = re.compile(r"\s(?:#|\|\s|;|&&|\|\||>|<|2>)")


@dataclass(frozen=True)
class Use:
    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def _code_lines(text: str) -> list[tuple[int, str]]:
    """The lines inside fenced code blocks, with their line numbers; backslash continuations
    joined."""
    out: list[tuple[int, str]] = []
    inside, pending, start = False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside, pending = not inside, ""
            continue
        if not inside:
            continue
        if pending:
            line = pending + " " + line.strip()
        else:
            start = number
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1]
            continue
        pending = ""
        out.append((start, line))
    return out


def _inline_spans(text: str) -> list[tuple[int, str]]:
    """Inline code that starts with `pmm `, outside code blocks (a span may wrap a line)."""
    out: list[tuple[int, str]] = []
    prose, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            prose.append("")
            continue
        prose.append("" if inside else line)
    joined = "\n".join(prose)
    for match in INLINE.finditer(joined):
        number = joined.count("\n", 0, match.start()) + 1
        out.append((number, " ".join(match.group(1).split())))
    return out


def _block_commands(text: str, name: str) -> list[Use]:
    found = []
    for number, line in _code_lines(text):
        for start in START.finditer(line):
            rest = line[start.end():]
            end = END.search(rest)
            command = "pmm" + (rest[: end.start()] if end else rest)
            found.append(Use(name, number, " ".join(command.split())))
    return found


def uses() -> list[Use]:
    found: list[Use] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(ROOT))
        found += _block_commands(text, name)
        for number, span in _inline_spans(text):
            end = END.search(span)
            found.append(Use(name, number, span[: end.start()] if end else span))
    return found


def _tokens(text: str) -> list[str]:
    text = SUBSHELL.sub("X", text)  # $(date -u +%F) is one word of the shell's
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote in prose: fall back to spaces
        words = text.split()
    # optional parts written as [--since 2022] are checked like the rest
    return [w.strip("[]") for w in words if w.strip("[]")]


@pytest.fixture(scope="module")
def root() -> tuple[Any, Any]:
    from pmm.cli import app

    command = typer.main.get_command(app)
    return command, typer.Context(command, info_name="pmm")


def _options(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def _flag_takes_value(command: Any, option: str) -> bool:
    for param in command.params:
        if option in param.opts or option in param.secondary_opts:
            return not getattr(param, "is_flag", False) and not getattr(param, "count", False)
    return False


_SUBS: dict[tuple[int, str], Any] = {}


def _sub(command: Any, ctx: Any, name: str) -> Any:
    """A sub-command, built once: the root builds a layer's whole Click tree on every lookup."""
    key = (id(command), name)
    if key not in _SUBS:
        _SUBS[key] = command.get_command(ctx, name)
    return _SUBS[key]


def problems(use: Use, root: tuple[Any, Any]) -> list[str]:
    """What is wrong with one command line: unknown commands or options."""
    command, ctx = root
    words = _tokens(use.text)[1:]
    path = ["pmm"]
    found: list[str] = []
    # the root's own options come before the command
    while words and words[0].startswith("-"):
        option = words.pop(0).split("=", 1)[0]
        if option not in _options(command):
            return [f"`pmm` has no option {option}"]
        if _flag_takes_value(command, option) and "=" not in option and words:
            words.pop(0)
    # follow sub-commands while the command is a group; `a|b|c` names several
    while words and hasattr(command, "get_command"):
        word = words[0]
        if word.startswith("-") or word in ("...", "…"):
            break
        names = word.split("|")
        subs = [_sub(command, ctx, name) for name in names]
        missing = [n for n, s in zip(names, subs, strict=True) if s is None]
        if missing:
            return [f"`{' '.join(path)}` has no command {', '.join(missing)}"]
        words.pop(0)
        path.append(word)
        if len(subs) > 1:  # alternatives: check the options against each of them
            for sub in subs:
                found += _check_options(sub, words, " ".join(path))
            return found
        command = subs[0]
        ctx = typer.Context(command, info_name=word, parent=ctx)
    return _check_options(command, words, " ".join(path))


def _check_options(command: Any, words: list[str], path: str) -> list[str]:
    known = _options(command)
    out = []
    for word in words:
        if word.startswith("--") or re.fullmatch(r"-[A-Za-z]", word):
            option = word.split("=", 1)[0]
            if option not in known:
                out.append(f"`{path}` has no option {option}")
    return out


def test_every_english_page_has_a_french_translation() -> None:
    english = {page.name for page in DOCS.glob("*.md")}
    french = {page.name for page in FRENCH.glob("*.md")}
    missing = sorted(english - french - set(NOT_TRANSLATED))
    assert not missing, f"docs/fr/ lacks a translation of: {', '.join(missing)}"
    stale = sorted(set(NOT_TRANSLATED) & french)
    assert not stale, f"translated, so no longer an exception: {', '.join(stale)}"
    orphans = sorted(french - english)
    assert not orphans, f"docs/fr/ pages without an English original: {', '.join(orphans)}"


def test_french_pages_have_the_sections_of_the_english() -> None:
    """Same number of headings of each level: a section added in English shows here."""
    out = []
    for page in sorted(FRENCH.glob("*.md")):
        english = DOCS / page.name
        if not english.exists():
            continue
        levels = [_heading_levels(p.read_text(encoding="utf-8")) for p in (english, page)]
        if levels[0] != levels[1]:
            out.append(f"{page.name}: English headings {levels[0]}, French {levels[1]}")
    assert not out, "\n".join(out)


def test_french_pages_show_the_commands_of_the_english() -> None:
    """The code blocks of a translation hold the same commands as the original (comments may be
    translated; commands, options and file names may not)."""
    out = []
    for page in sorted(FRENCH.glob("*.md")):
        english = DOCS / page.name
        if not english.exists():
            continue
        en, fr = ([u.text for u in _block_commands(p.read_text(encoding="utf-8"), p.name)]
                  for p in (english, page))
        for text in sorted(set(en) - set(fr)):
            out.append(f"docs/fr/{page.name} lacks: {text}")
        for text in sorted(set(fr) - set(en)):
            out.append(f"docs/fr/{page.name} has, unlike the English: {text}")
    assert not out, "\n".join(out)


def _heading_levels(text: str) -> list[int]:
    levels, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside and (match := re.match(r"(#{1,6}) ", line)):
            levels.append(len(match.group(1)))
    return levels


def test_the_docs_show_commands() -> None:
    """The extraction finds the docs' commands (so the check below cannot pass on nothing)."""
    found = uses()
    assert len(found) > 100
    texts = {use.text for use in found}
    assert any(text.startswith("pmm release create --cycle") for text in texts)


def test_every_command_in_the_docs_exists(root: tuple[Any, Any]) -> None:
    out = [f"{use}\n    {problem}" for use in uses() for problem in problems(use, root)]
    assert not out, "commands in the docs that `pmm` does not have:\n" + "\n".join(out)


# `pmm.x.y` in inline code names a module or an attribute; file names such as pmm.db are not.
PYTHON_NAME = re.compile(r"`(pmm(?:\.[A-Za-z_]\w*)+)")
FILE_SUFFIXES = {"db", "xlsx", "pdf", "csv", "json", "yaml", "xml", "parquet", "html", "md"}


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    return False


def test_every_python_name_in_the_docs_exists() -> None:
    """`pmm.access.visible`, `pmm.analysis.api`, ...: a function moved or renamed in the code
    fails here until the docs follow."""
    out, seen = [], {}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in PYTHON_NAME.finditer(text):
            name = match.group(1)
            if name.rsplit(".", 1)[-1] in FILE_SUFFIXES:
                continue
            if name not in seen:
                seen[name] = _resolves(name)
            if not seen[name]:
                line = text.count("\n", 0, match.start()) + 1
                out.append(f"{page.relative_to(ROOT)}:{line}: {name}")
    assert len(seen) > 20
    assert not out, "Python names in the docs that the code does not have:\n" + "\n".join(out)


LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(text: str) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    out, inside = set(), False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside and (match := re.match(r"#{1,6} (.*)", line)):
            out.add(re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-"))
    return out


def test_every_relative_link_in_the_docs_leads_somewhere() -> None:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = match.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
            if not dest.exists():
                out.append(f"{where}: {target}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(
                    dest.read_text(encoding="utf-8")):
                out.append(f"{where}: {target}: no such heading")
    assert not out, "\n".join(out)


def test_the_check_catches_a_removed_option(root: tuple[Any, Any]) -> None:
    use = Use("x.md", 1, "pmm benchmark --cycle 2024 --viewer public")
    assert problems(use, root) == ["`pmm benchmark` has no option --viewer"]
    use = Use("x.md", 1, "pmm secretariat participation|nowhere --cycle 2024")
    assert problems(use, root) == ["`pmm secretariat` has no command nowhere"]
    use = Use("x.md", 1, "pmm --lang fr release config --min-n 3 --as secretariat")
    assert problems(use, root) == []
