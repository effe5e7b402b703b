"""`pmm submission import FILE --server URL`: a Member's system sends its figures with a token."""

from __future__ import annotations

from pmm.cli import run
from pmm.store.engine import transaction
from pmm.web import auth
from tests.web.conftest import YEAR


def test_import_to_a_running_platform_with_a_token(live_server, tmp_path, monkeypatch,
                                                   capsys) -> None:
    with transaction(live_server.database_url) as session:
        _token, clear = auth.create_token(session, "ncp-bel", "national system")
    file = tmp_path / "bel.csv"
    file.write_text("kpi,data_item,year,breakdown,value,status,disclosure,note\n"
                    f",declarations,{YEAR},,4321,reported,,\n")
    args = ["submission", "import", str(file), "--cycle", str(YEAR), "--member", "BEL",
            "--server", live_server.url]
    monkeypatch.setenv("PMM_TOKEN", clear)
    assert run(args) == 0
    assert "1 changes" in capsys.readouterr().out
    file.write_text("kpi,data_item,year,breakdown,value,status,disclosure,note\n"
                    f",declarations,{YEAR},,minus one,reported,,\n")
    assert run(args) == 2
    assert "bel.csv:2" in capsys.readouterr().err
    monkeypatch.setenv("PMM_TOKEN", "pmm_not-a-token")
    assert run(args) == 4
    assert "not valid or was revoked" in capsys.readouterr().err
    other = ["submission", "import", str(file), "--cycle", str(YEAR), "--member", "ALB",
             "--server", live_server.url]
    monkeypatch.setenv("PMM_TOKEN", clear)
    assert run(other) == 4  # BEL's NCP may not write ALB's data
    assert run([*args[:-1], "http://127.0.0.1:9"]) == 69
    assert "Cannot reach the platform" in capsys.readouterr().err
