"""A verified microdata folder bound to an engine: what `trs` and `items` measure from.

Opening a folder always verifies it first (on DuckDB) and refuses it with the verifier's own
messages if anything is wrong, so nothing is ever computed from a half-read or defective file;
a verification saved beside unchanged files (`saved.py`) stands in for it. On DuckDB the
verifier's `facts` table is reused as is; on Spark the same Ibis expression builds it again on
the cluster, unless a saved verification stands in: the cluster then reads the saved table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure import queries as Q
from pmm.measure import saved
from pmm.measure.contract import Source
from pmm.measure.engine import DuckDBEngine, Engine, SparkEngine
from pmm.measure.report import Report
from pmm.measure.verify import Verifier


class Microdata:
    """Use as a context manager: `with Microdata(folder) as md: ...`."""

    def __init__(self, folder: Path, *, engine: str = "duckdb", spark_master: str | None = None,
                 spark_session: Any = None, memory_limit: str | None = None,
                 step: Callable[[str], None] | None = None) -> None:
        if engine not in ("duckdb", "spark"):
            raise PmmError(_("--engine: {name!r} is not an engine; expected duckdb or spark")
                           .format(name=engine))
        self.folder = folder
        self.engine_name = engine
        self._spark_master = spark_master
        self._spark_session = spark_session
        self._memory_limit = memory_limit
        self._step = step or (lambda _msg: None)
        self._duck: DuckDBEngine | None = None
        self.engine: Engine
        self.facts: ir.Table
        self.sources: dict[str, Source] = {}
        self.report: Report
        self.saved_note: str | None = None  # set when a saved verification stands in

    def __enter__(self) -> Microdata:
        self._duck = DuckDBEngine(memory_limit=self._memory_limit)
        reused = saved.load(self._duck, self.folder)
        if reused is not None:
            self.report, self.sources, when = reused
            self.saved_note = _("using the verification saved on {when} (files unchanged)"
                                ).format(when=when[:19])
            self._step(self.saved_note)
            self._duck.register(self.sources)
            facts = Q.facts_table(self.sources)
        else:
            verifier = Verifier(self.folder, self._duck, self._step)
            self.report = verifier.run()
            if not self.report.ok:
                lines = [_("{folder}: the microdata fail verification; nothing was computed")
                         .format(folder=self.folder), *self.report.lines(warnings=False)]
                self.close()
                raise PmmError(*lines)
            assert verifier.facts is not None
            self.sources, facts = verifier.sources, verifier.facts
        if self.engine_name == "duckdb":
            self.engine, self.facts = self._duck, facts
        else:
            self._duck.close()
            self._duck = None
            spark = SparkEngine(master=self._spark_master, session=self._spark_session)
            self.engine = spark
            spark.register(self.sources)
            on_cluster: ir.Table | None = None
            if reused is not None:
                # The saved table is the one the cluster would build: read it instead.
                with contextlib.suppress(OSError):  # a read-only folder: build it below
                    on_cluster = spark.read_table("facts", saved.path_of(self.folder), facts)
            if on_cluster is None:
                self._step(_("building the declaration table on Spark"))
                on_cluster = Q.build_facts(spark, "aeo" in self.sources)
            self.facts = on_cluster
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._duck is not None:
            self._duck.close()
            self._duck = None
        engine = getattr(self, "engine", None)
        if isinstance(engine, SparkEngine):
            engine.close()

    def has(self, table: str) -> bool:
        return table in self.sources

    def table(self, name: str) -> ir.Table:
        return Q.source(name)

    def execute(self, expr: ir.Table) -> pa.Table:
        return self.engine.execute(expr)

    def step(self, message: str) -> None:
        self._step(message)
