"""Charts on web pages: the reports' Vega-Lite specifications (`pmm.publish.charts`), rendered on
the server to SVG and inlined (the Content Security Policy allows no script, so no chart library
runs in the browser).

Rendering takes 0.1–1 s, so each SVG is kept in a bounded in-process cache keyed by the SHA-256
of the specification (its data included): a page shown again with the same figures does not
render again, and a changed figure is a different key, so nothing stale is ever shown. Each
worker process has its own cache; the SVG is a pure function of the specification.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

from markupsafe import Markup

from pmm.publish import charts

SIZE = 256  # SVGs kept (a few kB to tens of kB each)
_CACHE: OrderedDict[str, str] = OrderedDict()
_LOCK = threading.Lock()
_COUNTS = {"hits": 0, "misses": 0}


def spec_key(spec: charts.Spec) -> str:
    """The specification's hash (canonical JSON: sorted keys, no NaN)."""
    text = json.dumps(spec, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def svg(spec: charts.Spec) -> Markup:
    """The chart as inline SVG, from the cache when the same specification was drawn before."""
    key = spec_key(spec)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            _COUNTS["hits"] += 1
            return Markup(found)  # vl-convert's SVG of our own data (text escaped by Vega)
    # the page labels the chart and gives its figures as a table: the drawing itself is hidden
    # from assistive technology (its axis labels read as noise)
    drawn = charts.to_svg(spec).replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    with _LOCK:
        _COUNTS["misses"] += 1
        _CACHE[key] = drawn
        while len(_CACHE) > SIZE:
            _CACHE.popitem(last=False)
    return Markup(drawn)


def cache_info() -> dict[str, int]:
    """Hits, misses and the number of SVGs kept (for tests and monitoring)."""
    with _LOCK:
        return {**_COUNTS, "size": len(_CACHE)}
