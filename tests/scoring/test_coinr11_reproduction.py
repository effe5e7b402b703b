"""COINr 1.1's current ASEM example, built in COINr's own step order (impute, then screen) from
its iData/iMeta layout, reproduced at every stage (rtol 1e-6).

The peer's files are read where they lie (`shared/peers/coinr-1.1-asem`), never copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from pmm.cli import run
from pmm.scoring import run_pipeline
from tests.scoring.conftest import column_mismatch

STAGES = ["raw", "denominated", "imputed", "screened", "treated", "normalised", "aggregated"]
# COINr's build_example_coin(), step for step (see docs/methodology-scoring.md).
SPEC = {
    "version": 1,
    "name": "ASEM (COINr 1.1 example)",
    "data": {"file": "iData.csv", "unit": "uCode"},
    "metadata": {"indicators": "iMeta.csv"},
    "steps": [
        {"denominate": {}},
        {"impute": {"method": "group_mean", "group": "EurAsia_group"}},
        {"screen": {"min_availability": 0.9}},
        {"treat": {"winmax": 5, "skew": 2, "kurtosis": 3.5, "fallback": "log_ct"}},
        {"normalise": {"method": "minmax", "range": [0, 100]}},
        {"aggregate": {"method": "arithmetic", "weights": "metadata"}},
    ],
}


def write_spec(folder: Path, peer: Path, spec: dict = SPEC) -> Path:
    path = folder / "spec.yaml"
    with path.open("w") as fh:
        YAML().dump({**spec, "data_dir": str(peer)}, fh)
    return path


@pytest.fixture(scope="module")
def result(peer11_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return run_pipeline(write_spec(tmp_path_factory.mktemp("coinr11"), peer11_dir))


def first_mismatch(ours: pd.DataFrame, theirs: pd.DataFrame, stage: str) -> str | None:
    """The first difference (units by code, columns by name; missing equals missing; values
    equal within 1e-6 relative, or both within 1e-9 of the column's scale of 0)."""
    theirs = theirs.set_index("uCode")
    ours = ours.set_index("unit")
    if set(ours.index) != set(theirs.index):
        return f"{stage}: units differ: only ours {sorted(set(ours.index) - set(theirs.index))}, " \
               f"only COINr {sorted(set(theirs.index) - set(ours.index))}"
    if set(ours.columns) != set(theirs.columns):
        return f"{stage}: columns differ: {sorted(set(ours.columns) ^ set(theirs.columns))}"
    return column_mismatch(ours, theirs, stage)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_matches_coinr_11(stage: str, result, peer11_dir: Path) -> None:  # type: ignore[no-untyped-def]
    theirs = pd.read_csv(peer11_dir / f"stage_{stage}.csv")
    ours = result.stages[stage]
    assert len(ours) == len(theirs) == 51
    problem = first_mismatch(ours, theirs, stage)
    assert problem is None, problem


def test_stages_come_in_the_order_of_the_spec(result) -> None:  # type: ignore[no-untyped-def]
    assert list(result.stages) == STAGES
    # the groups and denominators came from iMeta's Type column, not from the spec
    assert result.reports["imputation"]["missing_before"].sum() > 0
    assert result.reports["imputation"]["missing_after"].sum() == 0


def test_the_cli_runs_the_coinr_order(peer11_dir: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, peer11_dir)
    out = tmp_path / "out"
    assert run(["composite", "run", str(spec), "--out", str(out)]) == 0
    assert (out / "stage_screened.csv").is_file() and (out / "stage_imputed.csv").is_file()
    ours = pd.read_csv(out / "stage_aggregated.csv")
    theirs = pd.read_csv(peer11_dir / "stage_aggregated.csv")
    assert first_mismatch(ours, theirs, "aggregated") is None


def test_uncertainty_follows_the_spec_order(peer11_dir: Path, tmp_path: Path, result) -> None:  # type: ignore[no-untyped-def]
    from pmm.scoring import robustness as ua

    factors = {"runs": 30, "factors": [
        {"name": "winsorisation", "step": "treat",
         "alternatives": [{"winmax": 1}, {"winmax": 3}, "off"]},
        {"name": "normalisation", "step": "normalise",
         "alternatives": [{}, {"method": "zscore", "mean": 10, "sd": 2}]},
        {"name": "weights", "weight_noise": {2: 0.25}}]}
    model = ua.prepare(write_spec(tmp_path, peer11_dir, {**SPEC, "uncertainty": factors}))
    samples = ua.sample_uncertainty(model, 30, seed=2)
    loop, vec = ua.evaluate_loop(model, samples), ua.evaluate_vectorised(model, samples)
    assert np.allclose(vec, loop, rtol=1e-12, atol=0)
    nominal = ua.rank_summary(model, vec).set_index("unit")["nominal_rank"]
    assert (nominal == result.ranks().set_index("unit")["rank"]).all()


def test_uncertainty_refuses_a_screen_that_keeps_other_units_per_run(
        peer11_dir: Path, tmp_path: Path) -> None:
    from pmm.errors import PmmError
    from pmm.scoring import robustness as ua

    factors = {"runs": 10, "factors": [
        {"name": "imputation", "step": "impute", "alternatives": [{}, "off"]},
        {"name": "weights", "weight_noise": {2: 0.25}}]}
    strict = [dict(s) for s in SPEC["steps"]]
    strict[2] = {"screen": {"min_availability": 1.0}}  # without imputation, units drop out
    spec = write_spec(tmp_path, peer11_dir, {**SPEC, "steps": strict, "uncertainty": factors})
    with pytest.raises(PmmError, match=r"the screen step, after a step that a factor varies, "
                                       r"keeps .* put screen before"):
        ua.prepare(spec)


def test_imeta_errors_name_the_file_line_and_column(peer11_dir: Path, tmp_path: Path) -> None:
    """A copy in a temporary folder, edited: a bad Type, an indicator off level 1, a negative
    weight. Each is refused with the iMeta line (the rows of every Type count)."""
    from pmm.errors import PmmError

    lines = (peer11_dir / "iMeta.csv").read_text("utf-8").splitlines()
    (tmp_path / "iData.csv").write_bytes((peer11_dir / "iData.csv").read_bytes())
    spec = write_spec(tmp_path, tmp_path)
    cases = [
        (3, lambda row: row.replace('"Indicator"', '"Indikator"'),
         r"iMeta.csv:3: column 'Type': 'Indikator' is not a COINr type"),
        (4, lambda row: "2" + row[1:],
         r"iMeta.csv:4: column 'Level': an indicator is at level 1, not '2'"),
        (5, lambda row: row.replace(',1,1,"Number of crossings"', ',1,-2,"Number of crossings"'),
         r"iMeta.csv:5: column 'Weight': '-2' is a negative weight"),
    ]
    for line, change, message in cases:
        edited = list(lines)
        edited[line - 1] = change(edited[line - 1])
        assert edited != lines
        (tmp_path / "iMeta.csv").write_text("\n".join(edited) + "\n", "utf-8")
        with pytest.raises(PmmError, match=message):
            run_pipeline(spec)
