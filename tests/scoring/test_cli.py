"""`pmm composite ...` end to end, including a spec variant made without code changes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ruamel.yaml import YAML

from pmm.cli import run
from tests.scoring.conftest import EXAMPLE

STAGES = ["raw", "denominated", "imputed", "treated", "normalised", "aggregated"]


def variant(tmp_path: Path, peer_dir: Path, normalise: dict, aggregate: dict) -> Path:
    """The shipped ASEM spec with other normalise and aggregate steps, as a user would edit it."""
    yaml = YAML()
    spec = yaml.load(EXAMPLE.read_text())
    spec["data_dir"] = str(peer_dir)
    for step in spec["steps"]:
        if "normalise" in step:
            step["normalise"] = normalise
        if "aggregate" in step:
            step["aggregate"] = aggregate
    path = tmp_path / "variant.yaml"
    with path.open("w") as fh:
        yaml.dump(spec, fh)
    return path


def test_run_writes_every_stage(tmp_path: Path, peer_dir: Path, capsys) -> None:
    rc = run(["composite", "run", str(EXAMPLE), "--out", str(tmp_path / "out"),
              "--data-dir", str(peer_dir)])
    assert rc == 0, capsys.readouterr().err
    for name in STAGES:
        df = pd.read_csv(tmp_path / "out" / f"stage_{name}.csv")
        assert df.columns[0] == "unit" and len(df) == 51
    assert (tmp_path / "out" / "run.json").is_file()
    assert "raw, denominated, imputed, treated, normalised, aggregated" in capsys.readouterr().out


def test_zscore_and_geometric_need_a_shift(tmp_path: Path, peer_dir: Path, capsys) -> None:
    path = variant(tmp_path, peer_dir, {"method": "zscore"}, {"method": "geometric"})
    rc = run(["composite", "run", str(path), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "geometric mean" in err and "needs values above 0" in err and "Traceback" not in err
    assert not (tmp_path / "bad" / "stage_aggregated.csv").exists()
    path = variant(tmp_path, peer_dir, {"method": "zscore"},
                   {"method": "geometric", "shift": "auto"})
    assert run(["composite", "run", str(path), "--out", str(tmp_path / "ok")]) == 0
    agg = pd.read_csv(tmp_path / "ok" / "stage_aggregated.csv")
    assert agg[["Conn", "Sust", "Index"]].notna().all().all()
    norm = pd.read_csv(tmp_path / "ok" / "stage_normalised.csv")
    assert abs(norm["Goods"].mean()) < 1e-9  # z-scores indeed


def test_zscore_with_positive_mean_and_geometric(tmp_path: Path, peer_dir: Path) -> None:
    path = variant(tmp_path, peer_dir, {"method": "zscore", "mean": 10, "sd": 2},
                   {"method": "geometric"})
    assert run(["composite", "run", str(path), "--out", str(tmp_path / "o")]) == 0
    agg = pd.read_csv(tmp_path / "o" / "stage_aggregated.csv")
    assert agg["Index"].between(0, 20).all()


def test_uncertainty_writes_the_rank_table(tmp_path: Path, peer_dir: Path, capsys) -> None:
    rc = run(["composite", "uncertainty", str(EXAMPLE), "--runs", "300", "--seed", "5",
              "--out", str(tmp_path), "--data-dir", str(peer_dir)])
    assert rc == 0, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "uncertainty.csv")
    assert list(table.columns) == ["unit", "nominal_rank", "median_rank", "q05", "q95"]
    assert len(table) == 51 and (tmp_path / "uncertainty.json").is_file()
    assert "300 runs" in capsys.readouterr().out


def test_sensitivity_and_audit(tmp_path: Path, peer_dir: Path) -> None:
    assert run(["composite", "sensitivity", str(EXAMPLE), "--n", "16", "--bootstrap", "20",
                "--out", str(tmp_path), "--data-dir", str(peer_dir)]) == 0
    sens = pd.read_csv(tmp_path / "sensitivity.csv")
    assert set(sens["factor"]) == {"winsorisation", "normalisation", "aggregation", "weights"}
    assert run(["composite", "audit", str(EXAMPLE), "--out", str(tmp_path),
                "--data-dir", str(peer_dir)]) == 0
    for name in ("correlations_pearson", "correlations_spearman", "collinearity", "cronbach",
                 "pca", "drop_one", "strengths_weaknesses"):
        assert (tmp_path / f"{name}.csv").stat().st_size > 0


@pytest.mark.parametrize("lang,text", [("en", "file not found"),
                                       ("fr", "fichier introuvable")])
def test_errors_are_clear_and_translated(tmp_path: Path, capsys, lang: str, text: str) -> None:
    from pmm.i18n import set_language

    try:
        rc = run(["--lang", lang, "composite", "run", str(tmp_path / "nope.yaml"), "--out",
                  str(tmp_path)])
    finally:
        set_language(None)
    assert rc == 2 and text in capsys.readouterr().err


def test_an_out_path_that_cannot_be_a_folder_is_reported(tmp_path: Path, capsys) -> None:
    from tests.scoring.test_pipeline import write_case

    spec = write_case(tmp_path, [{"normalise": {}}, {"aggregate": {}}])
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    rc = run(["composite", "run", str(spec), "--out", str(blocker / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and f"--out {blocker / 'out'}: cannot create the folder" in err
    assert "Internal error" not in err and blocker.read_text() == "a file, not a folder"
