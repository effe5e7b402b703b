"""Evidence files: size limit, type sniffed from the bytes, stored once by SHA-256, original name
kept, active content refused, served back only as an attachment."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pmm.assessment.evidence import download_headers, get_evidence, list_evidence
from pmm.assessment.submissions import get_submission
from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.models import EvidenceBlob
from pmm.store.users import principal_for

C = ["--cycle", "2024", "--member", "FRA"]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def attach(path: Path, *extra: str) -> int:
    return run(["submission", "evidence", "add", *C, str(path), *extra, "--as", "ncp-fra"])


def test_files_are_sniffed_stored_by_hash_and_kept_byte_exact(db: str, tmp_path: Path,
                                                              capsys) -> None:
    disguised = tmp_path / "scan.pdf"  # really a PNG: the content decides, not the name
    disguised.write_bytes(PNG + b"\x00" * 64)
    same = tmp_path / "Copie d'écran.png"
    same.write_bytes(PNG + b"\x00" * 64)
    text = tmp_path / "notes.csv"
    text.write_text("a,b\n1,2\n", encoding="utf-8")
    assert attach(disguised, "--kpi", "e_decl") == 0
    assert attach(same) == 0
    assert attach(text) == 0
    with transaction(db) as session:
        sub = get_submission(session, 2024, "FRA")
        files = list_evidence(session, principal_for(session, "sec"), sub)
        assert [(f.original_name, f.content_type) for f in files] == [
            ("scan.pdf", "image/png"), ("Copie d'écran.png", "image/png"),
            ("notes.csv", "text/csv")]
        assert files[0].sha256 == hashlib.sha256(disguised.read_bytes()).hexdigest()
        assert session.query(EvidenceBlob).count() == 2  # identical content stored once
        headers = download_headers(files[1])
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["X-Content-Type-Options"] == "nosniff"
        sec = principal_for(session, "sec")
        assert get_evidence(session, sec, sub, files[0].id)[1] == disguised.read_bytes()
        first = files[0].id
    out = tmp_path / "back.bin"
    assert run(["submission", "evidence", "get", *C, str(first), "-o", str(out),
                "--as", "ncp-fra"]) == 0
    assert out.read_bytes() == disguised.read_bytes()
    for outsider in ("ncp-deu", "rev", "wb", "admin"):  # not FRA's, not assigned
        capsys.readouterr()
        assert run(["submission", "evidence", "get", *C, str(first), "-o",
                    str(tmp_path / outsider), "--as", outsider]) == 4
        assert "may not read" in capsys.readouterr().err
        assert not (tmp_path / outsider).exists()


@pytest.mark.parametrize(("name", "content"), [
    ("page.html", b"<html><body>x</body></html>"),
    ("report.pdf", b"<!DOCTYPE html><script>alert(1)</script>"),
    ("logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'),
    ("data.txt", b"hello <script>alert(1)</script>"),
    ("tool.js", b"alert(1)"),
    ("setup.bin", b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00"),
])
def test_active_content_is_refused(db: str, tmp_path: Path, capsys, name: str,
                                   content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert attach(path) != 0
    assert "not accepted as evidence" in capsys.readouterr().err
    with transaction(db) as session:
        assert session.query(EvidenceBlob).count() == 0


def test_size_limit_and_empty_files(db: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PMM_EVIDENCE_MAX_BYTES", "100")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 200)
    assert attach(big) != 0
    assert "209 bytes is above the limit of 100 bytes" in capsys.readouterr().err
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert attach(empty) != 0
    assert "the file is empty" in capsys.readouterr().err


def test_only_those_who_may_see_the_submission_get_files(db: str, tmp_path: Path,
                                                         capsys) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    assert attach(pdf) == 0
    out = tmp_path / "out.pdf"
    assert run(["submission", "evidence", "get", *C, "1", "-o", str(out), "--as",
                "ncp-deu"]) == 4
    assert run(["submission", "evidence", "get", *C, "1", "-o", str(out), "--as",
                "view-fra"]) == 0
    assert run(["submission", "evidence", "add", *C, str(pdf), "--as", "view-fra"]) == 4
