"""Shared fixtures: databases on SQLite and on a throwaway PostgreSQL 15 server.

`database_url` is parametrised over both backends and gives a fresh database at the newest schema
for each test; `empty_database_url` gives one that was never upgraded. The PostgreSQL server is
started once per test run from the server binaries on the machine (`pg_config --bindir` or
/usr/lib/postgresql/15/bin), as the `postgres` user when the tests run as root, listening only on a
private Unix socket. In CI (`CI=true`) a server that cannot start fails the PostgreSQL tests;
elsewhere it skips them.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path("/usr/lib/postgresql/15/bin"),
                   *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@dataclass
class PostgresServer:
    bindir: Path
    base: Path
    socket: Path
    as_user: list[str]
    counter: itertools.count

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.socket), user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"),
                        "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def _start_postgres() -> PostgresServer:
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found")
    base = Path(tempfile.mkdtemp(prefix="pmm-pg-"))
    socket = base / "sock"
    socket.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (base, socket):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(socket, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                   check=True, capture_output=True)
    options = (f"-k {socket} -h '' -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=200")
    started = subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l",
                              str(base / "server.log"), "-o", options, "-w", "-t", "60", "start"],
                             capture_output=True, text=True)
    if started.returncode != 0:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-2000:]}")
    return PostgresServer(bindir, base, socket, as_user, itertools.count())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str]:
    """The throwaway server, or the reason it could not start."""
    try:
        server = _start_postgres()
    except (RuntimeError, OSError, KeyError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        yield f"PostgreSQL 15 could not start: {exc} {detail}".strip()
        return
    try:
        from pmm.store.engine import dispose
        from pmm.store.migrate import upgrade

        server.admin("CREATE DATABASE pmm_template")
        upgrade(server.url("pmm_template"))
        dispose(server.url("pmm_template"))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pmm.store.engine import dispose
    from pmm.store.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    dispose(f"sqlite:///{path}")
    return path


def _new_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path,
                  upgraded: bool) -> Iterator[str]:
    from pmm.store.engine import dispose

    if backend == "sqlite":
        path = tmp_path / "pmm.db"
        if upgraded:
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        yield url
        dispose(url)
        return
    server = request.getfixturevalue("postgres_server")
    if isinstance(server, str):
        if IN_CI:
            pytest.fail(server)
        pytest.skip(server)
    name = f"pmm_test_{next(server.counter)}"
    template = "pmm_template" if upgraded else "template0"
    server.admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    url = server.url(name)
    yield url
    dispose(url)
    server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema, on SQLite and on PostgreSQL."""
    yield from _new_database(request.param, request, tmp_path, upgraded=True)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database that was never upgraded, on SQLite and on PostgreSQL."""
    yield from _new_database(request.param, request, tmp_path, upgraded=False)


@pytest.fixture
def make_database(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory for more databases in one test: `make_database("postgresql", upgraded=False)`."""
    cleanups: list[Iterator[str]] = []
    counter = itertools.count()

    def make(backend: str, upgraded: bool = True) -> str:
        folder = tmp_path / f"extra{next(counter)}"
        folder.mkdir()
        gen = _new_database(backend, request, folder, upgraded)
        cleanups.append(gen)
        return next(gen)

    yield make
    for gen in cleanups:
        for _ in gen:
            pass


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database seeded once per run by `pmm demo` (seeding takes a while)."""
    from pmm.cli import run
    from pmm.store.engine import dispose

    path = tmp_path_factory.mktemp("demo-template") / "pmm.db"
    url = f"sqlite:///{path}"
    assert run(["demo", "--database-url", url]) == 0
    dispose(url)
    return path


@pytest.fixture(scope="module")
def demo_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the demo database for one test module."""
    path = tmp_path_factory.mktemp("demo") / "pmm.db"
    shutil.copy(demo_template, path)
    return f"sqlite:///{path}"
