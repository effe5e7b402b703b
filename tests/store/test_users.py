"""`pmm user add`: roles, members, argon2 hashes; the password never comes as an argument."""

from __future__ import annotations

import io

import pytest

from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.users import authenticate, get_user


@pytest.fixture
def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PMM_DATABASE_URL", database_url)
    return database_url


def add(monkeypatch, *args: str, password: str = "s3cret-enough") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return run(["user", "add", *args, "--password-stdin"])


def test_add_users_of_each_role_with_argon2_hashes(url: str, monkeypatch, capsys) -> None:
    assert add(monkeypatch, "ncp-fra", "--role", "ncp", "--member", "fra") == 0
    assert add(monkeypatch, "sec", "--role", "secretariat", "--name", "Ana Sec") == 0
    assert add(monkeypatch, "rev", "--role", "peer_reviewer") == 0
    assert add(monkeypatch, "wb", "--role", "working_body") == 0
    assert add(monkeypatch, "view-fra", "--role", "viewer", "--member", "FRA") == 0
    capsys.readouterr()
    assert run(["user", "list"]) == 0
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
    assert run(["audit"]) == 0
    assert "user.add" in capsys.readouterr().out


def test_password_is_never_an_argument(url: str, capsys) -> None:
    assert run(["user", "add", "x1", "--role", "secretariat", "--password", "abcdefgh"]) != 0
    assert "No such option" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")
def test_password_prompt(url: str, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("prompted-pass\nprompted-pass\n"))
    assert run(["user", "add", "sec2", "--role", "secretariat"]) == 0
    with transaction(url) as session:
        assert authenticate(session, "sec2", "prompted-pass") is not None


@pytest.mark.parametrize(("args", "message"), [
    (("a", "--role", "ncp"), "user name 'a'"),
    (("ncp-x", "--role", "ncp"), "needs --member"),
    (("ncp-x", "--role", "ncp", "--member", "ZZZ"), "Unknown WCO Member code 'ZZZ'"),
    (("sec-x", "--role", "secretariat", "--member", "FRA"), "not tied to a member"),
    (("boss", "--role", "admin"), "role 'admin'"),
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
    assert run(["user", "disable", "sec", "--reason", "left"]) == 0
    with transaction(url) as session:
        assert authenticate(session, "sec", "s3cret-enough") is None
    monkeypatch.setattr("sys.stdin", io.StringIO("another-pass\n"))
    assert run(["user", "passwd", "sec", "--password-stdin"]) == 0
    assert run(["user", "enable", "sec"]) == 0
    with transaction(url) as session:
        assert authenticate(session, "sec", "another-pass") is not None
