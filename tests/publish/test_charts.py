"""Every chart kind is a valid Vega-Lite specification that vl-convert renders, withheld
statistics (NaN) included."""

from __future__ import annotations

import json
import math

from pmm.publish import charts


def test_every_chart_kind_renders_with_missing_numbers() -> None:
    nan = math.nan
    specs = [
        charts.dimension_scores([{"name": "Revenue", "score": 61.5, "peer": nan},
                                 {"name": "Trade", "score": 80.0, "peer": 70.2}], "dims"),
        charts.dimension_radar([{"name": "Revenue", "score": 61.5},
                                {"name": "Trade", "score": 80.0}], "radar"),
        charts.distribution([{"name": "TF.1.1", "q1": nan, "median": 90.0, "q3": nan,
                              "value": 97.5}], "dist"),
        charts.participation([{"group": "Europe", "members": 25}], "part"),
        charts.trend([{"cycle": 2022, "value": 50.0, "series": "mean"},
                      {"cycle": 2024, "value": nan, "series": "mean"}], "trend"),
    ]
    for spec in specs:
        text = json.dumps(spec, allow_nan=False)  # NaN became null
        assert "NaN" not in text and spec["$schema"].endswith("v5.json")
        svg = charts.to_svg(spec)
        assert svg.startswith("<svg") and spec["title"] in svg
    assert charts.to_png(specs[0]).startswith(b"\x89PNG")
