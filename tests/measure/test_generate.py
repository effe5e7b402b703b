"""`pmm measure generate`: seeded, chunked, and with the documented distributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pmm.cli import run
from pmm.errors import PmmError
from pmm.measure import generate as gen
from tests.measure import reference
from tests.measure.conftest import YEAR


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in "abc")
    gen.generate(500, YEAR, a, seed=3)
    gen.generate(500, YEAR, b, seed=3)
    gen.generate(500, YEAR, c, seed=4)
    for table in ("declarations", "events", "controls", "seizures", "aeo"):
        ta = pq.read_table(a / table)
        assert ta.equals(pq.read_table(b / table)), table
    assert not pq.read_table(a / "events").equals(pq.read_table(c / "events"))


def test_chunks_are_separate_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "CHUNK", 400)
    done: list[int] = []
    counts = gen.generate(1000, YEAR, tmp_path / "g", progress=done.append)
    assert done == [400, 400, 200]
    assert len(list((tmp_path / "g" / "declarations").iterdir())) == 3
    ids = pq.read_table(tmp_path / "g" / "declarations")["declaration_id"].to_pylist()
    assert len(set(ids)) == counts["declarations"] == 1000


def test_distributions_follow_the_documentation(parquet_dir: Path) -> None:
    d = reference.declarations(parquet_dir)
    assert set(d["lodgement"].dt.year) == {YEAR - 1, YEAR}
    share = d.flow.value_counts(normalize=True)
    assert share["IM"] == pytest.approx(0.60, abs=0.04)
    assert share["EX"] == pytest.approx(0.30, abs=0.04)
    im = d[d.flow == "IM"]
    h = reference.hours(im, "arrival", "release").clip(lower=0)
    # AEOs are released faster; sea slower than road.
    assert h[im.aeo].median() < 0.7 * h[~im.aeo].median()
    assert h[im.transport_mode == 1].median() > 3 * h[im.transport_mode == 3].median()
    # A share of imports is lodged before arrival, and some are released before arrival.
    pre = (im.lodgement < im.arrival).mean()
    assert 0.25 < pre < 0.6
    assert (im.release < im.arrival).mean() > 0.05
    # Inspections by lane: red and yellow are inspected, green and blue are not.
    inspected = d.inspection_start.notna()
    assert inspected[d.lane.isin(["red", "yellow"])].all()
    assert not inspected[d.lane.isin(["green", "blue"])].any()
    assert (d.lane == "red")[~d.aeo].mean() > (d.lane == "red")[d.aeo].mean()
    # E-commerce mostly by air and mail; about 1 arrival in 100 missing.
    assert d.ecommerce[d.transport_mode.isin([4, 5])].mean() > 0.3
    assert 0 < im.arrival.isna().mean() < 0.03
    # Seasonality: the last quarter is busier than the summer.
    month = d.lodgement.dt.month
    assert (month >= 10).mean() / 3 > (month.isin([7, 8])).mean() / 2
    # Hit rate of physical controls about 10%.
    c = reference.read(parquet_dir, "controls")
    phys = c[c.control_type == "physical"]
    assert phys.result.isin(["irregularity", "seizure"]).mean() == pytest.approx(0.10, abs=0.04)


def test_timestamps_carry_the_offset(parquet_dir: Path, csv_dir: Path) -> None:
    ts_type = pq.read_schema(next((parquet_dir / "events").iterdir())).field("ts").type
    assert ts_type.tz == "+03:00"
    line = next((csv_dir / "events").iterdir()).read_text().splitlines()[1]
    assert line.endswith('+03:00"')
    a = reference.read(parquet_dir, "events").ts.dt.tz_convert("UTC")
    b = reference.read(csv_dir, "events").ts.dt.tz_convert("UTC")
    assert np.array_equal(a.to_numpy(), b.to_numpy())


def test_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(PmmError, match="at least 1"):
        gen.generate(0, YEAR, tmp_path / "a")
    with pytest.raises(PmmError, match="parquet or csv"):
        gen.generate(10, YEAR, tmp_path / "b", fmt="xlsx")
    with pytest.raises(PmmError, match="offset like"):
        gen.generate(10, YEAR, tmp_path / "c", utc_offset="3h")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert run(["measure", "generate", "--declarations", "10", "--year", str(YEAR), "--out",
                str(tmp_path / "full")]) == 2
