"""`pmm ... --help` in French and in English, each in a fresh process.

Help texts are evaluated when a command's module is first imported, which the lazy root does
only after `--lang` or PMM_LANG has chosen the language; a process that already imported a
module keeps its language, so these tests never run the CLI in the test process itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from pmm.cli import COMMANDS

SRC = Path(__file__).resolve().parents[1] / "src" / "pmm"
CLI_MODULES = sorted({SRC / "cli.py", *SRC.glob("*/cli.py")})

# For every command group, French that its `--help` must show (from the group's own help or the
# one-line help of one of its commands).
FRENCH = {
    "framework": "Liste les versions livrées du cadre.",
    "members": "Affiche les groupes de pairs : les Membres de chaque groupe.",
    "db": "Crée le schéma, ou le met à niveau vers la version la plus récente",
    "user": "Réactive un utilisateur désactivé.",
    "audit": "Uniquement les N entrées les plus récentes.",
    "cycle": "Clôt un cycle : les Membres ne peuvent plus modifier ni soumettre de données.",
    "submission": "Pièces justificatives jointes à une soumission.",
    "review": "Désigne un examinateur (Secrétariat).",
    "demo": "Participants au cycle 2024.",
    "composite": "Moteur général d'indicateurs composites (compatible COINr)",
    "score": "Scores de chaque KPI, résultat et dimension",
    "benchmark": "Statistiques des groupes de pairs (n, moyenne, médiane, quartiles)",
    "gaps": "classés par gravité et par poids : son plan de renforcement des capacités.",
    "sdg": "agrégées vers les cibles et objectifs des ODD",
    "trends": "signalée là où le cadre a rompu la comparabilité.",
    "whatif": "Modifie certaines valeurs d'un Membre",
    "secretariat": "Combien de Membres validés ont renseigné chaque indicateur",
    "measure": "Étude sur le temps nécessaire à la mainlevée : statistiques des délais",
    "proposal": "Rejette une proposition, avec le motif que son auteur lit.",
    "draft": "Adopte un projet qui satisfait aux critères des indicateurs",
}
GROUPS = [name for name in COMMANDS if name in FRENCH]

# Prints the help of every group and, below it, of every command and sub-group, separated by
# "==== pmm PATH" lines. The command tree is built once: rebuilding it per page is what a real
# process does, but costs seconds for the whole tree.
WALK = """
import contextlib, io, sys
import typer
from pmm.cli import app

root = typer.main.get_command(app)
ctx = typer.Context(root, info_name="pmm")

def walk(cmd, path, ctx):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        sys.stdout.write(cmd.get_help(ctx))
    print("==== pmm " + " ".join(path))
    print(buf.getvalue())
    for name in getattr(cmd, "list_commands", lambda ctx: [])(ctx):
        sub = cmd.get_command(ctx, name)
        walk(sub, [*path, name], typer.Context(sub, info_name=name, parent=ctx))

for group in sys.argv[1:]:
    sub = root.get_command(ctx, group)
    walk(sub, [group], typer.Context(sub, info_name=group, parent=ctx))
"""


def _env(lang: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PMM_LANG"}
    env["COLUMNS"] = "200"  # fewer wrapped lines; the checks join them anyway
    if lang:
        env["PMM_LANG"] = lang
    return env


def _pmm(*args: str, lang: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "pmm", *args], capture_output=True, text=True,
                          env=_env(lang), timeout=120)
    assert done.returncode == 0, done.stderr
    return _flat(done.stdout)


def _flat(text: str) -> str:
    """Help output as one line: the rich boxes removed, wrapped lines joined."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _pages(text: str) -> dict[str, str]:
    pages = re.split(r"^==== (.*)$", text, flags=re.MULTILINE)[1:]
    return {pages[i].strip(): _flat(pages[i + 1]) for i in range(0, len(pages), 2)}


def _french_catalogue() -> dict[str, str]:
    messages: dict[str, str] = {}
    for po in sorted((SRC / "locale" / "fr").glob("*.po")):
        with po.open("rb") as fh:
            messages.update({m.id: m.string for m in read_po(fh) if m.id and m.string})
    return messages


def _cli_messages() -> set[str]:
    return {message for module in CLI_MODULES
            for _line, message, _comments, _context in extract_from_file(
                "python", module, keywords={"_": None})}


def test_root_help_in_french_with_lang_option() -> None:
    out = _pmm("--lang", "fr", "--help")
    assert "customs-pmm : le Mécanisme de mesure de la performance de l'OMD" in out
    assert "Langue des messages : en ou fr." in out
    assert "Commandes:" in out
    assert "Le journal d'audit : qui a modifié quoi, quand et pourquoi." in out
    catalogue = _french_catalogue()
    for _module, _attribute, summary in COMMANDS.values():
        assert catalogue.get(summary), f"no French for the summary {summary!r}"
        assert catalogue[summary] in out
        assert summary not in out


def test_group_help_in_french_with_lang_option() -> None:
    out = _pmm("--lang", "fr", "framework", "--help")
    assert "Un cadre se désigne par l'identifiant d'un catalogue livré" in out
    assert FRENCH["framework"] in out
    assert "List the shipped framework versions." not in out


def test_command_help_in_french_with_pmm_lang() -> None:
    out = _pmm("members", "groups", "--help", lang="fr")
    assert "Affiche les groupes de pairs : les Membres de chaque groupe." in out
    assert "Groupes définis par l'utilisateur : CSV (group,iso3) ou YAML" in out
    assert "region, income, geography ou admin_type." in out
    assert "User-defined groups" not in out


def test_every_group_and_command_help_in_french() -> None:
    done = subprocess.run([sys.executable, "-c", WALK, *GROUPS], capture_output=True, text=True,
                          env=_env("fr"), timeout=300)
    assert done.returncode == 0, done.stderr
    pages = _pages(done.stdout)
    for group in GROUPS:
        assert FRENCH[group] in pages[f"pmm {group}"], group
    # no help text is left in English anywhere (Typer's own words aside)
    catalogue = _french_catalogue()
    english = {m for m in _cli_messages() if catalogue.get(m, m) != m and len(m) > 12}
    leaks = {path: [m for m in english if _flat(m) in page] for path, page in pages.items()}
    assert not {path: found for path, found in leaks.items() if found}
    assert len(pages) > 60  # the whole tree was walked


def test_english_stays_english() -> None:
    out = _pmm("--help")
    assert "customs-pmm: the WCO Performance Measurement Mechanism as a platform." in out
    assert "Peer-group statistics you may receive." in out
    assert "Commandes" not in out
    out = _pmm("framework", "validate", "--help")
    assert "Check a framework against the WGPM's scope and criteria for KPIs." in out
    assert "Treat quality warnings as errors." in out
    assert "Vérifie un cadre" not in out


def test_unknown_language_is_refused() -> None:
    done = subprocess.run([sys.executable, "-m", "pmm", "--lang", "de", "--help"],
                          capture_output=True, text=True,
                          env=_env(None), timeout=120)
    assert done.returncode != 0
    assert "unknown language 'de'" in done.stdout + done.stderr
