"""SQLite under several workers (a real database file): readers never wait for a writer, a
writer never waits for readers, and writers in several processes queue instead of failing
with "database is locked"."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select, text

from pmm.store.engine import dispose, reading, transaction
from pmm.store.models import User
from pmm.store.users import add_user

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


def users(url: str) -> int:
    with reading(url) as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def in_thread(work: Callable[[], object], seconds: float) -> object:
    """Run `work` in another thread; fail if it has not finished within `seconds`."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # reported below, in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out.get("value")


def new_user(url: str, name: str) -> None:
    with transaction(url) as session:
        add_user(session, name, "viewer", member="ALB", password_hash=HASH, actor="test")


def test_the_database_is_in_write_ahead_log_mode(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("sqlite")
    with reading(url) as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 10_000
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_writer_commits_while_a_reader_reads_its_snapshot(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("sqlite")
    before = users(url)
    with reading(url) as session:
        count = select(func.count()).select_from(User)
        assert session.scalar(count) == before  # the reader holds its snapshot open...
        in_thread(lambda: new_user(url, "writer1"), 15)  # ...and the writer does not wait
        assert session.scalar(count) == before  # the reader's snapshot is unchanged
    assert users(url) == before + 1


def test_a_reader_does_not_wait_for_a_writer(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("sqlite")
    before = users(url)
    with transaction(url) as session:  # a write in progress holds the write lock
        add_user(session, "writer2", "viewer", member="ALB", password_hash=HASH, actor="test")
        session.flush()
        assert in_thread(lambda: users(url), 15) == before  # read at once, without the write
    assert users(url) == before + 1


def _busy(url: str, prefix: str, count: int) -> int:
    """One worker process: write `count` users, reading between writes; returns the reads."""
    reads = 0
    for n in range(count):
        new_user(url, f"{prefix}{n}")
        reads += users(url) > 0
    dispose(url)
    return reads


def test_processes_write_and_read_at_once_without_a_locked_error(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database("sqlite")
    dispose(url)
    before = users(url)
    spawn = multiprocessing.get_context("spawn")  # fresh processes, as `pmm serve` workers are
    with spawn.Pool(2) as pool:
        started = time.monotonic()
        jobs = [pool.apply_async(_busy, (url, f"w{p}x", 25)) for p in range(2)]
        # this process reads and writes too, in two threads, while the workers do
        threads = [threading.Thread(target=_busy, args=(url, f"t{t}x", 10)) for t in range(2)]
        for thread in threads:
            thread.start()
        assert [job.get(timeout=300) for job in jobs] == [25, 25]
        for thread in threads:
            thread.join(300)
        assert time.monotonic() - started < 300
    assert users(url) == before + 2 * 25 + 2 * 10
