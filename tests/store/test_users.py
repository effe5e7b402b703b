"""`pmm user ...`: an administrator manages users (the first user of an empty database is that
administrator); roles, members, argon2 hashes; the password never comes as an argument."""

from __future__ import annotations

import io

import pytest

from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.users import authenticate, get_user


@pytest.fixture
def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database whose first user, the administrator `root`, was added without --as."""
    monkeypatch.setenv("PMM_DATABASE_URL", database_url)
    monkeypatch.delenv("PMM_USER", raising=False)
    assert add(monkeypatch, "root", "--role", "admin", who=None) == 0
    return database_url


def add(monkeypatch, *args: str, password: str = "s3cret-enough", who: str | None = "root"
        ) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return run(["user", "add", *args, "--password-stdin", *(["--as", who] if who else [])])


def test_only_an_administrator_manages_users(database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PMM_DATABASE_URL", database_url)
    monkeypatch.delenv("PMM_USER", raising=False)
    assert add(monkeypatch, "sec", "--role", "secretariat", who=None) != 0
    assert "the first user must be an administrator" in capsys.readouterr().err
    assert add(monkeypatch, "root", "--role", "admin", who=None) == 0
    assert add(monkeypatch, "sec", "--role", "secretariat", who=None) != 0  # no longer empty
    assert "--as USER" in capsys.readouterr().err
    assert add(monkeypatch, "sec", "--role", "secretariat") == 0
    for who in ("sec", "nobody"):
        assert add(monkeypatch, "ncp-fra", "--role", "ncp", "--member", "FRA", who=who) != 0
        assert run(["user", "list", "--as", who]) != 0
        assert run(["user", "disable", "root", "--as", who]) != 0
    err = capsys.readouterr().err
    assert "may not manage users" in err and "--as nobody: no user 'nobody'" in err
    # anyone may change their own password, only the administrator another's
    monkeypatch.setattr("sys.stdin", io.StringIO("own-new-pass\n"))
    assert run(["user", "passwd", "sec", "--password-stdin", "--as", "sec"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("stolen-pass\n"))
    assert run(["user", "passwd", "root", "--password-stdin", "--as", "sec"]) == 4
    with transaction(database_url) as session:
        assert authenticate(session, "sec", "own-new-pass") is not None
        assert authenticate(session, "root", "stolen-pass") is None


def test_add_users_of_each_role_with_argon2_hashes(url: str, monkeypatch, capsys) -> None:
    assert add(monkeypatch, "ncp-fra", "--role", "ncp", "--member", "fra") == 0
    assert add(monkeypatch, "sec", "--role", "secretariat", "--name", "Ana Sec") == 0
    assert add(monkeypatch, "rev", "--role", "peer_reviewer") == 0
    assert add(monkeypatch, "wb", "--role", "working_body") == 0
    assert add(monkeypatch, "view-fra", "--role", "viewer", "--member", "FRA") == 0
    capsys.readouterr()
    assert run(["user", "list", "--as", "root"]) == 0
    out = capsys.readouterr().out
    assert "ncp-fra\tncp\tFRA" in out and "sec\tsecretariat\t-\tAna Sec" in out
    with transaction(url) as session:
        user = get_user(session, "ncp-fra")
        assert user.password_hash.startswith("$argon2id$")
        assert "s3cret-enough" not in user.password_hash
        assert authenticate(session, "ncp-fra", "s3cret-enough") is not None
        assert authenticate(session, "ncp-fra", "wrong") is None
        assert authenticate(session, "nobody", "s3cret-enough") is None
    capsys.readouterr()
    assert run(["audit", "--as", "root"]) == 0
    assert "user.add" in capsys.readouterr().out


def test_password_is_never_an_argument(url: str, capsys) -> None:
    assert run(["user", "add", "x1", "--role", "secretariat", "--password", "abcdefgh"]) != 0
    assert "No such option" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")
def test_password_prompt(url: str, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("prompted-pass\nprompted-pass\n"))
    assert run(["user", "add", "sec2", "--role", "secretariat", "--as", "root"]) == 0
    with transaction(url) as session:
        assert authenticate(session, "sec2", "prompted-pass") is not None


@pytest.mark.parametrize(("args", "message"), [
    (("a", "--role", "ncp"), "user name 'a'"),
    (("ncp-x", "--role", "ncp"), "needs a member"),
    (("ncp-x", "--role", "ncp", "--member", "ZZZ"), "Unknown WCO Member code 'ZZZ'"),
    (("sec-x", "--role", "secretariat", "--member", "FRA"), "not tied to a member"),
    (("boss", "--role", "owner"), "role 'owner'"),
])
def test_bad_users_are_refused(url: str, monkeypatch, capsys, args: tuple, message: str) -> None:
    assert add(monkeypatch, *args) != 0
    assert message in capsys.readouterr().err


def test_short_password_duplicate_and_disable(url: str, monkeypatch, capsys) -> None:
    assert add(monkeypatch, "sec", "--role", "secretariat", password="short") != 0
    assert "too short" in capsys.readouterr().err
    assert add(monkeypatch, "sec", "--role", "secretariat") == 0
    assert add(monkeypatch, "sec", "--role", "secretariat") != 0
    assert "already exists" in capsys.readouterr().err
    assert run(["user", "disable", "sec", "--reason", "left", "--as", "root"]) == 0
    with transaction(url) as session:
        assert authenticate(session, "sec", "s3cret-enough") is None
    monkeypatch.setattr("sys.stdin", io.StringIO("another-pass\n"))
    assert run(["user", "passwd", "sec", "--password-stdin", "--as", "root"]) == 0
    assert run(["user", "enable", "sec", "--as", "root"]) == 0
    with transaction(url) as session:
        assert authenticate(session, "sec", "another-pass") is not None
