"""Benchmark of a member's results page, in process (not a test).

The page `/results/{year}/members/{member}` is computed by `pmm.web.results_view.member_results`
and then kept per process. This measures, on the demo data (seeded unless `--database-url` names
a seeded database):

- `first`: the first view of each member's page by its NCP, in a process that has already shown
  another member's page (the cycle, the releases and the shared caches are warm; this member's
  pool, positions, trends, gaps and charts are not); the time spent drawing charts is shown
  apart (`charts`), and the CPU time of the process during it (less sensitive than the
  elapsed time to other work on a shared machine);
- `warm`: the same page asked again (the baseline: a cache hit, a few queries);
- `public`: `GET /results/{year}` through the app (no HTTP server), asked again and again.

It prints medians over the members (and repeats for the warm views), the ratio of the first view
to the warm one, and the machine's load average (the machine may be shared: read ratios).

    .venv/bin/python benchmarks/member_page.py [--database-url URL] [--members 8] [--lang en]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seed(folder: str) -> str:
    url = f"sqlite:///{folder}/pmm.db"
    subprocess.run([str(Path(sys.executable).parent / "pmm"), "demo", "--database-url", url],
                   check=True, stdout=subprocess.DEVNULL)
    return url


def run(url: str, n_members: int, lang: str) -> None:
    from fastapi.testclient import TestClient

    from pmm.analysis import release as rel_mod
    from pmm.i18n import use_locale
    from pmm.store.engine import transaction
    from pmm.store.users import principal_for
    from pmm.web import charts, results_view
    from pmm.web.app import create_app
    from pmm.web.settings import Settings

    drawn = []
    draw = charts.svg

    def timed_svg(spec):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return draw(spec)
        finally:
            drawn.append(time.perf_counter() - t)

    charts.svg = timed_svg  # type: ignore[assignment]
    first, warm, chart_ms, cpu = [], [], [], []
    with transaction(url) as session:
        year = max(y for y, _r in rel_mod.releases(session))
        released = sorted(results_view.released_members(session, {year})[year])
        members = released[: n_members + 1]

        def view(code: str) -> float:
            who = principal_for(session, f"ncp-{code.lower()}")
            t = time.perf_counter()
            with use_locale(lang):
                results_view.member_results(session, who, year, code, lang)
            return time.perf_counter() - t

        view(members[0])  # warms the process: cycles, releases, catalogues, vl-convert
        for code in members[1:]:
            drawn.clear()
            c = time.process_time()
            first.append(view(code))
            cpu.append(time.process_time() - c)
            chart_ms.append(sum(drawn))
            warm.extend(view(code) for _ in range(5))
    app = create_app(Settings(url))
    public = []
    with TestClient(app) as client:
        page = f"/results/{year}"
        assert client.get(page).status_code == 200
        for _ in range(15):
            t = time.perf_counter()
            response = client.get(page)
            public.append(time.perf_counter() - t)
            assert response.status_code == 200

    def ms(values: list[float]) -> float:
        return 1000 * statistics.median(values)

    print(f"cycle {year}, {len(first)} members ({', '.join(members[1:])}), language {lang}")
    print(f"{'view':<34}{'median ms':>10}{'min ms':>9}{'max ms':>9}")
    rows = [("member page, first view", first), ("  of which charts", chart_ms),
            ("  its CPU time (all threads)", cpu),
            ("member page, warm (baseline)", warm), (f"GET /results/{year} (warm)", public)]
    for name, values in rows:
        print(f"{name:<34}{ms(values):>10.1f}{1000 * min(values):>9.1f}"
              f"{1000 * max(values):>9.1f}")
    print(f"first view / warm view: {statistics.median(first) / statistics.median(warm):.1f}x;"
          f" first view without charts: "
          f"{ms([f - c for f, c in zip(first, chart_ms, strict=True)]):.1f} ms")
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="a database seeded by `pmm demo` (default: seed "
                        "one in a temporary folder, about 40 s)")
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--lang", default="en", choices=("en", "fr"))
    args = parser.parse_args()
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.database_url:
        run(args.database_url, args.members, args.lang)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(seed(folder), args.members, args.lang)


if __name__ == "__main__":
    main()
