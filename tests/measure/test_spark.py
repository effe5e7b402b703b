"""The same measurements on Apache Spark (local mode) give the same results as on DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pmm.measure import items, trs
from pmm.measure.microdata import Microdata
from tests.measure import reference
from tests.measure.conftest import YEAR
from tests.measure.test_items import HOURS

pytestmark = pytest.mark.spark


def measured(folder: Path, **kwargs: Any) -> tuple[dict, list[dict], list[dict]]:
    study = trs.Study(YEAR, by=("transport_mode", "aeo", "prearrival"), within=(24.0,))
    with Microdata(folder, **kwargs) as md:
        rows = {(r.data_item, r.year, r.breakdown): (r.value, r.status)
                for r in items.measure(md, YEAR)}
        return rows, trs.run(md, study), trs.segments(md, trs.Study(YEAR))


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, abs=1e-6)
    return a == b


def test_spark_gives_the_duckdb_results(parquet_dir: Path, spark: Any) -> None:
    duck_items, duck_trs, duck_seg = measured(parquet_dir)
    spark_items, spark_trs, spark_seg = measured(parquet_dir, engine="spark",
                                                 spark_session=spark)
    assert set(spark_items) == set(duck_items)
    for key, (value, status) in duck_items.items():
        got_value, got_status = spark_items[key]
        assert got_status == status, key
        if key[0] in HOURS and value:
            assert float(got_value) == pytest.approx(float(value), abs=1.5e-6), key
        else:
            assert got_value == value, key
    for duck, spk in ((duck_trs, spark_trs), (duck_seg, spark_seg)):
        assert len(duck) == len(spk)
        for a, b in zip(duck, spk, strict=True):
            assert a.keys() == b.keys()
            assert all(same(a[k], b[k]) for k in a), (a, b)
    # And both equal the independent computation.
    expected = reference.items(parquet_dir, YEAR)
    for key, want in expected.items():
        value, status = spark_items[key]
        if want is None:
            assert status == "not_available"
        elif key[0] in HOURS:
            assert float(value) == pytest.approx(float(want), abs=1.5e-6)
        else:
            assert value == want, key


def test_spark_reads_csv_with_offsets(csv_dir: Path, parquet_dir: Path, spark: Any) -> None:
    with Microdata(csv_dir, engine="spark", spark_session=spark) as md:
        from_csv = [r.as_submission() for r in items.measure(md, YEAR)]
    with Microdata(parquet_dir) as md:
        from_parquet = [r.as_submission() for r in items.measure(md, YEAR)]
    assert from_csv == from_parquet


def test_spark_reads_a_saved_verification_instead_of_rebuilding(parquet_dir: Path, tmp_path: Path,
                                                                 spark: Any) -> None:
    import shutil
    from urllib.parse import urlparse

    from pmm.cli import run
    from pmm.measure.saved import FILE_NAME

    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    assert run(["measure", "verify", str(folder), "--save"]) == 0
    steps: list[str] = []
    with Microdata(folder, engine="spark", spark_session=spark, step=steps.append) as md:
        assert md.saved_note is not None
        # the cluster's declaration table is the saved file (linked under a name Spark does
        # not skip), not a pass over the events
        files = [Path(urlparse(f).path) for f in spark.table("facts").inputFiles()]
        assert len(files) == 1 and files[0].samefile(folder / FILE_NAME)
        got = {(r.data_item, r.year, r.breakdown): (r.value, r.status)
               for r in items.measure(md, YEAR)}
    assert not any("building the declaration table" in s for s in steps)
    assert not list(folder.glob(".pmm-spark-*"))  # the link is removed afterwards
    with Microdata(parquet_dir) as md:
        want = {(r.data_item, r.year, r.breakdown): (r.value, r.status)
                for r in items.measure(md, YEAR)}
    assert set(got) == set(want)
    for key, (value, status) in want.items():
        assert got[key][1] == status, key
        if key[0] in HOURS and value:
            assert float(got[key][0]) == pytest.approx(float(value), abs=1.5e-6), key
        else:
            assert got[key][0] == value, key


def test_spark_measures_overlapping_authorisations_and_iso_strings(parquet_dir: Path,
                                                                  tmp_path: Path,
                                                                  spark: Any) -> None:
    import shutil

    from tests.measure.test_real_extracts import as_strings, with_second_authorisations

    typed, folder = tmp_path / "typed", tmp_path / "strings"
    shutil.copytree(parquet_dir, typed)
    with_second_authorisations(typed)
    shutil.copytree(typed, folder)
    as_strings(folder)
    duck, _trs, _seg = measured(folder)
    spk, _trs, _seg = measured(folder, engine="spark", spark_session=spark)
    expected = reference.items(typed, YEAR)
    for rows in (duck, spk):
        for key, want in expected.items():
            value, status = rows[key]
            if want is None:
                assert status == "not_available"
            elif key[0] in HOURS:
                assert float(value) == pytest.approx(float(want), abs=1.5e-6), key
            else:
                assert value == want, key
