"""English and French for everything a user reads.

Every message a package passes to `_()` or `ngettext()` has a French translation in that package's
own .po file, with the same placeholders (in every plural form); every help text of the `pmm`
command goes through `_()`.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from pmm.cli import COMMANDS
from pmm.i18n import PLURAL_FORMS

SRC = Path(__file__).resolve().parents[1] / "src" / "pmm"
LOCALE = SRC / "locale" / "fr"
# The .po files of a package, where they are not simply <package>.po. The modules directly
# under pmm (the CLI shell and the kernel) use the framework's file and kernel.po.
CATALOGUES = {"": ["framework.po", "kernel.po"], "framework": ["framework.po", "formula.po"],
              "store": ["assessment.po"]}
PACKAGES = ["", *sorted(p.name for p in SRC.iterdir()
                        if p.is_dir() and (p / "__init__.py").exists())]
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


Message = str | tuple[str, ...]  # a plural message is (singular, plural)


def _catalogue(names: list[str]) -> dict[tuple[str | None, Message], tuple[str, ...]]:
    """(context, message) → its French forms (one, or one per plural form: French has two)."""
    messages: dict[tuple[str | None, Message], tuple[str, ...]] = {}
    for name in names:
        with (LOCALE / name).open("rb") as fh:
            for m in read_po(fh):
                if m.id:
                    forms = m.string[:PLURAL_FORMS["fr"][1]] if isinstance(m.string, tuple) \
                        else (m.string,)
                    messages[(m.context, m.id)] = tuple(str(f) for f in forms)
    return messages


KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


def _messages(package: str) -> list[tuple[str, int, tuple[str | None, Message]]]:
    """(file, line, (context, message)) of every literal passed to `_()`, `N_()`, `ngettext()`
    or `pgettext()` in the package."""
    files = sorted(SRC.glob("*.py")) if not package else sorted((SRC / package).rglob("*.py"))
    return [(str(path.relative_to(SRC)), line, (context, message)) for path in files
            for line, message, _comments, context in extract_from_file(
                "python", path, keywords=KEYWORDS)]


def _placeholders(message: Message) -> list[list[str]]:
    return [sorted(PLACEHOLDER.findall(m))
            for m in (message if isinstance(message, tuple) else (message,))]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p or "pmm")
def test_every_message_has_a_french_translation(package: str) -> None:
    messages = _messages(package)
    if package == "":  # the root's command summaries are translated where they are shown
        messages += [("cli.py", 0, (None, summary)) for _m, _a, summary in COMMANDS.values()]
    if not messages:
        return
    names = CATALOGUES.get(package, [f"{package}.po"])
    missing_files = [n for n in names if not (LOCALE / n).exists()]
    assert not missing_files, f"pmm.{package} has messages but no {missing_files}"
    catalogue = _catalogue(names)
    forms = {False: 1, True: PLURAL_FORMS["fr"][1]}
    missing = [f"{file}:{line}: {message!r}" for file, line, message in messages
               if len([f for f in catalogue.get(message, ()) if f])
               != forms[isinstance(message[1], tuple)]]
    assert not missing, f"no French in {names} for:\n" + "\n".join(missing)
    # every French form has the placeholders of the English singular (or plural: the same set)
    mismatched = [f"{file}:{line}: {message!r}" for file, line, message in messages
                  if any(_placeholders(form)[0] not in _placeholders(message[1])
                         for form in catalogue[message])]
    assert not mismatched, "placeholders differ in French for:\n" + "\n".join(mismatched)


def test_a_message_has_one_french_translation_across_catalogues() -> None:
    """The running platform merges every catalogue into one, so a message translated twice
    would read whichever file came last: the same English must say the same French."""
    seen: dict[tuple[str | None, Message], dict[tuple[str, ...], list[str]]] = {}
    for path in sorted(LOCALE.glob("*.po")):
        for message, forms in _catalogue([path.name]).items():
            if any(forms):
                seen.setdefault(message, {}).setdefault(forms, []).append(path.name)
    clashes = [f"{message!r}: " + "; ".join(f"{files} say {forms!r}"
                                            for forms, files in versions.items())
               for message, versions in seen.items() if len(versions) > 1]
    assert not clashes, "translated differently:\n" + "\n".join(clashes)


def _entries(path: Path) -> list[tuple[str, str]]:
    """(msgctxt, msgid) of each entry of a .po file as written, duplicates included (the
    catalogue reader keeps only the last of two)."""
    found, context, message, field = [], "", "", ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(("msgctxt ", "msgid ")):
            field, _sep, text = line.partition(" ")
            if field == "msgctxt":
                context = text.strip('"')
            else:
                message = text.strip('"')
        elif line.startswith('"') and field:
            if field == "msgctxt":
                context += line.strip('"')
            else:
                message += line.strip('"')
        elif line.startswith("msgid_plural"):
            field = ""
        elif line.startswith("msgstr"):
            if message:
                found.append((context, message))
            context, message, field = "", "", ""
    return found


def test_no_message_is_written_twice_in_a_catalogue() -> None:
    twice = [f"{path.name}: {entry!r}" for path in sorted(LOCALE.glob("*.po"))
             for entry, count in Counter(_entries(path)).items() if count > 1]
    assert not twice, "written twice (one translation silently wins):\n" + "\n".join(twice)


def _translated(node: ast.expr) -> bool:
    """`_("...")`, `_("...").format(...)`, a name bound to one, or a literal without words."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        node = node.func.value
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "_"
    if isinstance(node, ast.Name):
        return True  # e.g. AUDIT_HELP = _("..."): the assignment is checked like any message
    return isinstance(node, ast.Constant) and " " not in str(node.value)


def _help_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "help" and not _translated(kw.value):
                    problems.append(f"{path.name}:{kw.value.lineno}: help= not wrapped in _()")
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) \
                        and deco.func.attr == "command" \
                        and not any(kw.arg == "help" for kw in deco.keywords):
                    problems.append(f"{path.name}:{node.lineno}: command {node.name} has no "
                                    "help=_(...) (a docstring would stay in English)")
    return problems


@pytest.mark.parametrize("module", sorted([SRC / "cli.py", *SRC.glob("*/cli.py")]),
                         ids=lambda p: str(p.relative_to(SRC)))
def test_help_texts_go_through_translation(module: Path) -> None:
    assert not _help_problems(module)


def test_the_help_check_finds_an_untranslated_help(tmp_path: Path) -> None:
    module = tmp_path / "cli.py"
    module.write_text(
        "import typer\nfrom pmm.i18n import _\napp = typer.Typer(help=_('Fine.'))\n"
        "@app.command(help=_('Fine too.'))\n"
        "def good(x: int = typer.Option(1, help=_('Count: {n}').format(n=1))) -> None: ...\n"
        "@app.command()\ndef bad(y: int = typer.Option(1, help='Left in English.')) -> None:\n"
        "    '''Docstring help.'''\n", encoding="utf-8")
    assert sorted(_help_problems(module)) == [
        "cli.py:7: command bad has no help=_(...) (a docstring would stay in English)",
        "cli.py:7: help= not wrapped in _()"]
