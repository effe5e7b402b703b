"""`pmm db ...`, `pmm user ...` and `pmm audit`: the database, its users and its trail."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmm.access import Principal, require
from pmm.conventions import neutralise
from pmm.errors import PermissionDenied, PmmError
from pmm.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", envvar="PMM_DATABASE_URL", show_envvar=True,
    help=_("Database: sqlite:///FILE (default sqlite:///pmm.db) or postgresql://user@host/db."))]

As = Annotated[str | None, typer.Option(
    "--as", envvar="PMM_USER", show_envvar=True,
    help=_("The user you act as: what you may read and do is that user's, and it is recorded "
           "in the audit trail."))]


def acting(session: Session, username: str | None) -> Principal:
    """The principal of `--as USER`: a stored, active user (refused without one)."""
    from pmm.store.users import principal_for

    if not username:
        raise PermissionDenied(_("Name the user you act as: --as USER (or set PMM_USER). What "
                                 "you may read and do is that user's, and it is recorded; "
                                 "`pmm user list` shows the users."))
    try:
        return principal_for(session, username)
    except PmmError as exc:
        raise type(exc)(*(f"--as {username}: {line}" for line in exc.lines)) from None


db_app = typer.Typer(help=_("The database: create or upgrade its schema, back up, verify a "
                            "backup, restore."),
                     no_args_is_help=True)
user_app = typer.Typer(help=_("Users and roles."), no_args_is_help=True)


@db_app.command("upgrade", help=_(
    "Create the schema, or bring it to the newest version (safe to run again)."))
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    from pmm.store.engine import display_url, resolve_url
    from pmm.store.migrate import upgrade

    revision = upgrade(database_url)
    typer.echo(_("Database {url} is at schema revision {rev}.").format(
        url=display_url(resolve_url(database_url)), rev=revision))


@db_app.command("backup", help=_("Copy every table into FILE (restore it with `pmm db restore`)."))
def db_backup(file: Annotated[Path, typer.Argument(help=_("Backup file to write (.jsonl.gz)."))],
              database_url: DatabaseUrl = None) -> None:
    from pmm.store.backup import backup

    counts = backup(file, database_url)
    typer.echo(_("Backed up {rows} rows of {tables} tables to {file}.").format(
        rows=sum(counts.values()), tables=len(counts), file=file))


@db_app.command("verify", help=_(
    "Check that FILE is a whole, unaltered backup (every line against its manifest); nothing "
    "is written."))
def db_verify(file: Annotated[Path, typer.Argument(help=_("Backup file made by `pmm db backup`."),
                                                   exists=True, dir_okay=False)]) -> None:
    from pmm.store.backup import FORMAT_VERSION, verify

    found = verify(file)
    typer.echo(_("{file}: a whole backup (format version {version}, schema {schema}): {rows} rows "
                 "of {tables} tables, SHA-256 {digest}.").format(
        file=file, version=FORMAT_VERSION, schema=found.schema, rows=sum(found.counts.values()),
        tables=len(found.counts), digest=found.sha256))
    for table, rows in found.counts.items():
        typer.echo(f"  {table}\t{rows}")


@db_app.command("restore", help=_(
    "Check FILE whole, then load it into a new, empty database (never over existing data), "
    "all or nothing."))
def db_restore(file: Annotated[Path, typer.Argument(help=_("Backup file made by `pmm db backup`."),
                                                    exists=True, dir_okay=False)],
               database_url: DatabaseUrl = None) -> None:
    from pmm.store.backup import restore
    from pmm.store.engine import display_url, resolve_url

    counts = restore(file, database_url)
    typer.echo(_("Restored {rows} rows of {tables} tables into {url}.").format(
        rows=sum(counts.values()), tables=len(counts),
        url=display_url(resolve_url(database_url))))


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise PmmError(_("--password-stdin: no password on standard input"))
        return password
    return typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)


@user_app.command("add", help=_(
    "Add a user (an administrator, --as ADMIN; the password is never given as an argument).\n\n"
    "The first user of an empty database is an administrator added without --as."))
def user_add(
    username: Annotated[str, typer.Argument(help=_("Sign-in name, e.g. ncp-fra."))],
    role: Annotated[str, typer.Option("--role", help=_(
        "secretariat, ncp, viewer, peer_reviewer, working_body or admin."))],
    member: Annotated[str | None, typer.Option("--member",
                                               help=_("ISO3 code (ncp, viewer)."))] = None,
    name: Annotated[str, typer.Option("--name", help=_("Full name."))] = "",
    email: Annotated[str, typer.Option("--email", help=_("E-mail address."))] = "",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help=_("Read the password from the first line of standard input "
                                   "(otherwise it is prompted for)."))] = False,
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.store import users
    from pmm.store.engine import transaction

    if role not in users.ROLES:
        raise PmmError(_("role {role!r}: expected one of {roles}").format(
            role=role, roles=", ".join(users.ROLES)))
    with transaction(database_url) as session:
        who = _admin_or_first(session, actor, role)
        password = read_password(password_stdin)
        user = users.add_user(session, username, role, password, member=member, name=name,
                              email=email, actor=who)
        typer.echo(_("Added user {name} ({role}{member}).").format(
            name=user.username, role=user.role,
            member=f", {user.member}" if user.member else ""))


def _admin_or_first(session: Session, actor: str | None, role: str) -> str:
    """Who adds a user: an administrator, or nobody yet for the first (an administrator)."""
    from sqlalchemy import func, select

    from pmm.store.models import User

    if actor is None and not session.scalar(select(func.count()).select_from(User)):
        if role != "admin":
            raise PmmError(_("The database has no users yet: the first user must be an "
                             "administrator (--role admin), who then adds the others."))
        return "bootstrap"
    require(acting(session, actor), "manage_users")
    return str(actor)


@user_app.command("list", help=_("List users: name, role, member, active (administrator)."))
def user_list(actor: As = None, database_url: DatabaseUrl = None) -> None:
    from sqlalchemy import select

    from pmm.store.engine import transaction
    from pmm.store.models import User

    with transaction(database_url) as session:
        require(acting(session, actor), "manage_users")
        for user in session.scalars(select(User).order_by(User.username)):
            state = "" if user.active else "\t" + _("disabled")
            typer.echo(f"{user.username}\t{user.role}\t{user.member or '-'}\t{user.name}{state}")


@user_app.command("passwd", help=_(
    "Set a user's password (your own, or anyone's as an administrator)."))
def user_passwd(username: str,
                password_stdin: Annotated[bool, typer.Option(
                    "--password-stdin", help=_("Read the password from the first line of standard "
                                               "input (otherwise it is prompted for)."))] = False,
                actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.store import users
    from pmm.store.engine import transaction

    with transaction(database_url) as session:
        who = acting(session, actor)
        if who.username != username:
            require(who, "manage_users")
        password = read_password(password_stdin)
        users.set_password(session, username, password, actor=who.username)
    typer.echo(_("Password of {name} changed.").format(name=username))


@user_app.command("disable", help=_(
    "Disable a user (users are never deleted: the trail refers to them)."))
def user_disable(username: str,
                 reason: Annotated[str, typer.Option("--reason", help=_("Why."))] = "",
                 actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.store import users
    from pmm.store.engine import transaction

    with transaction(database_url) as session:
        who = acting(session, actor)
        require(who, "manage_users")
        users.set_active(session, username, False, actor=who.username, reason=reason)
    typer.echo(_("User {name} disabled.").format(name=username))


@user_app.command("enable", help=_("Enable a disabled user again."))
def user_enable(username: str, actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.store import users
    from pmm.store.engine import transaction

    with transaction(database_url) as session:
        who = acting(session, actor)
        require(who, "manage_users")
        users.set_active(session, username, True, actor=who.username)
    typer.echo(_("User {name} enabled.").format(name=username))


AUDIT_HELP = _("Show the audit trail: who changed what, when, old and new value, and why.\n\n"
               "The Secretariat reads all of it; a member's users the entries about their "
               "member; a peer reviewer those of its assigned submissions; the administrator "
               "the entries about users.")
AUDIT_COLUMNS = ("id", "at", "actor", "action", "cycle", "member", "entity", "key", "field", "old",
                 "new", "reason")


def audit(
    cycle: Annotated[int | None, typer.Option("--cycle", help=_("Reporting year T."))] = None,
    member: Annotated[str | None, typer.Option("--member", help=_("ISO3 code."))] = None,
    actor: Annotated[str | None, typer.Option("--actor", help=_("User name."))] = None,
    limit: Annotated[int | None, typer.Option("--limit",
                                              help=_("Only the newest N entries."))] = None,
    fmt: Annotated[str, typer.Option("--format", help=_("text or csv."))] = "text",
    who: As = None, database_url: DatabaseUrl = None,
) -> None:
    """`pmm audit`, mounted by pmm.assessment.cli with AUDIT_HELP as its help."""
    from pmm.store import audit as audit_trail
    from pmm.store.engine import transaction

    if fmt not in ("text", "csv"):
        raise PmmError(_("--format {fmt!r}: expected text or csv").format(fmt=fmt))
    with transaction(database_url) as session:
        principal = acting(session, who)
        require(principal, "read_audit")
        rows = audit_trail.trail(session, principal, cycle=cycle, member=member, actor=actor,
                                 limit=limit)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\r\n")
        writer.writerow(AUDIT_COLUMNS)
        for r in rows:
            writer.writerow([neutralise(v) if isinstance(v, str) else v for v in (
                r.id, r.at.strftime("%Y-%m-%dT%H:%M:%SZ"), r.actor, r.action, r.cycle or "",
                r.member or "", r.entity, r.key, r.field, r.old or "", r.new or "", r.reason)])
        return
    if not rows:
        typer.echo(_("No audit entries match."))
        return
    for r in rows:
        where = " ".join(str(x) for x in (r.member, r.cycle) if x)
        what = r.key + (f" {r.field}" if r.field else "")
        change = ""
        if r.old is not None or r.new is not None:
            old = "∅" if r.old is None else r.old
            new = "∅" if r.new is None else r.new
            change = f": {old} → {new}"
        why = f"  ({r.reason})" if r.reason else ""
        typer.echo(f"{r.at.strftime('%Y-%m-%d %H:%M:%SZ')}  {r.actor}  {r.action}  {where}  "
                   f"{what}{change}{why}")
