"""Fixtures for the measure tests: generated microdata and ONE local Spark session per run.

Spark starts slowly on two cores, so a single session-scoped `local[2]` session (UTC, two shuffle
partitions, no UI) serves every `@pytest.mark.spark` test. In CI (`CI=true`) a Spark that cannot
start fails those tests; elsewhere it skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmm.measure.generate import generate

IN_CI = os.environ.get("CI", "").lower() == "true"
YEAR = 2024


@pytest.fixture(scope="session")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated declarations over 2023-2024, as Parquet."""
    out = tmp_path_factory.mktemp("md") / "parquet"
    generate(3000, YEAR, out, seed=11)
    return out


@pytest.fixture(scope="session")
def csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same declarations as `parquet_dir` (same seed), as CSV with +03:00 offsets."""
    out = tmp_path_factory.mktemp("md") / "csv"
    generate(3000, YEAR, out, seed=11, fmt="csv")
    return out


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    try:
        from pyspark.sql import SparkSession

        session = (SparkSession.builder.master("local[2]").appName("pmm-tests")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.default.parallelism", "2")
                   .config("spark.ui.enabled", "false")
                   .config("spark.driver.memory", "1g")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
    except Exception as exc:  # no Java, no pyspark, ...
        if IN_CI:
            pytest.fail(f"Spark could not start in CI: {exc}")
        pytest.skip(f"Spark could not start: {exc}")
    yield session
    session.stop()
