"""Synthetic microdata with documented, seeded distributions (see docs/microdata-contract.md).

Everything is drawn with numpy on whole chunks of declarations and written with pyarrow chunk by
chunk, so memory stays flat however many declarations are asked for (50 million fit easily). The
same seed always gives the same files, whatever the chunk size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure.contract import MILESTONES, SEIZURE_CATEGORIES

US_PER_H = 3_600_000_000
CHUNK = 1_000_000

# Transport modes (UN/ECE Rec. 19) and their share of declarations, per flow.
MODES = np.array([1, 2, 3, 4, 5, 8])
MODE_SHARE = {
    "IM": np.array([0.34, 0.03, 0.33, 0.22, 0.06, 0.02]),
    "EX": np.array([0.40, 0.04, 0.38, 0.15, 0.01, 0.02]),
    "TR": np.array([0.10, 0.10, 0.75, 0.03, 0.00, 0.02]),
}
MODE_PREFIX = {1: "SEA", 2: "RAI", 3: "RD", 4: "AIR", 5: "PST", 8: "IWW"}
OFFICES_PER_MODE = 5
# Median processing hours (lodgement or arrival to release) per mode, before lane/AEO factors.
MODE_MEDIAN_H = {1: 30.0, 2: 20.0, 3: 3.0, 4: 6.0, 5: 24.0, 8: 30.0}
# Median hours from arrival to lodgement when lodged after arrival (goods waiting for a broker).
MODE_WAIT_H = {1: 18.0, 2: 10.0, 3: 1.0, 4: 4.0, 5: 12.0, 8: 18.0}
PREARRIVAL_P = {1: 0.45, 2: 0.35, 3: 0.25, 4: 0.50, 5: 0.10, 8: 0.35}
ECOMMERCE_P = {1: 0.02, 2: 0.01, 3: 0.04, 4: 0.35, 5: 0.80, 8: 0.01}
LANES = np.array(["green", "yellow", "red", "blue"])
LANE_P_AEO = np.array([0.86, 0.09, 0.03, 0.02])
LANE_P_OTHER = np.array([0.60, 0.22, 0.13, 0.05])
LANE_FACTOR = np.array([0.5, 1.2, 2.5, 0.6])
AEO_FACTOR = 0.6
SIGMA = 0.8  # log-normal shape of every dwell time
FLOWS = np.array(["IM", "EX", "TR"])
FLOW_P = np.array([0.60, 0.30, 0.10])
# Seasonality: relative weight of each month (peak before year end, dip in August).
MONTH_WEIGHT = np.array([0.85, 0.85, 0.95, 1.0, 1.0, 1.0, 0.95, 0.8, 1.05, 1.1, 1.2, 1.25])
SEIZURE_P = np.array([0.15, 0.08, 0.14, 0.30, 0.03, 0.05, 0.05, 0.20])
SEIZURE_UNIT = {"drugs": "kg", "alcohol": "l", "tobacco": "pcs", "counterfeit": "pcs",
                "weapons": "pcs", "cites": "pcs", "currency": "amount", "other": "pcs"}
MISSING_ARRIVAL_P = 0.01  # IM declarations whose arrival was never linked
PENDING_P = 0.003  # declarations not yet released at extraction
MISSING_EXIT_P = 0.005


@dataclass(frozen=True)
class Plan:
    declarations: int
    year: int
    seed: int
    utc_offset_minutes: int

    @property
    def first_year(self) -> int:
        return self.year - 1

    @property
    def tz(self) -> str:
        """The administration's UTC offset, as Arrow writes it in the Parquet schema."""
        m = self.utc_offset_minutes
        return f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Fixed-width ids like D0000000042, built from digits without a Python loop."""
    n = len(numbers)
    buf = np.empty((n, len(prefix) + width), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    rest = numbers.astype(np.int64)
    for k in range(width - 1, -1, -1):
        buf[:, len(prefix) + k] = 48 + rest % 10
        rest = rest // 10
    return pa.array(buf.view(f"S{buf.shape[1]}").ravel()).cast(pa.string())


def _year_start_us(year: int) -> int:
    return int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000


def _lognormal(rng: np.random.Generator, median_h: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """Hours, log-normal with the given median, as microseconds."""
    return (median_h * np.exp(sigma * rng.standard_normal(len(median_h))) * US_PER_H).astype(
        np.int64)


def _lodgement_times(rng: np.random.Generator, n: int, years: np.ndarray) -> np.ndarray:
    """Lodgement instants: months by seasonality, weekdays busier, office hours busier."""
    month_p = MONTH_WEIGHT / MONTH_WEIGHT.sum()
    month = rng.choice(12, size=n, p=month_p)
    days_in = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    day = (rng.random(n) * days_in[month]).astype(np.int64)
    uniq = np.unique(years)
    start = np.array([_year_start_us(int(y)) for y in uniq])[np.searchsorted(uniq, years)]
    days = np.cumsum(np.r_[0, days_in[:-1]])[month] + day
    # Weekends are quieter: 60% of weekend lodgements move back to the Friday (same month).
    weekday = ((start // (86_400 * 1_000_000)) + days + 3) % 7  # 0 = Monday; 1970-01-01 a Thursday
    back = weekday - 4
    move = (weekday >= 5) & (rng.random(n) < 0.6) & (day >= back)
    days = np.where(move, days - back, days)
    hour = np.clip(rng.normal(11.5, 3.5, n), 0, 23.999)
    return start + days * 86_400 * 1_000_000 + (hour * US_PER_H).astype(np.int64)


class Trader:
    """Trader population: lodgement volume Zipf-like by rank, AEOs among the big ones."""

    def __init__(self, plan: Plan, rng: np.random.Generator) -> None:
        self.count = max(200, plan.declarations // 200)
        rank = np.arange(1, self.count + 1)
        weight = 1.0 / rank**0.9
        self.p = weight / weight.sum()
        self.cdf = np.cumsum(self.p)
        aeo_p = np.clip(0.6 * rank ** -0.35, 0.01, 0.6)
        self.is_aeo = rng.random(self.count) < aeo_p
        n_aeo = int(self.is_aeo.sum())
        lo = (dt.date(plan.year - 6, 1, 1) - dt.date(1970, 1, 1)).days
        hi = (dt.date(plan.year, 12, 1) - dt.date(1970, 1, 1)).days
        self.valid_from = rng.integers(lo, hi, n_aeo)
        ends = rng.random(n_aeo) < 0.10
        self.valid_to = np.where(ends, self.valid_from + rng.integers(180, 1500, n_aeo), -1)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n)), self.count - 1)

    def aeo_on(self, trader: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether each trader holds a valid authorisation on each day (days since epoch)."""
        idx = np.cumsum(self.is_aeo) - 1
        pos = idx[trader]
        holder = self.is_aeo[trader]
        vf = np.where(holder, self.valid_from[np.maximum(pos, 0)], 0)
        vt = np.where(holder, self.valid_to[np.maximum(pos, 0)], -1)
        return holder & (vf <= day) & ((vt < 0) | (vt >= day))

    def register(self) -> pa.Table:
        numbers = np.flatnonzero(self.is_aeo) + 1
        to = pa.array(self.valid_to, pa.int32()).cast(pa.date32())
        return pa.table({
            "trader_id": _ids("TR", numbers, 7),
            "valid_from": pa.array(self.valid_from, pa.int32()).cast(pa.date32()),
            "valid_to": pc.if_else(pa.array(self.valid_to < 0), pa.nulls(len(to), pa.date32()), to),
        })


def _chunk(plan: Plan, traders: Trader, first: int, n: int, rng: np.random.Generator
           ) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Declarations, events and declaration-level controls for declarations first..first+n-1."""
    numbers = np.arange(first, first + n) + 1
    ids = _ids("D", numbers, 10)
    # Two years, the later one 5% busier.
    years = np.where(rng.random(n) < 1.05 / 2.05, plan.year, plan.first_year)
    flow_i = rng.choice(3, size=n, p=FLOW_P)
    mode = np.empty(n, dtype=np.int64)
    for fi, f in enumerate(FLOWS):
        sel = flow_i == fi
        mode[sel] = rng.choice(MODES, size=int(sel.sum()), p=MODE_SHARE[str(f)])
    office_k = np.minimum(rng.geometric(0.45, n) - 1, OFFICES_PER_MODE - 1) + 1
    prefix = np.array([MODE_PREFIX[int(m)] for m in MODES])[np.searchsorted(MODES, mode)]
    office = pc.binary_join_element_wise(pa.array(prefix),
                                         _ids("", office_k, 2), "")
    trader = traders.draw(rng, n)
    lodge = _lodgement_times(rng, n, years)
    lodge_day = lodge // (86_400 * 1_000_000)
    aeo = traders.aeo_on(trader, lodge_day)
    ecom_p = np.array([ECOMMERCE_P[int(m)] for m in MODES])[np.searchsorted(MODES, mode)]
    ecommerce = rng.random(n) < ecom_p
    electronic = rng.random(n) < np.where(mode == 5, 0.85, 0.985)
    u = rng.random(n)
    lane = np.where(aeo, np.searchsorted(np.cumsum(LANE_P_AEO), u),
                    np.searchsorted(np.cumsum(LANE_P_OTHER), u))
    lane = np.where(ecommerce & (lane == 1) & (rng.random(n) < 0.5), 0, np.minimum(lane, 3))
    mode_med = np.array([MODE_MEDIAN_H[int(m)] for m in MODES])[np.searchsorted(MODES, mode)]
    value = np.round(np.exp(rng.normal(np.log(np.where(ecommerce, 150.0, 25_000.0)) +
                                       np.where(mode == 1, 1.0, 0.0), 1.2)), 2)
    is_im = flow_i == 0
    duty_rate = rng.choice(np.array([0.0, 0.05, 0.10, 0.20]), size=n, p=[0.3, 0.3, 0.3, 0.1])
    duties = np.where(is_im, np.round(value * duty_rate, 2), 0.0)
    taxes = np.where(is_im, np.round((value + duties) * 0.15, 2),
                     np.where(flow_i == 1, 0.0, np.round(value * 0.001, 2) * (rng.random(n) < .1)))
    declarations = pa.table({
        "declaration_id": ids,
        "flow": pa.array(FLOWS[flow_i]),
        "office_code": office,
        "transport_mode": pa.array(mode.astype(np.int8)),
        "trader_id": _ids("TR", trader + 1, 7),
        "electronic": pa.array(electronic),
        "ecommerce": pa.array(ecommerce),
        "lane": pa.array(LANES[lane]),
        "customs_value": pa.array(value).cast(pa.decimal128(18, 2), safe=False),
        "duties_assessed": pa.array(duties).cast(pa.decimal128(18, 2), safe=False),
        "taxes_assessed": pa.array(taxes).cast(pa.decimal128(18, 2), safe=False),
    })

    # Milestones, in microseconds since the epoch (UTC).
    factor = LANE_FACTOR[lane] * np.where(aeo, AEO_FACTOR, 1.0)
    prearr_p = np.array([PREARRIVAL_P[int(m)] for m in MODES])[np.searchsorted(MODES, mode)]
    prearrival = is_im & (rng.random(n) < np.where(aeo, np.minimum(prearr_p + 0.2, 0.9), prearr_p))
    wait_med = np.array([MODE_WAIT_H[int(m)] for m in MODES])[np.searchsorted(MODES, mode)]
    arrival = np.where(prearrival, lodge + _lognormal(rng, np.full(n, 12.0)),
                       lodge - _lognormal(rng, wait_med))
    registration = lodge + _lognormal(rng, np.full(n, 0.15))
    lane_at = registration + _lognormal(rng, np.full(n, 0.02), 0.5)
    inspected = (lane == 1) | (lane == 2)
    # A physical check needs the goods: it starts after arrival.
    insp_base = np.where(lane == 2, np.maximum(lane_at, arrival), lane_at)
    insp_start = insp_base + _lognormal(rng, np.where(lane == 2, 0.15, 0.05) * mode_med)
    insp_end = insp_start + _lognormal(rng, np.where(lane == 2, 3.0, 1.0))
    checked = np.where(inspected, insp_end, lane_at)
    assessment = checked + _lognormal(rng, np.full(n, 0.3))
    pays = is_im & (duties + taxes > 0)
    payment = assessment + _lognormal(rng, np.full(n, 1.5))
    ready = np.where(pays, payment, assessment)
    processing = _lognormal(rng, mode_med * factor)
    # Goods lodged after arrival wait for processing; pre-arrival ones may be released before
    # they arrive (green lane), the "negative interval" a TRS keeps and reports.
    release = np.maximum(ready, lodge + processing)
    release = np.where(is_im & ~prearrival, np.maximum(release, arrival), release)
    release = np.where(prearrival & (lane != 0), np.maximum(release, arrival), release)
    release = release + _lognormal(rng, np.full(n, 0.05))
    exit_ = np.maximum(release, np.where(is_im, arrival, release)) + _lognormal(
        rng, np.where(mode == 3, 0.5, 4.0))
    pending = rng.random(n) < PENDING_P
    has_arrival = is_im & (rng.random(n) >= MISSING_ARRIVAL_P)
    has_exit = ~pending & (rng.random(n) >= MISSING_EXIT_P)

    parts: list[tuple[str, np.ndarray, np.ndarray]] = [
        ("arrival", has_arrival, arrival),
        ("lodgement", np.ones(n, bool), lodge),
        ("registration", np.ones(n, bool), registration),
        ("lane_assigned", np.ones(n, bool), lane_at),
        ("inspection_start", inspected, insp_start),
        ("inspection_end", inspected, insp_end),
        ("assessment", np.ones(n, bool), assessment),
        ("payment", pays, payment),
        ("release", ~pending, release),
        ("exit", has_exit, exit_),
    ]
    milestone_dict = pa.array(list(MILESTONES))
    idx_parts, code_parts, ts_parts = [], [], []
    for name, mask, ts in parts:
        sel = np.flatnonzero(mask)
        idx_parts.append(sel)
        code_parts.append(np.full(len(sel), MILESTONES.index(name), np.int8))
        ts_parts.append(ts[sel])
    idx = np.concatenate(idx_parts)
    events = pa.table({
        "declaration_id": ids.take(pa.array(idx)),
        "milestone": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(code_parts)),
                                                    milestone_dict),
        "ts": pa.array(np.concatenate(ts_parts)).cast(pa.timestamp("us", tz=plan.tz)),
    })

    # Declaration-level controls: documentary (yellow), physical (red), NII on some sea imports.
    ctl_idx, ctl_type, ctl_ids = [], [], []
    for sel, kind, prefix in ((lane == 1, "documentary", "CD"), (lane == 2, "physical", "CP"),
                              ((mode == 1) & is_im & (rng.random(n) < 0.05), "non_intrusive",
                               "CN")):
        s = np.flatnonzero(sel & ~pending)
        ctl_idx.append(s)
        ctl_type.append(np.full(len(s), kind, dtype=object))
        ctl_ids.append(_ids(prefix, numbers[s], 10))
    cidx = np.concatenate(ctl_idx)
    ctype = np.concatenate(ctl_type)
    hit = np.where(ctype == "physical", 0.10, np.where(ctype == "documentary", 0.06, 0.03))
    u = rng.random(len(cidx))
    result = np.where(u < hit * 0.2, "seizure", np.where(u < hit, "irregularity", "no_finding"))
    done = np.where(inspected[cidx], insp_end[cidx], release[cidx])
    done_year = (done.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970)
    extra = np.where(result == "irregularity", np.round(value[cidx] * 0.08, 2), 0.0)
    controls = pa.table({
        "control_id": pa.concat_arrays(ctl_ids),
        "declaration_id": ids.take(pa.array(cidx)),
        "trader_id": _ids("TR", trader[cidx] + 1, 7),
        "control_type": pa.array(ctype.astype(str)),
        "year": pa.array(done_year.astype(np.int16)),
        "result": pa.array(result),
        "additional_revenue": pa.array(extra).cast(pa.decimal128(18, 2), safe=False),
    })
    return declarations, events, controls


def _audits_and_seizures(plan: Plan, traders: Trader, rng: np.random.Generator
                         ) -> tuple[pa.Table, pa.Table]:
    """Post-clearance audits of traders and seizure cases, for both years."""
    n_pca = max(5, plan.declarations // 5000)
    year = rng.choice([plan.first_year, plan.year], size=n_pca)
    findings = rng.random(n_pca) < 0.4
    irregular = rng.random(n_pca) < 0.9
    result = np.where(findings, np.where(irregular, "irregularity", "seizure"), "no_finding")
    revenue = np.where(result == "irregularity", np.round(np.exp(rng.normal(9.5, 1.0, n_pca)), 2),
                       0.0)
    audits = pa.table({
        "control_id": _ids("A", np.arange(1, n_pca + 1), 10),
        "declaration_id": pa.nulls(n_pca, pa.string()),
        "trader_id": _ids("TR", traders.draw(rng, n_pca) + 1, 7),
        "control_type": pa.array(np.full(n_pca, "pca")),
        "year": pa.array(year.astype(np.int16)),
        "result": pa.array(result),
        "additional_revenue": pa.array(revenue).cast(pa.decimal128(18, 2), safe=False),
    })
    n_sz = max(8, plan.declarations // 2000)
    cat = rng.choice(len(SEIZURE_CATEGORIES), size=n_sz, p=SEIZURE_P)
    syear = rng.choice([plan.first_year, plan.year], size=n_sz)
    day0 = np.array([(dt.date(int(y), 1, 1) - dt.date(1970, 1, 1)).days for y in syear])
    day = day0 + (rng.random(n_sz) * 365).astype(np.int64)
    mode = rng.choice(MODES, size=n_sz, p=MODE_SHARE["IM"])
    office = pc.binary_join_element_wise(
        pa.array([MODE_PREFIX[int(m)] for m in mode]),
        _ids("", np.minimum(rng.geometric(0.45, n_sz), OFFICES_PER_MODE), 2), "")
    cats = np.array(SEIZURE_CATEGORIES)[cat]
    seizures = pa.table({
        "seizure_id": _ids("S", np.arange(1, n_sz + 1), 8),
        "date": pa.array(day.astype(np.int32)).cast(pa.date32()),
        "office_code": office,
        "category": pa.array(cats),
        "quantity": pa.array(np.round(np.exp(rng.normal(2.0, 1.5, n_sz)), 3)).cast(
            pa.decimal128(18, 3), safe=False),
        "unit": pa.array([SEIZURE_UNIT[str(c)] for c in cats]),
    })
    return audits, seizures


class _Writer:
    """Writes one table as numbered part files (Parquet or CSV)."""

    def __init__(self, folder: Path, name: str, fmt: str, offset_minutes: int) -> None:
        self.dir = folder / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.offset = offset_minutes
        self.part = 0

    def write(self, table: pa.Table) -> None:
        path = self.dir / f"part-{self.part:05d}.{self.fmt}"
        self.part += 1
        if self.fmt == "parquet":
            pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
        else:
            pacsv.write_csv(_for_csv(table, self.offset), path)


def _for_csv(table: pa.Table, offset_minutes: int) -> pa.Table:
    """CSV cells: timestamps in local time with their offset (as an administration's system
    would write them), booleans true/false, dates ISO, decimals plain."""
    sign = "+" if offset_minutes >= 0 else "-"
    suffix = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    cols = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(col.type):
            local = pc.add(col.cast(pa.int64()), offset_minutes * 60_000_000).cast(
                pa.timestamp("us"))
            cols[name] = pc.binary_join_element_wise(
                pc.strftime(local, format="%Y-%m-%dT%H:%M:%S"), pa.scalar(suffix), "")
        elif pa.types.is_dictionary(col.type):
            cols[name] = col.cast(pa.string())
        elif pa.types.is_boolean(col.type):
            cols[name] = pc.if_else(col, "true", "false")
        else:
            cols[name] = col
    return pa.table(cols)


def generate(declarations: int, year: int, out: Path, *, seed: int = 1, fmt: str = "parquet",
             utc_offset: str = "+03:00", progress: Callable[[int], None] | None = None
             ) -> dict[str, int]:
    """Write a microdata folder of `declarations` declarations over years T-1 and T.

    Returns the number of rows written per table. `progress` is called with the number of
    declarations done after each chunk.
    """
    if declarations < 1:
        raise PmmError(_("--declarations must be at least 1 (got {n})").format(n=declarations))
    if fmt not in ("parquet", "csv"):
        raise PmmError(_("--format must be parquet or csv (got {fmt})").format(fmt=fmt))
    if out.exists() and any(out.iterdir()):
        raise PmmError(_("{out}: folder is not empty; choose a new folder").format(out=out))
    offset = _parse_offset(utc_offset)
    plan = Plan(declarations, year, seed, offset)
    root = np.random.SeedSequence(seed)
    trader_ss, other_ss, chunk_root = root.spawn(3)
    traders = Trader(plan, np.random.default_rng(trader_ss))
    out.mkdir(parents=True, exist_ok=True)
    writers = {name: _Writer(out, name, fmt, offset)
               for name in ("declarations", "events", "controls", "seizures", "aeo")}
    counts = dict.fromkeys(writers, 0)
    # One child seed per chunk: chunks are independent, and memory stays that of one chunk.
    n_chunks = -(-declarations // CHUNK)
    for b, seq in enumerate(chunk_root.spawn(n_chunks)):
        first = b * CHUNK
        n = min(CHUNK, declarations - first)
        decl, ev, ctl = _chunk(plan, traders, first, n, np.random.default_rng(seq))
        for name, table in (("declarations", decl), ("events", ev), ("controls", ctl)):
            writers[name].write(table)
            counts[name] += table.num_rows
        if progress:
            progress(n)
    audits, seizures = _audits_and_seizures(plan, traders, np.random.default_rng(other_ss))
    register = traders.register()
    for name, table in (("controls", audits), ("seizures", seizures), ("aeo", register)):
        writers[name].write(table)
        counts[name] += table.num_rows
    return counts


def _parse_offset(text: str) -> int:
    try:
        sign = -1 if text[0] == "-" else 1
        hours, minutes = text.lstrip("+-").split(":")
        value = sign * (int(hours) * 60 + int(minutes))
    except (ValueError, IndexError):
        value = None
    if value is None or abs(value) > 14 * 60 or text[0] not in "+-":
        raise PmmError(_("--utc-offset: {value!r} is not an offset like +03:00 or -05:00").format(
            value=text))
    return value
