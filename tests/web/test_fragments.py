"""The release pages' shared fragments (`pmm.web.fragments`), on SQLite and PostgreSQL: rendered
by one worker, served by every other; only ever to a reader of the same audience; never for a
withdrawn release; with an ETag (304) and gzip that never compresses the CSRF token; bounded.

Two applications on one database stand for two `pmm serve` worker processes: each has its own
per-process copies (`app.state.fragments`), the table is what they share.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import threading
import time
import zlib
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from pmm.store.engine import transaction
from pmm.store.models import Fragment
from pmm.web import auth, fragments
from pmm.web.settings import Settings
from tests.analysis.test_release import cycle, pmm  # noqa: F401
from tests.web import results_fixture
from tests.web.conftest import Platform, csrf_of

small = results_fixture.small  # seven members, two released cycles
PAGE = "/results/2024/members/FRA"


def _client(app, url: str, username: str | None = None) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app, base_url="http://testserver")
    if username:
        with transaction(url) as session:
            token = auth.open_session(session, username, 1)
        client.cookies.set(auth.SESSION_COOKIE, app.state.signer.sign(token))
    return client


def _main(page: str) -> str:
    found = re.search(r'<main id="main">(.*)</main>', page, re.S)
    assert found, page[:300]
    return found.group(1)


def _rows(url: str, kind: str | None = None) -> int:
    with transaction(url) as session:
        query = select(func.count()).select_from(Fragment)
        if kind:
            query = query.where(Fragment.kind == kind)
        return session.scalar(query)


def _empty(url: str) -> None:
    with transaction(url) as session:
        session.execute(delete(Fragment))


def test_a_page_rendered_by_one_worker_is_served_by_the_other(small: Platform) -> None:
    _empty(small.url)
    first, second = small.new_app(), small.new_app()
    for path, user in ((PAGE, "ncp-fra"), ("/results/2024", None),
                       ("/results/2024?by=income", "ncp-fra")):
        before = (_rows(small.url), first.state.fragments.stats["rendered"]
                  if hasattr(first.state, "fragments") else 0)
        one = _client(first, small.url, user).get(path)
        assert one.status_code == 200, one.text[-500:]
        assert _rows(small.url) == before[0] + 1
        assert first.state.fragments.stats["rendered"] == before[1] + 1
        shared = second.state.fragments.stats["shared"] if hasattr(
            second.state, "fragments") else 0
        two = _client(second, small.url, user).get(path)
        assert two.status_code == 200
        assert second.state.fragments.stats["shared"] == shared + 1
        assert second.state.fragments.stats["rendered"] == 0  # the other worker's page
        assert _main(two.text) == _main(one.text)
        assert csrf_of(two.text) != csrf_of(one.text)  # the per-request part is the reader's
    # a third worker reads the member page from the table, before computing anything: what
    # the table holds is what it serves
    with transaction(small.url) as session:
        key = session.scalar(select(Fragment.key).where(Fragment.kind == "member_results"))
        original = session.execute(select(Fragment.content, Fragment.size)
                                   .where(Fragment.key == key)).one()
        marker = fragments.Fragment.of(key, "<p>kept by another worker</p>")
        session.execute(update(Fragment).where(Fragment.key == key).values(
            content=marker.deflated, size=len(marker.html)))
    try:
        third = _client(small.new_app(), small.url, "ncp-fra").get(PAGE)
        assert "<p>kept by another worker</p>" in third.text and "Scores" not in third.text
    finally:
        with transaction(small.url) as session:
            session.execute(update(Fragment).where(Fragment.key == key).values(
                content=original.content, size=original.size))


def test_a_fragment_reaches_only_readers_of_its_audience(small: Platform) -> None:
    """Whoever warms the cache first, each reader gets exactly its own links and figures."""
    _empty(small.url)
    app = small.new_app()
    link = f'href="{PAGE}"'
    sec = _client(app, small.url, "sec")
    assert link in sec.get("/results/2024").text
    assert "Secretariat&#39;s working figures" in sec.get(PAGE).text
    for user, own in ((None, set()), ("ncp-deu", {"DEU"}), ("wb", set()),
                      ("ncp-fra", {"FRA"}), ("viewer-fra", {"FRA"}), ("ncp-fra", {"FRA"})):
        page = _client(app, small.url, user).get("/results/2024").text
        links = set(re.findall(r'href="/results/2024/members/(\w+)"', page))
        assert links == own, (user, links)
    ncp = _client(small.new_app(), small.url, "ncp-fra").get(PAGE).text
    assert "working figures" not in ncp and "Figures from release 1" in ncp
    french = _client(app, small.url, "ncp-fra")
    french.cookies.set(auth.LANG_COOKIE, "fr")
    assert "Résultats de France" in french.get(PAGE).text
    assert "Results of France" in _client(app, small.url, "ncp-fra").get(PAGE).text
    # the results page's tables are the same for every reader but the Secretariat (who gets a
    # link to each member's page): two fragments, whatever the number of readers; each reader's
    # own member's links are rendered around it
    assert _rows(small.url, "results") == 2
    assert _rows(small.url, "member_results") == 3  # sec, ncp-fra in English and in French


def test_etag_304_and_gzip_without_compressing_the_csrf_token(small: Platform) -> None:
    app = small.new_app()
    reader = _client(app, small.url)
    first = reader.get("/results/2024")
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
    assert {"Cookie", "Accept-Language"} <= set(map(str.strip,
                                                    first.headers["vary"].split(",")))
    again = reader.get("/results/2024", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    # another reader (its own CSRF token), another language, another page: not this ETag
    assert _client(app, small.url).get("/results/2024",
                                       headers={"If-None-Match": tag}).status_code == 200
    assert reader.get("/results/2024?lang=fr", headers={"If-None-Match": tag}).status_code \
        == 200
    assert reader.get("/results/2024?by=income", headers={"If-None-Match": tag}).status_code \
        == 200
    signed = _client(app, small.url, "ncp-fra")
    assert signed.get("/results/2024").headers["etag"] != tag
    # gzip: the whole page, its per-request part stored as it is
    with reader.stream("GET", "/results/2024", headers={"Accept-Encoding": "gzip"}) as answer:
        assert answer.headers["content-encoding"] == "gzip"
        raw = b"".join(answer.iter_raw())
    plain = reader.get("/results/2024", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for refused in ("gzip;q=0", "br"):
        answer = reader.get("/results/2024", headers={"Accept-Encoding": refused})
        assert "content-encoding" not in answer.headers and answer.content == plain.content
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) / 5
    assert csrf_of(plain.text).encode() in raw  # never compressed along with anything


def test_a_withdrawn_release_is_never_served_from_the_cache(cycle: str, capsys,  # noqa: F811
                                                            tmp_path: Path) -> None:
    site = Platform(cycle, Settings(cycle, secret_key="k" * 40))
    workers = [site.new_app(), site.new_app()]
    for _number in (1, 2):
        code, _out, err = pmm(capsys, "release", "create", "--cycle", "2024", "--as", "sec")
        assert code == 0, err
    tags = {}
    for app in workers:  # both workers keep release 2's pages
        client = _client(app, cycle, "ncp-fra")
        for path in ("/results/2024", "/results/2024?release=2",
                     "/results/2024/members/FRA"):
            answer = client.get(path)
            assert answer.status_code == 200 and "Release 2 of" in answer.text, path
            tags[path] = (client, answer.headers["etag"])
    assert _rows(cycle) == 3
    code, _out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "2", "--reason",
                          "a wrong value", "--as", "sec")
    assert code == 0, err
    for app in workers:
        client = _client(app, cycle, "ncp-fra")
        gone = client.get("/results/2024?release=2")
        assert gone.status_code == 410 and "a wrong value" in gone.text
        latest = client.get("/results/2024")
        assert latest.status_code == 200 and "Release 1 of" in latest.text
        assert "Release 1 of" in client.get("/results/2024/members/FRA").text
    for path, (client, tag) in tags.items():  # a browser holding release 2's page
        answer = client.get(path, headers={"If-None-Match": tag})
        assert answer.status_code == (410 if "release=2" in path else 200), path
        assert not re.search(r"Release 2 of \d{4}-", answer.text), path
    code, _out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "1", "--reason",
                          "also wrong", "--as", "sec")
    assert code == 0, err
    for app in workers:
        client = _client(app, cycle, "ncp-fra")
        assert client.get("/results/2024").status_code == 404
        assert client.get("/results/2024/members/FRA").status_code == 404
        assert client.get("/results/2024?release=1").status_code == 410


def test_the_table_is_bounded_and_tolerates_twin_inserts(database_url: str) -> None:
    cache = fragments.Fragments(database_url, cap=3, max_bytes=1000)
    keys = [fragments.key("test", i) for i in range(5)]
    for i, key in enumerate(keys):
        cache.put("test", key, f"<p>{i}</p>")
    with transaction(database_url) as session:
        kept = set(session.scalars(select(Fragment.key)))
    assert kept == set(keys[2:])  # the oldest went
    # too large to keep: served, not stored
    big = fragments.key("test", "big")
    assert cache.put("test", big, "x" * 2000).html == b"x" * 2000
    assert _rows(database_url) == 3
    # several workers rendering the same page at once: one row, no error
    twin = fragments.key("test", "twin")
    workers = [fragments.Fragments(database_url, cap=3) for _ in range(4)]
    start, failed = threading.Barrier(len(workers)), []

    def insert(worker: fragments.Fragments) -> None:
        start.wait()
        try:
            worker.put("test", twin, "<p>twin</p>")
        except Exception as exc:
            failed.append(exc)

    threads = [threading.Thread(target=insert, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failed
    with transaction(database_url) as session:
        assert session.scalar(select(func.count()).select_from(Fragment)
                              .where(Fragment.key == twin)) == 1
        found = fragments.Fragments(database_url).get(session, twin)
        assert found is not None and found.html == b"<p>twin</p>"
        # a damaged row is rendered again, never served
        session.execute(update(Fragment).where(Fragment.key == twin).values(content=b"junk"))
        assert fragments.Fragments(database_url).get(session, twin) is None
    assert zlib.decompressobj(-15).decompress(found.deflated) == b"<p>twin</p>"


def test_a_key_names_everything_the_fragment_derives_from() -> None:
    when = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    base = fragments.key("results", 2024, (1, 1, when, "d"), "en", ("public", None, []))
    assert base == fragments.key("results", 2024, (1, 1, when, "d"), "en", ("public", None, []))
    for other in (fragments.key("results", 2024, (1, 2, when, "d"), "en", ("public", None, [])),
                  fragments.key("results", 2024, (1, 1, when, "e"), "en", ("public", None, [])),
                  fragments.key("results", 2024, (1, 1, when, "d"), "fr", ("public", None, [])),
                  fragments.key("results", 2024, (1, 1, when, "d"), "en", ("ncp", "FRA", [])),
                  fragments.key("member_results", 2024, (1, 1, when, "d"), "en",
                                ("public", None, [])),
                  fragments.key("results", 2024, (1, 1, when, "d"), "en", ("public", None, []),
                                build_id="another deploy")):
        assert other != base
    assert len(fragments.build()) == 64


def test_readers_arriving_together_get_one_rendering(small: Platform, monkeypatch) -> None:
    """Many readers opening the same cold page at once (right after a release) in one worker:
    one renders it, the others wait for it and get the same content (more readers than the
    database pool has connections: the one rendering stores the fragment after its read, not
    holding a second connection while the waiting ones hold theirs)."""
    from pmm.web import pages_results

    render = pages_results._results_content

    def slow(*args, **kwargs) -> str:  # type: ignore[no-untyped-def]
        time.sleep(1)  # every other reader arrives meanwhile and waits, holding its connection
        return render(*args, **kwargs)

    monkeypatch.setattr(pages_results, "_results_content", slow)
    _empty(small.url)
    app = small.new_app()
    clients = [_client(app, small.url, user) for user in ("ncp-fra",) * 10 + (None,) * 10]
    start = threading.Barrier(len(clients))
    pages: list[str] = []

    def read(client: TestClient) -> None:
        start.wait()
        answer = client.get("/results/2024")
        assert answer.status_code == 200
        pages.append(_main(answer.text))

    threads = [threading.Thread(target=read, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the same shared content; the NCP's page has its own member's links above it
    assert len(pages) == len(clients) and len(set(pages)) == 2
    assert app.state.fragments.stats["rendered"] == 1
    assert _rows(small.url, "results") == 1
