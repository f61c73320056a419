"""What keeps a chart readable at a glance, on a 1440 px desktop and a 390 px phone (no Streamlit here).

Off-scale values named instead of squashing the rest, wrapped category labels, log-axis ticks that read as whole
numbers, one legend placement that never covers an axis title, and strategies with the same schedule found by their
numbers.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

#: a value more than this many times the median of its chart's values is drawn off scale and named on the chart
OFF_SCALE_RATIO = 3.0

#: two schedules are the same when their holdings never differ by more than this share of the order (0.1%: a quarter
#: of a pixel on the Plan page's 260 px panels)
SAME_SCHEDULE_SHARE = 1e-3

#: characters per line of a wrapped category label ("Implementation shortfall (AC + drift)" takes two lines)
LABEL_WIDTH = 24

#: characters per line of a note drawn on a chart: it fits the 390 px phone width at 11 px
NOTE_WIDTH = 52


def off_scale(levels: Sequence[float] | np.ndarray, ratio: float = OFF_SCALE_RATIO) -> np.ndarray:
    """True where a level is more than ``ratio`` times the median of the finite levels' magnitudes (at least three
    of them, median above 0): those would squash every other value on a shared linear axis."""
    values = np.asarray(levels, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size < 3:
        return np.zeros(values.shape, dtype=bool)
    typical = float(np.median(np.abs(finite)))
    if not typical > 0:
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > ratio * typical)


def axis_range(values: Sequence[float] | np.ndarray, pad: float = 0.08, floor_zero: bool = True) -> list[float]:
    """A linear axis range holding every finite value with ``pad`` of the span to spare (from 0 when all are >= 0
    and ``floor_zero``)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return [0.0, 1.0]
    low, high = float(finite.min()), float(finite.max())
    if floor_zero:
        low = min(low, 0.0)
    span = high - low if high > low else max(abs(high), 1.0)
    return [low - pad * span if low < 0 or not floor_zero else low, high + pad * span]


def wrap(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` broken into lines of at most ``width`` characters at spaces (Plotly's ``<br>``)."""
    return "<br>".join(textwrap.wrap(text, width)) or text


def note_lines(parts: Sequence[str], width: int = NOTE_WIDTH) -> str:
    """Parts of a note joined by "; " and wrapped to ``width`` characters a line (a part never splits mid-word)."""
    return wrap("; ".join(parts), width)


def bps_text(value: float) -> str:
    """A cost in bps as a trader reads it: 48,762 bps, 12.3 bps."""
    return f"{value:,.0f} bps" if abs(value) >= 100 else f"{value:,.1f} bps"


def range_text(values: np.ndarray, unit: str = "bps") -> str:
    """The finite values' span, "5,210–48,762 bps", or one value."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return "no value"
    low, high = float(finite.min()), float(finite.max())
    if math.isclose(low, high, rel_tol=5e-3):
        return f"{high:,.0f} {unit}"
    return f"{low:,.0f}–{high:,.0f} {unit}"


def tick_text(value: float) -> str:
    """A log-axis tick read in full: 100, 2,000, 0.05, 1e-8 (scientific below 0.001 and from a million)."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        return f"{value:,.6g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def log_ticks(low: float, high: float) -> dict[str, Any]:
    """A log axis over [low, high] (both > 0) whose every tick is a full number.

    Decades over a wide span, 1-3 or 1-2-5 over a few decades, finer steps inside one; at most about six (Plotly's
    default labels minor ticks by their first digit only, "5 4 3 2", and explicit ticks are never thinned, so too
    many would collide on a phone).
    """
    if not (low > 0 and high > 0):
        raise ValueError("a log axis needs values above 0")
    low, high = min(low, high), max(low, high)
    decades = math.log10(high / low) if high > low else 0.0
    steps: tuple[float, ...] = (
        (1.0,) if decades > 2.5 else (1.0, 3.0) if decades > 1 else (1.0, 2.0, 5.0) if decades > 0.5
        else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    )  # fmt: skip
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    every = max(1, math.ceil(decades / 6))  # at most about six labels: they fit side by side on a phone
    values = [
        step * 10.0**k
        for k in range(first, last + 1, every)
        for step in steps
        if low * (1 - 1e-9) <= step * 10.0**k <= high * (1 + 1e-9)
    ]
    if len(values) < 2:  # a span narrower than the steps: its two ends, rounded to three digits
        values = sorted({float(f"{low:.3g}"), float(f"{high:.3g}")})
    return {"type": "log", "tickvals": values, "ticktext": [tick_text(v) for v in values]}


#: pixels a horizontal legend takes per entry at most: on a 390 px phone Streamlit's font leaves one entry a 20 px row
LEGEND_PX_PER_ENTRY = 20


def legend_below(layout: dict[str, Any], entries: int) -> dict[str, Any]:
    """A horizontal legend at the bottom of the figure, below the x-axis title (Plotly grows the bottom margin to hold
    it however many rows it wraps into), and the figure taller by what the legend takes on a phone, so that neither
    the axis title nor the plot is covered and the legend needs no scrolling."""
    layout["legend"] = {
        "orientation": "h", "xref": "container", "yref": "container", "x": 0, "xanchor": "left", "y": 0,
        "yanchor": "bottom", "font": {"size": 11}, "itemwidth": 30, "tracegroupgap": 0,
    }  # fmt: skip
    layout["height"] = int(layout.get("height", 450)) + LEGEND_PX_PER_ENTRY * entries
    return layout


def same_schedule_groups(names: Sequence[str], holdings: Sequence[np.ndarray], shares: float) -> list[list[int]]:
    """Indices of the strategies grouped by schedule: two are in one group when their holdings (same slices) never
    differ by more than SAME_SCHEDULE_SHARE of the order's ``shares`` from the group's first; registry order kept."""
    if len(names) != len(holdings):
        raise ValueError("one holdings array per strategy is needed")
    tolerance = SAME_SCHEDULE_SHARE * abs(shares)
    groups: list[list[int]] = []
    for i, path in enumerate(holdings):
        path = np.asarray(path, dtype=float)
        for group in groups:
            first = np.asarray(holdings[group[0]], dtype=float)
            if first.shape == path.shape and float(np.max(np.abs(first - path), initial=0.0)) <= tolerance:
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def same_schedule_note(labels: Sequence[str], groups: list[list[int]]) -> str | None:
    """ "Same schedule: TWAP = Limit-order ladder; …" for the groups of more than one, or None."""
    parts = [" = ".join(labels[i] for i in group) for group in groups if len(group) > 1]
    if not parts:
        return None
    return note_lines(
        [
            f"Same schedule (within {SAME_SCHEDULE_SHARE:.1%} of the order), drawn over each other: {parts[0]}",
            *parts[1:],
        ]
    )
