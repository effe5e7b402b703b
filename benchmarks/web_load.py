"""Load benchmark of the web platform (not a test): 100 concurrent users, loopback only.

For each backend (SQLite, and a throwaway PostgreSQL 15 started like the tests do), it seeds the
demo data (`pmm demo`), starts `pmm serve --workers N` on 127.0.0.1 and a free port, signs users
in (sessions and API tokens made directly in the database: the benchmark measures pages, not
argon2). Every user first opens each of its pages once, all at the same time, as right after a
release is published (cold caches; reported apart, `--no-first-views` skips it). Then it runs two
phases of the same length and concurrency with an asyncio httpx client:

- `bare`: GET /healthz, a route with no database and no template (the server's own floor);
- `mix`: each user cycles over the main pages and API calls of its role (public pages, the
  framework browser, the public results of the latest release, an NCP's submission home and entry
  form, its results page when the platform has one, the API's submission and values).

It prints p50/p95/p99 latency and throughput per route and overall, and their ratios to `bare`
measured in the same run, the number of errors (any status >= 400 or transport error) and the
machine's load average before and after (the machine may be shared: read ratios, not absolutes).
By default every user sends its next request as soon as the last one is answered (no think
time): that measures the server saturated, and with 100 users the latency is mostly queueing
(p50 ≈ users / throughput). `--think S` makes each user pause a random 0–2S seconds (mean S)
between requests, as people reading pages do: 100 users then offer about 100 / S requests a
second, and the latency is the server's answer time under that load.

    .venv/bin/python benchmarks/web_load.py [--users 100] [--seconds 10] [--workers 2]
        [--backends sqlite,postgresql] [--think 0] [--no-first-views]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(url: str) -> None:
    subprocess.run([sys.executable, "-m", "pmm", "demo", "--database-url", url], check=True,
                   stdout=subprocess.DEVNULL)


def credentials(url: str, count: int
                ) -> tuple[list[tuple[str, str]], list[str], frozenset[str]]:
    """(member, signed session cookie) of NCPs, API tokens of the same NCPs, and the members
    in the latest release (only they have a results page)."""
    from sqlalchemy import select

    from pmm.analysis import release as rel_mod
    from pmm.store.engine import dispose, transaction
    from pmm.store.models import Cycle, Submission, User
    from pmm.web import auth

    with transaction(url) as session:
        signer = auth.Signer(auth.platform_secret(session))
        latest = session.scalar(select(Cycle.id).order_by(Cycle.year.desc()))
        members = set(session.scalars(select(Submission.member)
                                      .where(Submission.cycle_id == latest)).all())
        users = [u for u in session.scalars(select(User).where(User.role == "ncp")).all()
                 if u.member in members][:count]
        cookies = [(u.member, signer.sign(auth.open_session(session, u.username, 2)))
                   for u in users]
        tokens = [auth.create_token(session, u.username, "load test")[1] for u in users]
        year = session.scalar(select(Cycle.year).where(Cycle.id == latest))
        rel = rel_mod.latest(session, year)
        released = frozenset(rel_mod.snapshot(rel)[0]["member"]) if rel else frozenset()
    dispose(url)
    return cookies, tokens, released


def serve(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "pmm", "serve", "--port", str(port),
                                "--workers", str(workers), "--database-url", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a loaded machine starts workers slowly
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return process, base
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.1)
    raise RuntimeError("pmm serve did not start")


def plan(year: int, member: str, cookie: str, token: str, member_page: bool
         ) -> list[tuple[str, str, dict]]:
    sub = f"/cycles/{year}/members/{member}"
    session = {"Cookie": f"pmm_session={cookie}"}
    bearer = {"Authorization": f"Bearer {token}"}
    steps = [
        ("public home", "/", {}),
        ("framework", "/framework/wco-pmm-v1", {}),
        ("framework KPI", "/framework/wco-pmm-v1/kpis/TF.1.1", {}),
        ("results index", "/results", {}),
        ("results (public)", f"/results/{year}", {}),
        ("results by income", f"/results/{year}?by=income", {}),
        ("results (NCP)", f"/results/{year}", session),
        ("NCP home", "/home", session),
        ("submission home", sub, session),
        ("entry form", sub + "/outcomes/TF.1", session),
        ("API framework", "/api/v1/framework/wco-pmm-v1", {}),
        ("API submission", "/api/v1" + sub, bearer),
        ("API values", "/api/v1" + sub + "/values?limit=200", bearer),
    ]
    if member_page:  # only members in the latest release have one
        steps.append(("member results", f"/results/{year}/members/{member}", session))
    return steps


# routes that read a release (the goal: p95 under 100 ms)
RELEASE_ROUTES = ("results index", "results (public)", "results by income", "results (NCP)",
                  "member results")


async def timed_get(client: httpx.AsyncClient, label: str, path: str, headers: dict,
                    timings: dict[str, list[float]], errors: Counter[str]) -> None:
    """GET `path`, its time added to `timings[label]`; a status >= 400 or a transport error
    counted in `errors`."""
    start = time.perf_counter()
    try:
        answer = await client.get(path, headers=headers)
        if answer.status_code >= 400:
            errors[f"{label}: HTTP {answer.status_code}"] += 1
    except httpx.HTTPError as exc:
        errors[f"{label}: {type(exc).__name__}"] += 1
    timings[label].append(time.perf_counter() - start)


async def run_phase(base: str, users: list[list[tuple[str, str, dict]]], seconds: float,
                    think: float = 0.0) -> tuple[dict[str, list[float]], Counter[str], float]:
    timings: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=len(users), max_keepalive_connections=len(users))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        stop = time.perf_counter() + seconds

        async def user(steps: list[tuple[str, str, dict]], offset: int) -> None:
            i = offset
            pause = random.Random(offset)
            if think:
                await asyncio.sleep(pause.uniform(0, 2 * think))  # users arrive spread out
            while time.perf_counter() < stop:
                label, path, headers = steps[i % len(steps)]
                i += 1
                await timed_get(client, label, path, headers, timings, errors)
                if think:
                    await asyncio.sleep(pause.uniform(0, 2 * think))

        began = time.perf_counter()
        await asyncio.gather(*(user(steps, n) for n, steps in enumerate(users)))
        elapsed = time.perf_counter() - began
    return timings, errors, elapsed


async def first_views(base: str, users: list[list[tuple[str, str, dict]]]
                      ) -> tuple[dict[str, list[float]], Counter[str], float]:
    """Every user opens each of its pages once, all users at once, as when a release has just
    been published and the caches are cold: returns the timings of these first views."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=len(users), max_keepalive_connections=len(users))
    seen: set[str] = set()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        async def user(steps: list[tuple[str, str, dict]]) -> None:
            for label, path, headers in steps:
                key = f"{path} {sorted(headers.items())}"
                if key in seen:  # a user repeated to reach --users: not a first view
                    continue
                seen.add(key)
                await timed_get(client, label, path, headers, timings, errors)

        began = time.perf_counter()
        await asyncio.gather(*(user(steps) for steps in users))
        elapsed = time.perf_counter() - began
    return timings, errors, elapsed


def report_first(backend: str, first: tuple) -> None:
    times, errors, elapsed = first
    print(f"\n== {backend}: first views, every user once on each of its pages at the same "
          f"time (cold caches), {elapsed:.1f} s in all")
    print(f"{'route':<20}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for label, values in times.items():
        if len(values) >= 2:
            p50, p95, _p99 = quantiles(values)
        else:
            p50 = p95 = values[0] * 1000
        print(f"{label:<20}{len(values):>7}{p50:>9.1f}{p95:>9.1f}{max(values) * 1000:>9.1f}")
    print(f"errors: {sum(errors.values())}" + "".join(
        f"\n  {what}: {n}" for what, n in sorted(errors.items())), flush=True)


def quantiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def report(backend: str, bare: tuple, mix: tuple) -> None:
    (b_times, b_errors, b_elapsed), (m_times, m_errors, m_elapsed) = bare, mix
    b_all = b_times["bare"]
    b50, b95, b99 = quantiles(b_all)
    b_rps = len(b_all) / b_elapsed
    print(f"\n== {backend}: bare /healthz: {len(b_all)} requests, {b_rps:.0f} req/s, "
          f"p50 {b50:.1f} ms, p95 {b95:.1f} ms, p99 {b99:.1f} ms, errors {sum(b_errors.values())}")
    print(f"{'route':<20}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}"
          f"{'p95/bare':>10}{'req/s / bare':>14}")
    everything: list[float] = []
    for label, values in m_times.items():
        everything += values
        p50, p95, p99 = quantiles(values)
        rps = len(values) / m_elapsed
        mark = " *" if label in RELEASE_ROUTES else ""
        print(f"{label + mark:<20}{len(values):>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{rps:>8.0f}"
              f"{p95 / b95:>10.1f}{rps / b_rps:>14.3f}")
    p50, p95, p99 = quantiles(everything)
    rps = len(everything) / m_elapsed
    print(f"{'all (mix)':<20}{len(everything):>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{rps:>8.0f}"
          f"{p95 / b95:>10.1f}{rps / b_rps:>14.3f}")
    print("* reads a release")
    print(f"errors: {sum(m_errors.values())}" + "".join(
        f"\n  {what}: {n}" for what, n in sorted(m_errors.items())))


def bench(backend: str, url: str, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from pmm.store.engine import dispose, transaction
    from pmm.store.models import Cycle

    t0 = time.perf_counter()
    seed(url)
    print(f"{backend}: demo data seeded in {time.perf_counter() - t0:.0f} s", flush=True)
    with transaction(url) as session:
        year = session.scalar(select(Cycle.year).order_by(Cycle.year.desc()))
    dispose(url)
    cookies, tokens, released = credentials(url, args.users)
    process, base = serve(url, args.workers)
    try:
        users = [plan(year, member, cookie, tokens[i], member in released)
                 for i, (member, cookie) in enumerate(cookies)]
        while len(users) < args.users:
            users.append(users[len(users) % len(cookies)])
        bare_users = [[("bare", "/healthz", {})]] * args.users
        print(f"{backend}: load average before the phases: {load_average()}", flush=True)
        asyncio.run(run_phase(base, bare_users, 2))  # warm up the server
        if args.first_views:
            first = asyncio.run(first_views(base, users))
            report_first(backend, first)
        else:
            asyncio.run(run_phase(base, users, 2))
        bare = asyncio.run(run_phase(base, bare_users, args.seconds, args.think))
        mix = asyncio.run(run_phase(base, users, args.seconds, args.think))
        report(backend, bare, mix)
        print(f"load average after: {load_average()}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause of a user between two requests, in seconds")
    parser.add_argument("--first-views", action=argparse.BooleanOptionalAction, default=True,
                        help="before the measured phases, every user opens each of its pages "
                             "once (cold caches, reported apart): the phases then measure the "
                             "steady state; --no-first-views warms up with 2 s of the mix")
    args = parser.parse_args()
    print(f"{args.users} concurrent users, think time {args.think:g} s, "
          f"{args.seconds:.0f} s per phase, "
          f"{args.workers} worker(s), {os.cpu_count()} CPU(s); loopback only; "
          f"load average {load_average()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                bench("sqlite", f"sqlite:///{folder}/pmm.db", args)
            elif backend == "postgresql":
                sys.path.insert(0, str(ROOT))
                from tests.conftest import _start_postgres

                server = _start_postgres()
                try:
                    server.admin("CREATE DATABASE pmm_bench")
                    bench("postgresql", server.url("pmm_bench"), args)
                finally:
                    server.stop()
            else:
                raise SystemExit(f"--backends: unknown {backend!r} (sqlite, postgresql)")


if __name__ == "__main__":
    main()
