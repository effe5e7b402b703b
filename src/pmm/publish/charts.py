"""Charts as Vega-Lite specifications: one function per kind, data inlined.

The reports render them to SVG (WeasyPrint runs no JavaScript) or PNG with vl-convert; the web
pages embed the same specifications. Data handed to a chart is already what the reader may see
(values through the policy, statistics from the release), so a chart shows nothing more.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import vl_convert

from pmm.i18n import _

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
WIDTH = 460
Spec = dict[str, Any]


def _clean(value: Any) -> Any:
    """JSON has no NaN: a missing or withheld number is null (Vega-Lite leaves it out)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # a numpy scalar
        return _clean(value.item())
    return value


def _base(title: str, rows: Sequence[dict[str, Any]], height: int = 220) -> Spec:
    values = [{k: _clean(v) for k, v in row.items()} for row in rows]
    return {"$schema": SCHEMA, "title": title, "width": WIDTH, "height": height,
            "data": {"values": values},
            "config": {"font": "DejaVu Sans", "view": {"stroke": None}}}


def dimension_scores(rows: Sequence[dict[str, Any]], title: str) -> Spec:
    """Bars of a member's dimension (or outcome) scores; rows: name, score, peer (median or
    None)."""
    spec = _base(title, rows, height=max(80, 28 * len(rows)))
    x = {"field": "score", "type": "quantitative", "title": _("score (0-100)"),
         "scale": {"domain": [0, 100]}}
    y = {"field": "name", "type": "nominal", "title": None, "sort": None,
         "axis": {"labelLimit": 220}}
    spec["layer"] = [
        {"mark": {"type": "bar", "color": "#1f5fa8"}, "encoding": {"x": x, "y": y}},
        {"mark": {"type": "tick", "color": "#d9822b", "thickness": 3},
         "encoding": {"x": {**x, "field": "peer"}, "y": y}},
    ]
    return spec


def dimension_radar(rows: Sequence[dict[str, Any]], title: str) -> Spec:
    """A polar (radar-like) view of dimension scores: one wedge per dimension, radius = score."""
    spec = _base(title, rows, height=260)
    spec["width"] = 260
    spec["mark"] = {"type": "arc", "stroke": "#fff"}
    spec["encoding"] = {
        "theta": {"field": "name", "type": "nominal", "sort": None, "legend": None},
        "radius": {"field": "score", "type": "quantitative", "scale": {"domain": [0, 100],
                                                                      "zero": True}},
        "color": {"field": "name", "type": "nominal", "title": None, "sort": None},
    }
    return spec


def distribution(rows: Sequence[dict[str, Any]], title: str) -> Spec:
    """Peer quartiles per KPI with the member's value marked; rows: name, q1, median, q3,
    value (None when not shown)."""
    spec = _base(title, rows, height=max(80, 26 * len(rows)))
    y = {"field": "name", "type": "nominal", "title": None, "sort": None,
         "axis": {"labelLimit": 240}}
    spec["layer"] = [
        {"mark": {"type": "bar", "color": "#c7d7ec", "height": 12},
         "encoding": {"x": {"field": "q1", "type": "quantitative", "title": None},
                      "x2": {"field": "q3"}, "y": y}},
        {"mark": {"type": "tick", "color": "#1f5fa8", "thickness": 2},
         "encoding": {"x": {"field": "median", "type": "quantitative"}, "y": y}},
        {"mark": {"type": "point", "filled": True, "color": "#c0392b", "size": 70},
         "encoding": {"x": {"field": "value", "type": "quantitative"}, "y": y}},
    ]
    spec["resolve"] = {"scale": {"x": "shared"}}
    return spec


def participation(rows: Sequence[dict[str, Any]], title: str) -> Spec:
    """Participants per group; rows: group, members."""
    spec = _base(title, rows, height=max(80, 24 * len(rows)))
    spec["mark"] = {"type": "bar", "color": "#1f5fa8"}
    spec["encoding"] = {
        "x": {"field": "members", "type": "quantitative", "title": _("members")},
        "y": {"field": "group", "type": "nominal", "title": None, "sort": "-x",
              "axis": {"labelLimit": 260}},
    }
    return spec


def trend(rows: Sequence[dict[str, Any]], title: str) -> Spec:
    """A measure over cycles; rows: cycle, value, series."""
    spec = _base(title, rows)
    spec["mark"] = {"type": "line", "point": True}
    spec["encoding"] = {
        "x": {"field": "cycle", "type": "ordinal", "title": _("cycle")},
        "y": {"field": "value", "type": "quantitative", "title": None},
        "color": {"field": "series", "type": "nominal", "title": None},
    }
    return spec


def to_svg(spec: Spec) -> str:
    return vl_convert.vegalite_to_svg(json.dumps(spec, allow_nan=False))


def to_png(spec: Spec, scale: float = 2.0) -> bytes:
    return vl_convert.vegalite_to_png(json.dumps(spec, allow_nan=False), scale=scale)
