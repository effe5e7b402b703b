"""The pipeline on a small panel data set: every step per year, panel imputation, errors, run
records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from pmm.errors import PmmError
from pmm.scoring import run_pipeline
from pmm.scoring.spec import load_spec

DATA = """unit,year,region,i1,i2,i3,i4,pop
AAA,2020,N,1,10,5,0.5,10
AAA,2021,N,2,,6,0.4,10
AAA,2022,N,,12,7,0.3,11
BBB,2020,N,3,20,,0.9,20
BBB,2021,N,4,22,9,0.8,20
BBB,2022,N,5,24,9,0.7,21
CCC,2020,S,2,5,1,0.1,5
CCC,2021,S,,6,2,0.2,5
CCC,2022,S,3,7,3,0.3,5
DDD,2020,S,8,40,4,0.6,40
DDD,2021,S,9,41,,0.5,40
DDD,2022,S,10,43,5,0.4,42
EEE,2020,N,,,,0.2,7
EEE,2021,N,1,,,,7
EEE,2022,N,2,3,4,0.9,7
"""
INDICATORS = """code,direction,weight,parent,denominator,lower,upper,target
i1,1,1,G1,,0,10,8
i2,1,2,G1,pop,0,3,2
i3,1,1,G2,,0,10,9
i4,-1,1,G2,,0,1,0.1
"""
AGGREGATES = """code,level,weight,parent
G1,2,1,Index
G2,2,1,Index
Index,3,1,
"""


def write_case(tmp_path: Path, steps: list[dict], **extra) -> Path:
    (tmp_path / "data.csv").write_text(DATA, "utf-8")
    (tmp_path / "indicators.csv").write_text(INDICATORS, "utf-8")
    (tmp_path / "aggregates.csv").write_text(AGGREGATES, "utf-8")
    spec = {"version": 1, "data": {"file": "data.csv", "unit": "unit", "year": "year",
                                   "groups": ["region"]},
            "metadata": {"indicators": "indicators.csv", "aggregates": "aggregates.csv"},
            "steps": steps, **extra}
    path = tmp_path / "spec.yaml"
    with path.open("w") as fh:
        YAML().dump(spec, fh)
    return path


FULL = [{"denominate": {}}, {"screen": {"min_availability": 0.5}},
        {"impute": {"method": ["panel_carry_forward", "group_mean"], "group": "region"}},
        {"treat": {"winmax": 1}}, {"normalise": {"method": "minmax", "range": [0, 100]}},
        {"aggregate": {"method": "arithmetic"}}]


def test_panel_run_keeps_every_stage_with_unit_and_year(tmp_path: Path) -> None:
    res = run_pipeline(write_case(tmp_path, FULL))
    assert list(res.stages) == ["raw", "denominated", "screened", "imputed", "treated",
                                "normalised", "aggregated"]
    for name, df in res.stages.items():
        assert list(df.columns[:2]) == ["unit", "year"], name
    agg = res.stages["aggregated"]
    assert list(agg.columns[2:]) == ["i1", "i2", "i3", "i4", "G1", "G2", "Index"]
    # EEE 2020 has 1 of 4 indicators: screened out; EEE 2021 has 1 of 4 as well
    kept = res.reports["screening"]
    assert not kept.loc[(kept.unit == "EEE") & (kept.year == 2020), "kept"].item()
    assert len(res.stages["screened"]) == 13


def test_denomination_and_observed_values_never_change(tmp_path: Path) -> None:
    res = run_pipeline(write_case(tmp_path, FULL))
    raw = res.stages["raw"].set_index(["unit", "year"])
    den = res.stages["denominated"].set_index(["unit", "year"])
    assert den.loc[("BBB", 2021), "i2"] == pytest.approx(22 / 20)
    assert den.loc[("BBB", 2021), "i1"] == raw.loc[("BBB", 2021), "i1"]
    scr = res.stages["screened"].set_index(["unit", "year"])
    imp = res.stages["imputed"].set_index(["unit", "year"])
    observed = scr.notna()
    assert (imp[observed] == scr[observed]).sum().sum() == observed.sum().sum()


def test_panel_carry_forward_then_group_mean(tmp_path: Path) -> None:
    res = run_pipeline(write_case(tmp_path, FULL))
    imp = res.stages["imputed"].set_index(["unit", "year"])
    assert imp.loc[("AAA", 2022), "i1"] == 2.0  # carried from 2021
    assert imp.loc[("CCC", 2021), "i1"] == 2.0  # carried from 2020
    # BBB 2020 i3: no earlier year, so the mean of region N in 2020 (AAA only, EEE screened out)
    assert imp.loc[("BBB", 2020), "i3"] == 5.0
    assert res.reports["imputation"].set_index("indicator").loc["i1", "missing_after"] == 0


def test_carry_forward_limit(tmp_path: Path) -> None:
    data = DATA.replace("AAA,2021,N,2,", "AAA,2021,N,,")
    path = write_case(tmp_path, [{"impute": {"method": "panel_carry_forward", "max_years": 1}},
                                 {"normalise": {}}, {"aggregate": {}}])
    (tmp_path / "data.csv").write_text(data, "utf-8")
    imp = run_pipeline(path).stages["imputed"].set_index(["unit", "year"])
    assert imp.loc[("AAA", 2021), "i1"] == 1.0 and np.isnan(imp.loc[("AAA", 2022), "i1"])


def test_panel_linear_interpolation(tmp_path: Path) -> None:
    data = DATA.replace("BBB,2021,N,4,", "BBB,2021,N,,")
    path = write_case(tmp_path, [{"impute": {"method": "panel_linear"}}, {"normalise": {}},
                                 {"aggregate": {}}])
    (tmp_path / "data.csv").write_text(data, "utf-8")
    imp = run_pipeline(path).stages["imputed"].set_index(["unit", "year"])
    assert imp.loc[("BBB", 2021), "i1"] == 4.0  # (3 + 5) / 2
    assert np.isnan(imp.loc[("AAA", 2022), "i1"])  # no extrapolation


def test_normalisation_per_year_or_across_years(tmp_path: Path) -> None:
    steps = [{"impute": {"method": "mean"}}, {"normalise": {"method": "minmax"}}, {"aggregate": {}}]
    per_year = run_pipeline(write_case(tmp_path, steps)).stages["normalised"]
    for _y, g in per_year.groupby("year"):
        assert g["i1"].min() == 0 and g["i1"].max() == 100
    steps[1] = {"normalise": {"method": "minmax", "across_years": True}}
    across = run_pipeline(write_case(tmp_path, steps)).stages["normalised"]
    assert across["i1"].min() == 0 and across["i1"].max() == 100
    assert across.groupby("year")["i1"].max().min() < 100


def test_goalposts_and_targets_come_from_metadata(tmp_path: Path) -> None:
    steps = [{"impute": {"method": "mean"}},
             {"normalise": {"method": "goalposts",
                            "individual": {"i3": {"method": "distance_to_target"}}}},
             {"aggregate": {}}]
    n = run_pipeline(write_case(tmp_path, steps)).stages["normalised"].set_index(["unit", "year"])
    assert n.loc[("AAA", 2020), "i1"] == pytest.approx(10.0)  # (1 - 0)/(10 - 0) * 100
    assert n.loc[("AAA", 2020), "i4"] == pytest.approx(50.0)  # lower is better: (1 - .5)/1
    # distance to target 9 from the year's minimum 1 (CCC 2020): 1 - (9 - 5)/(9 - 1)
    assert n.loc[("AAA", 2020), "i3"] == pytest.approx(0.5)


def test_weights_equal_named_set_and_effective_weights(tmp_path: Path) -> None:
    steps = [{"impute": {"method": "mean"}}, {"normalise": {}},
             {"aggregate": {"weights": "expert"}}]
    res = run_pipeline(write_case(tmp_path, steps, weight_sets={"expert": {"G1": 3, "i2": 1}}))
    eff = res.weights.set_index("code")["effective_weight"]
    assert eff["G1"] == pytest.approx(0.75)
    assert eff["i1"] == pytest.approx(0.75 * 0.5) and eff["i3"] == pytest.approx(0.125)
    agg = res.stages["aggregated"]
    assert np.allclose(agg["Index"], 0.75 * agg["G1"] + 0.25 * agg["G2"])
    steps[2] = {"aggregate": {"weights": "equal"}}
    eq = run_pipeline(write_case(tmp_path, steps)).stages["aggregated"]
    assert np.allclose(eq["G1"], (eq["i1"] + eq["i2"]) / 2)


def test_pca_weights_are_reported(tmp_path: Path) -> None:
    steps = [{"impute": {"method": "mean"}}, {"normalise": {}},
             {"aggregate": {"weights": "pca"}}]
    res = run_pipeline(write_case(tmp_path, steps))
    w = res.weights.set_index("code")
    assert w.loc["i1", "share_of_parent"] + w.loc["i2", "share_of_parent"] == pytest.approx(1)
    # two standardised children always load equally on the first component
    assert w.loc["i1", "share_of_parent"] == pytest.approx(0.5)


def test_pca_weights_are_first_component_loadings() -> None:
    from pmm.scoring.steps import pca_weights

    rng = np.random.default_rng(0)
    base = rng.normal(size=40)
    x = np.column_stack([base + rng.normal(scale=s, size=40) for s in (0.2, 0.5, 2.0)])
    corr = np.corrcoef(x, rowvar=False)
    _eig, vec = np.linalg.eigh(corr)
    load = np.abs(vec[:, -1])
    assert np.allclose(pca_weights(x), load / load.sum())
    assert pca_weights(x)[0] > pca_weights(x)[2]


def test_per_level_methods_and_coverage(tmp_path: Path) -> None:
    steps = [{"normalise": {"range": [1, 100]}},
             {"aggregate": {"method": "arithmetic", "coverage": 0.6,
                            "levels": {3: {"method": "geometric"}}}}]
    agg = run_pipeline(write_case(tmp_path, steps)).stages["aggregated"].set_index(["unit", "year"])
    # AAA 2021 misses i2: G1 has 1 of 2 children (< 60%) -> insufficient data
    assert np.isnan(agg.loc[("AAA", 2021), "G1"])
    row = agg.loc[("BBB", 2021)]
    assert row["Index"] == pytest.approx(np.sqrt(row["G1"] * row["G2"]))


def test_zscore_with_geometric_mean_fails_clearly_or_shifts(tmp_path: Path) -> None:
    steps = [{"impute": {"method": "mean"}}, {"normalise": {"method": "zscore"}},
             {"aggregate": {"method": "geometric"}}]
    with pytest.raises(PmmError, match=r"geometric mean.*unit 'AAA'.*needs values above 0") as e:
        run_pipeline(write_case(tmp_path, steps))
    assert "shift" in str(e.value)
    steps[2] = {"aggregate": {"method": "geometric", "shift": "auto"}}
    agg = run_pipeline(write_case(tmp_path, steps)).stages["aggregated"]
    assert agg[["G1", "G2", "Index"]].notna().all().all()


def test_rerunning_the_record_gives_identical_files(tmp_path: Path) -> None:
    res = run_pipeline(write_case(tmp_path, FULL, seed=7))
    res.write(tmp_path / "a")
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["seed"] == 7 and record["pmm_version"] and record["spec"]["steps"]
    again = run_pipeline(tmp_path / "a" / "run.json")
    again.write(tmp_path / "b")
    for f in (tmp_path / "a").glob("stage_*.csv"):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()
    # a changed input is refused
    (tmp_path / "data.csv").write_text(DATA.replace("1,10,5", "1,11,5"), "utf-8")
    with pytest.raises(PmmError, match="changed since the run was recorded"):
        run_pipeline(tmp_path / "a" / "run.json")


def test_data_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = write_case(tmp_path, FULL)
    (tmp_path / "data.csv").write_text(DATA.replace("BBB,2021,N,4,", "BBB,2021,N,4;5,"), "utf-8")
    with pytest.raises(PmmError, match=r"data.csv:6: column 'i1': '4;5' is not a number"):
        run_pipeline(path)
    (tmp_path / "data.csv").write_text(DATA + "AAA,2020,N,1,1,1,1,1\n", "utf-8")
    with pytest.raises(PmmError, match=r"data.csv:17: .*appears twice"):
        run_pipeline(path)
    (tmp_path / "data.csv").write_text(DATA.replace(",i4,", ",ix,"), "utf-8")
    with pytest.raises(PmmError, match=r"indicator 'i4' .* has no column"):
        run_pipeline(path)


def test_metadata_errors(tmp_path: Path) -> None:
    path = write_case(tmp_path, FULL)
    (tmp_path / "indicators.csv").write_text(INDICATORS.replace("i4,-1", "i4,0"), "utf-8")
    with pytest.raises(PmmError, match=r"indicators.csv:5: column 'direction': '0' is not a "
                                       r"direction"):
        run_pipeline(path)
    (tmp_path / "indicators.csv").write_text(INDICATORS.replace("i4,-1,1,G2", "i4,-1,1,G9"),
                                             "utf-8")
    with pytest.raises(PmmError, match="'G9' is used as a parent but has no row"):
        run_pipeline(path)
    (tmp_path / "indicators.csv").write_text(INDICATORS.replace("i3,1,1,G2", "i3,1,-1,G2"),
                                             "utf-8")
    with pytest.raises(PmmError, match=r"indicators.csv:4: column 'weight': '-1' is a negative "
                                       r"weight; expected a number of 0 or more"):
        run_pipeline(path)
    (tmp_path / "indicators.csv").write_text(INDICATORS, "utf-8")
    (tmp_path / "aggregates.csv").write_text(AGGREGATES.replace("G2,2,1,", "G2,2,-0.5,"),
                                             "utf-8")
    with pytest.raises(PmmError, match=r"aggregates.csv:3: column 'weight': '-0.5' is a "
                                       r"negative weight"):
        run_pipeline(path)
    path = write_case(tmp_path, FULL, weight_sets={"policy": {"i1": 2, "i2": -1}})
    with pytest.raises(PmmError, match=r"spec.yaml: field weight_sets: .*the weight of 'i2' in "
                                       r"weight set 'policy' is -1"):
        run_pipeline(path)


def test_spec_errors_name_the_spec_file_and_field(tmp_path: Path) -> None:
    path = write_case(tmp_path, [{"normalise": {"method": "minimax"}}])
    with pytest.raises(PmmError, match=r"spec.yaml: field steps.0.normalise.method: Input should"):
        load_spec(path)
    path = write_case(tmp_path, [{"aggregate": {}}, {"normalise": {}}])
    with pytest.raises(PmmError, match=r"spec.yaml: field steps: .*the normalise step comes "
                                       r"after aggregate; aggregate must be the last step"):
        load_spec(path)
    path = write_case(tmp_path, [{"normalise": {}}, {"denominate": {}}])
    with pytest.raises(PmmError, match="denominate comes after normalise; it must come before"):
        load_spec(path)
    path = write_case(tmp_path, [{"impute": {}}, {"treat": {}}, {"impute": {}}])
    with pytest.raises(PmmError, match="the impute step appears twice"):
        load_spec(path)
    path.write_text("data: [unclosed\n", "utf-8")
    with pytest.raises(PmmError, match=r"spec.yaml:\d+: not valid YAML"):
        load_spec(path)


def test_data_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "elsewhere").mkdir()
    path = write_case(tmp_path / "elsewhere", FULL)
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    moved = spec_dir / "spec.yaml"
    moved.write_text(path.read_text())
    with pytest.raises(PmmError, match="file not found"):
        run_pipeline(moved)
    assert len(run_pipeline(moved, data_dir=tmp_path / "elsewhere").stages) == 7
    monkeypatch.setenv("PMM_COMPOSITE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert len(run_pipeline(moved).stages) == 7


def test_result_ranks(tmp_path: Path) -> None:
    res = run_pipeline(write_case(tmp_path, FULL))
    r = res.ranks()
    best = r.loc[r.groupby("year")["score"].idxmax()]
    assert (best["rank"] == 1).all()
    assert isinstance(r, pd.DataFrame)


def test_weight_set_from_a_file_and_its_errors(tmp_path: Path) -> None:
    steps = [{"impute": {"method": "mean"}}, {"normalise": {}},
             {"aggregate": {"weights": "file_set"}}]
    (tmp_path / "w.csv").write_text("code,weight\nG1,1\nG2,3\n", "utf-8")
    res = run_pipeline(write_case(tmp_path, steps, weight_sets={"file_set": "w.csv"}))
    agg = res.stages["aggregated"]
    assert np.allclose(agg["Index"], 0.25 * agg["G1"] + 0.75 * agg["G2"])
    (tmp_path / "w.csv").write_text("code,weight\nG7,1\n", "utf-8")
    with pytest.raises(PmmError, match=r"w.csv: 'G7' is not an indicator or aggregate code"):
        run_pipeline(write_case(tmp_path, steps, weight_sets={"file_set": "w.csv"}))
    steps[2] = {"aggregate": {"weights": "nope"}}
    with pytest.raises(PmmError, match="weight set 'nope' is not defined"):
        run_pipeline(write_case(tmp_path, steps))


def test_screening_can_count_zeros_as_missing(tmp_path: Path) -> None:
    data = DATA.replace("CCC,2020,S,2,5,1,0.1,5", "CCC,2020,S,0,0,0,0.1,5")
    path = write_case(tmp_path, [{"screen": {"min_availability": 0.5, "zeros_as_missing": True}},
                                 {"normalise": {}}, {"aggregate": {}}])
    (tmp_path / "data.csv").write_text(data, "utf-8")
    report = run_pipeline(path).reports["screening"].set_index(["unit", "year"])
    assert report.loc[("CCC", 2020), "availability"] == 0.25
    assert not report.loc[("CCC", 2020), "kept"]


def test_empty_step_in_yaml_means_defaults(tmp_path: Path) -> None:
    path = write_case(tmp_path, [])
    path.write_text(path.read_text().replace("steps: []", "steps:\n- impute:\n- normalise:\n"
                                             "- aggregate:\n"), "utf-8")
    assert list(run_pipeline(path).stages) == ["raw", "imputed", "normalised", "aggregated"]


def test_written_text_cells_cannot_become_formulas(tmp_path: Path) -> None:
    data = DATA.replace("AAA,", "=AAA,")
    path = write_case(tmp_path, [{"normalise": {}}, {"aggregate": {}}])
    (tmp_path / "data.csv").write_text(data, "utf-8")
    res = run_pipeline(path)
    res.write(tmp_path / "out")
    text = (tmp_path / "out" / "stage_aggregated.csv").read_text()
    assert "\n'=AAA,2020," in text and "\n=AAA" not in text
