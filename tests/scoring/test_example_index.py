"""The example index shipped under examples/ runs from the repository alone (README's tour)."""

from __future__ import annotations

import csv
from pathlib import Path

from pmm.cli import run

SPEC = Path(__file__).resolve().parents[2] / "examples" / "border-index" / "spec.yaml"


def test_the_shipped_example_index_runs_every_stage(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("PMM_COMPOSITE_DATA_DIR", raising=False)
    assert run(["composite", "run", str(SPEC), "--out", str(tmp_path)]) == 0
    assert "Stages: raw, screened, imputed, treated, normalised, aggregated" in \
        capsys.readouterr().out
    with (tmp_path / "stage_aggregated.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24
    assert all(0 <= float(r["INDEX"]) <= 100 for r in rows)
    with (tmp_path / "treatment.csv").open(encoding="utf-8") as fh:
        treated = {r["indicator"]: r for r in csv.DictReader(fh)}
    assert treated["release_h"]["high"] == "1"  # the 640-hour outlier, winsorised
    assert run(["composite", "uncertainty", str(SPEC), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "uncertainty.csv").exists()
