"""French complete: every command, its help and its messages, with no English left.

Runs each command's --help and representative real runs under `--lang fr` and looks for English
words that cannot be French, ignoring what is not prose: codes, option and command names,
quoted text, file paths, names (capitalised words) and user data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from pmm.cli import COMMANDS, run
from tests.assessment.conftest import FRAMEWORK, prepare

# Words that are English and not French (so "options", "date", "code", "public" are not here),
# and not the codes that help texts quote (reported, member, value...).
ENGLISH = {"the", "and", "with", "is", "are", "not", "for", "from", "this", "that", "which",
           "should", "must", "expected", "missing", "required", "default", "errors", "warnings",
           "usage", "commands", "show", "exit", "such", "of", "to", "in", "by", "if", "when",
           "has", "have", "was", "were", "will", "can", "cannot", "only", "each", "every",
           "values", "submissions", "available", "draft", "submitted", "validated", "closed",
           "members", "none", "found", "files", "write", "read", "per", "one", "all", "any",
           "see", "more", "than", "your", "you", "it", "its", "been", "at", "try", "invalid",
           "got", "unexpected", "extra", "no", "yes"}
CAPITALISED_CHROME = {"Usage", "Error", "Commands", "Missing", "Show", "Try", "Got", "Invalid",
                      "No", "Options:", "Arguments:"}
NOT_PROSE = [
    r"`[^`]*`", r"'[^']*'", r"\"[^\"]*\"", r"«[^»]*»", r"<[^>]*>", r"\{[^}]*\}",
    r"https?://\S+", r"\S*[/\\]\S*", r"\b\w+(-\w+)+\b", r"--?[\w-]+", r"\bpmm( [a-z][\w-]*)*",
    r"\b\w*[_.=:@#0-9]\w*\b",
]


def english_words(text: str) -> list[str]:
    found = []
    text = re.sub(r"`[^`]*`", " ", text)  # code, even over two lines
    for line in text.splitlines():
        line = re.sub(r"^\s{1,4}[a-z][\w-]*(?=\s|$)", "", line)  # a command's or argument's name
        for pattern in NOT_PROSE:
            line = re.sub(pattern, " ", line)
        for word in re.findall(r"[A-Za-zÀ-ÿ']+", line):
            if word in CAPITALISED_CHROME or (word.islower() and word in ENGLISH):
                found.append(word)
    return found


def french(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = run(["--lang", "fr", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def every_command() -> list[list[str]]:
    """The path of every command and group under `pmm`."""
    from pmm.cli import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(command: object, path: list[str]) -> None:
        for name in getattr(command, "list_commands", lambda ctx: [])(None):
            sub = command.get_command(None, name)  # type: ignore[attr-defined]
            paths.append([*path, name])
            if (hasattr(sub, "list_commands") and name not in COMMANDS) or \
                    (hasattr(sub, "list_commands") and path == []):
                walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_the_finder_finds_english() -> None:
    assert english_words("Usage: pmm cycle list [OPTIONS]\nError: Missing option '--as'.") == [
        "Usage", "Error", "Missing"]
    assert english_words("  --cycle <int>  The cycle, named by its year.  [required]") == [
        "by", "its", "required"]  # a capitalised word may be a name: "The" is let through
    assert english_words("Utilisation : pmm cycle list [OPTIONS]\n  BDI  `pmm score` "
                         "'the value' Burundi TF.1.1 not_available") == []


@pytest.mark.parametrize("path", every_command(), ids=lambda p: " ".join(p) or "pmm")
def test_every_help_is_french(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, text = french(capsys, *path, "--help")
    assert code == 0, text
    assert "Utilisation :" in text and "Affiche ce message et quitte." in text
    assert not english_words(text), f"English in `pmm --lang fr {' '.join(path)} --help`:\n{text}"


def test_import_help_says_one_line_per_defect(capsys: pytest.CaptureFixture[str]) -> None:
    _code, text = french(capsys, "submission", "import", "--help")
    text = " ".join(text.split())
    assert "une ligne par anomalie" in text and "par défaut)" not in text


@pytest.mark.parametrize(("argv", "expected"), [
    (["cycle", "create"], "Erreur : Argument manquant : 'year'."),
    (["cycle", "list", "--bogus"], "Erreur : Option inconnue : --bogus"),
    (["cycle", "list", "2099"], "Erreur : Arguments en trop : 2099"),
    (["submission", "nope"], "Erreur : Aucune commande 'nope'. Vouliez-vous dire 'reopen' ?"),
    (["measure", "trs", ".", "--year", "abc"],
     "Erreur : Valeur non valide pour '--year' : attendu : un nombre entier valide"),
    (["submission", "import", __file__, "--cycle", "2024"],
     "Erreur : Option manquante : '--member'."),
])
def test_usage_errors_are_french(argv: list[str], expected: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, text = french(capsys, *argv)
    assert code == 2 and expected in text, text
    assert "Essayez « pmm " in text and not english_words(text), text


def test_an_internal_error_is_french_with_its_detail_labelled(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from pmm.framework import cli as framework_cli

    def broken(_ref: str) -> None:
        raise zipfile.BadZipFile("File is not a zip file")

    monkeypatch.setattr(framework_cli, "load", broken)
    code, text = french(capsys, "framework", "show", "wco-pmm-v1")
    assert code == 70
    assert text.startswith("Erreur interne : pmm ne s'attendait pas à cela"), text
    assert text.rstrip().endswith("détail technique (PMM_DEBUG=1 affiche la trace complète) : "
                                  "BadZipFile: File is not a zip file")


@pytest.fixture
def fra(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("PMM_LANG", raising=False)
    return prepare(database_url, monkeypatch)


C = ["--cycle", "2024", "--member", "FRA", "--as", "ncp-fra"]


def stored(capsys: pytest.CaptureFixture[str]) -> str:
    assert run(["submission", "export", *C]) == 0
    return capsys.readouterr().out


def test_decimal_comma_in_french_and_a_hint_otherwise(fra: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["submission", "set", *C, "release_time_mean_h", "12,5"]) == 2
    err = capsys.readouterr().err
    assert "'12,5' is not a number" in err and "decimal comma is read as such only in French" \
        in err
    code, text = french(capsys, "submission", "set", *C, "release_time_mean_h", "12,5")
    assert code == 0 and "1 modification enregistrée" in text, text
    assert ",release_time_mean_h,2024,,12.5," in stored(capsys)


def test_semicolon_csv_in_french_and_a_hint_otherwise(fra: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """What French Excel writes: semicolons, decimal commas."""
    path = tmp_path / "excel.csv"
    path.write_text("kpi;data_item;year;breakdown;value;status;disclosure;note\r\n"
                    ";release_time_mean_h;2024;;7,25;reported;;\r\n"
                    ";declarations;2024;;1000;reported;;\r\n", encoding="utf-8-sig")
    assert run(["submission", "import", str(path), *C]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: this file separates its columns with semicolons" in err
    assert ",release_time_mean_h,2024,,," in stored(capsys)  # nothing was written
    code, text = french(capsys, "submission", "import", str(path), *C)
    assert code == 0 and "2 modifications importées" in text, text
    exported = stored(capsys)
    assert ",release_time_mean_h,2024,,7.25," in exported and ",declarations,2024,,1000," \
        in exported


def test_a_french_session_of_real_runs_has_no_english(fra: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    runs = [
        ["framework", "list"], ["framework", "validate", str(FRAMEWORK)],
        ["members", "list", "--region", "EUR"],
        ["cycle", "list"], ["cycle", "show", "2024"],
        ["submission", "set", *C, "release_time_mean_h", "12,5"],
        ["submission", "show", *C], ["submission", "check", *C],
        ["submission", "set", *C, "declarations", "abc"],
        ["submission", "submit", *C],
        ["measure", "generate", "--declarations", "60", "--year", "2024", "--out",
         str(tmp_path / "md"), "--seed", "1", "--format", "csv"],
        ["measure", "verify", str(tmp_path / "md")],
        ["measure", "items", str(tmp_path / "md"), "--year", "2024", "--out",
         str(tmp_path / "items.csv")],
    ]
    left = []
    for argv in runs:
        _code, text = french(capsys, *argv)
        lines = [line for line in text.splitlines() if english_words(line)]
        if lines:
            left += [f"$ pmm --lang fr {' '.join(argv)}", *lines[:5]]
    assert not left, "English left:\n" + "\n".join(left)
