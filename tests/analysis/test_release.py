"""Releases through the command line, on SQLite and PostgreSQL: configuration, create, list,
show, diff, withdraw; readers other than the Secretariat read the latest release; the cycle
cache is invalidated by any change of a submission."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pmm.analysis.load import load_cycle
from pmm.cli import run
from pmm.errors import PmmError
from pmm.store.audit import trail
from pmm.store.engine import transaction
from pmm.store.users import add_user, principal_for
from tests.assessment.conftest import COMPLETE, prepare, write_csv

MEMBERS = ("FRA", "DEU", "ITA", "ESP", "NLD", "BEL")


def pmm(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def submit(tmp_path: Path, member: str, scale: float) -> None:
    values = dict(COMPLETE)
    values[("declarations_electronic", 2024, "")] = str(int(900 + 15 * scale))
    values[("staff_trained_pct", 2024, "")] = str(40 + 7 * scale)
    path = write_csv(tmp_path / f"{member}.csv", values)
    who = f"ncp-{member.lower()}"
    c = ["--cycle", "2024", "--member", member]
    assert run(["submission", "import", str(path), *c, "--as", who]) == 0
    assert run(["submission", "submit", *c, "--as", who]) == 0


@pytest.fixture
def cycle(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = prepare(database_url, monkeypatch)
    with transaction(url) as session:
        for m in MEMBERS[2:]:
            add_user(session, f"ncp-{m.lower()}", "ncp", member=m, password_hash="x")
    for i, m in enumerate(MEMBERS):
        submit(tmp_path, m, i)
    for m in MEMBERS[:-1]:  # the last one is validated later
        assert run(["submission", "validate", "--cycle", "2024", "--member", m,
                    "--as", "sec"]) == 0
    return url


def test_release_lifecycle(cycle: str, capsys) -> None:
    code, _out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--as", "ncp-fra")
    assert code == 5 and "no release yet" in err
    code, _out, err = pmm(capsys, "release", "create", "--cycle", "2024", "--as", "ncp-fra")
    assert code == 4 and "Secretariat" in err
    code, out, err = pmm(capsys, "release", "config", "--as", "ncp-fra")
    assert code == 0 and "min_n: 3" in out
    code, out, err = pmm(capsys, "release", "config", "--min-n", "4", "--as", "sec")
    assert code == 0 and "min_n: 4" in out, err
    code, out, err = pmm(capsys, "release", "create", "--cycle", "2024", "--as", "sec")
    assert code == 0 and "Release 1 of cycle 2024: 5 validated members" in out, err
    # a reader other than the Secretariat gets the release's statistics
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--as", "ncp-fra")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert table and {r["group"] for r in table} >= {"all", "balanced"}
    total = [r for r in table if r["group"] == "all"]
    assert all(int(r["n"]) <= 5 for r in total)
    # the sixth member's validation changes nothing readers see until the next release
    assert run(["submission", "validate", "--cycle", "2024", "--member", "BEL",
                "--as", "sec"]) == 0
    code, again, _err = pmm(capsys, "benchmark", "--cycle", "2024", "--as", "ncp-fra")
    assert again == out
    code, out, err = pmm(capsys, "release", "create", "--cycle", "2024", "--as", "sec")
    assert code == 0 and "Release 2 of cycle 2024: 6 validated members" in out, err
    code, out, err = pmm(capsys, "release", "list", "--cycle", "2024", "--format", "csv",
                         "--as", "ncp-fra")
    listed = list(csv.DictReader(io.StringIO(out)))
    assert [(r["number"], r["state"], r["min_n"]) for r in listed] == [
        ("1", "active", "4"), ("2", "active", "4")]
    code, out, err = pmm(capsys, "release", "show", "--cycle", "2024", "2", "--as", "sec")
    assert code == 0 and "members: 6" in out and "public_released" in out + "public_withheld"
    code, out, err = pmm(capsys, "release", "diff", "--cycle", "2024", "1", "2", "--as", "sec")
    assert code == 0 and "change" in out.splitlines()[0]
    changes = {r["change"] for r in csv.DictReader(io.StringIO(out))}
    assert changes and changes <= {"new", "gone", "released", "withheld", "changed"}
    code, _out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "2", "--as", "sec")
    assert code == 2 and "reason" in err
    code, out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "2", "--reason",
                         "wrong data for BEL", "--as", "sec")
    assert code == 0, err
    code, out, _err = pmm(capsys, "release", "show", "--cycle", "2024", "--as", "ncp-deu")
    assert "number: 1" in out  # the latest release not withdrawn
    code, out, _err = pmm(capsys, "release", "list", "--cycle", "2024", "--format", "csv",
                          "--as", "sec")
    assert "withdrawn" in out and "wrong data for BEL" in out
    code, _out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "2", "--reason",
                          "again", "--as", "sec")
    assert code == 2 and "already withdrawn" in err
    code, _out, err = pmm(capsys, "release", "show", "--cycle", "2024", "7", "--as", "sec")
    assert code == 5 and "no release 7" in err
    with transaction(cycle) as session:
        actions = [e.action for e in trail(session, principal_for(session, "sec"))]
    assert actions.count("release.create") == 2 and "release.withdraw" in actions
    assert "release.config" in actions


def test_cycle_data_is_cached_until_a_submission_changes(cycle: str, tmp_path: Path) -> None:
    with transaction(cycle) as session:
        first = load_cycle(session, 2024)
        assert load_cycle(session, 2024) is first  # nothing changed: the same computation
    values = dict(COMPLETE)
    values[("staff_trained_pct", 2024, "")] = "12.5"
    assert run(["submission", "reopen", "--cycle", "2024", "--member", "FRA", "--reason",
                "fix", "--as", "sec"]) == 0
    path = write_csv(tmp_path / "again.csv", values)
    assert run(["submission", "import", str(path), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    with transaction(cycle) as session:
        second = load_cycle(session, 2024)
    assert second is not first and second.digest != first.digest
    changed = second.tables.values
    assert (changed[(changed["member"] == "FRA")
                    & (changed["data_item"] == "staff_trained_pct")]["value"] == 12.5).all()


def test_snapshots_of_two_databases_with_the_same_release_id_are_not_mixed() -> None:
    """A process reading two databases (tests, tools) gets each release's own snapshot."""
    import datetime as dt

    from pmm.analysis import release as rel_mod
    from pmm.store.models import Release
    from tests.analysis import synthetic

    obs, groups = synthetic.observations(seed=3)
    made = []
    for i, part in enumerate((obs[obs["cycle"] == 2022], obs[obs["cycle"] == 2024])):
        made.append(Release(id=1, number=1, snapshot=rel_mod._pack(
            part, groups[groups["cycle"] == int(part["cycle"].iloc[0])]),
            created_at=dt.datetime(2026, 1, 1 + i, tzinfo=dt.UTC), data_digest=f"d{i}"))
    first, second = (rel_mod.snapshot(r)[0] for r in made)
    assert set(first["cycle"]) == {2022} and set(second["cycle"]) == {2024}


def _pool_as_before(session, who, year: int):  # type: ignore[no-untyped-def]
    """The pool as it was computed before the release-only path: the live cycle loaded, the
    readable members' rows from it, the others' from the release, all scored together."""
    import pandas as pd

    from pmm.access import may_read_submission, visible
    from pmm.analysis import api
    from pmm.analysis import release as rel_mod
    from pmm.analysis.observations import build
    from pmm.scoring.pmm import score_cycle

    data = load_cycle(session, year)
    readable = [m for m in data.obs["member"].unique() if may_read_submission(who, year, m)]
    own = data.obs[data.obs["member"].isin(readable)]
    rel = rel_mod.latest(session, year)
    snap, _groups = rel_mod.snapshot(rel)
    others = snap[~snap["member"].isin(readable)]
    seen = pd.concat([own, others[visible(who, others)]], ignore_index=True)
    kpis = seen[seen["level"] == "kpi"]
    values = kpis.rename(columns={"code": "kpi"})[api.VALUE_COLUMNS].reset_index(drop=True)
    disclosure = kpis[(kpis["variant"] == "") & (kpis["breakdown"] == "")].rename(
        columns={"code": "kpi"})[["member", "kpi", "disclosure"]]
    validated = set(seen.loc[seen["validated"].astype(bool), "member"])
    obs = build(year, data.fw, values, score_cycle(data.fw, values), disclosure, validated)
    shown = seen[seen["level"] != "kpi"][["member", "level", "code"]]
    mine = obs["member"].isin(readable) | (obs["level"] == "kpi")
    keyed = obs.merge(shown.assign(ok=True), on=["member", "level", "code"], how="left")
    obs = obs[mine.to_numpy() | keyed["ok"].fillna(False).to_numpy(bool)]
    return obs.reset_index(drop=True), values, data.groups


def test_readers_of_no_submission_read_the_release_alone(cycle: str, capsys,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The public and a working body get the same pool as when the live cycle was loaded, and
    every analysis they ask for runs without loading it."""
    import pandas as pd

    from pmm.access import ANONYMOUS
    from pmm.analysis import api

    with transaction(cycle) as session:
        add_user(session, "wb-reader", "working_body", password_hash="x")
    code, _out, err = pmm(capsys, "release", "create", "--cycle", "2024", "--as", "sec")
    assert code == 0, err
    with transaction(cycle) as session:
        readers = [ANONYMOUS, principal_for(session, "wb-reader")]
        expected = [_pool_as_before(session, who, 2024) for who in readers]
    monkeypatch.setattr(api, "load_cycle", _refuse_live)
    with transaction(cycle) as session:
        for who, (obs, values, groups) in zip(readers, expected, strict=True):
            got = api.pool(session, who, 2024)
            assert got.data is None and len(got.obs) > 0
            # the same rows and values (a text column may be pandas' string type, not object)
            pd.testing.assert_frame_equal(got.obs, obs, check_dtype=False)
            pd.testing.assert_frame_equal(got.values, values, check_dtype=False)
            # nothing changed since the release: its groups are the live ones
            pd.testing.assert_frame_equal(got.groups.reset_index(drop=True),
                                          groups.reset_index(drop=True), check_dtype=False)
            assert len(api.benchmarks(session, who, 2024, by="income"))
            assert len(api.scores(session, who, 2024))
            api.sdg(session, who, 2024)  # runs on the release alone
        with pytest.raises(PmmError, match="no scored submission"):
            api.scores(session, ANONYMOUS, 2024, member="USA")


def _refuse_live(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("the live cycle was loaded for a reader of no submission")
