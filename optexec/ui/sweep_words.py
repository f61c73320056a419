"""How the Sensitivity page says a sweep: its parameters, the horizon in the ticket's unit, the points where a
strategy could not plan, and strategies whose curves coincide.

The model sweeps the horizon in trading days (docs/MATH.md section 13); a trader who typed the order in hours or
minutes reads the sweep in that unit, so the page converts the range it asks for and the axis it draws by the
session's length (``order_time.to_days``), and the sweep itself still runs in days.

Two strategies whose expected cost and std agree at every point (TWAP and the limit-order ladder, say) draw one
curve over the other: they are named together under the chart and the later one is dashed, as Plan's schedule
chart does for identical schedules (``chart_layout.same_schedule_groups``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from optexec import clock
from optexec.models import MarketParams
from optexec.sensitivity import ORDER_FRACTION_OF_ADV, Sweep, setting_sweep_ranges
from optexec.ui import chart_layout, charts, order_time
from optexec.ui.settings import setting_label

#: two curves are the same when every point agrees within this share of the larger value (0.1%, as schedules)
SAME_CURVE_SHARE = chart_layout.SAME_SCHEDULE_SHARE
#: a swing this small in bps is no difference at all (a cost of 0 against 1e-12 bps)
SAME_CURVE_FLOOR_BPS = 1e-6
#: the horizon range a sweep offers in each unit before the ticket's own horizon is put inside it
HORIZON_RANGES = {"minutes": (5.0, 390.0), "hours": (0.25, 13.0), "days": (0.1, 5.0)}
#: the later strategies of a group of the same curve, drawn over the first (its colour shows between the dashes)
DASHES = ("dash", "dot", "dashdot", "longdash", "longdashdot")


@dataclass(frozen=True)
class HorizonAxis:
    """The horizon sweep in the ticket's ``unit``: ``per_day`` units in one trading day, the default range
    (``low`` to ``high``, the ticket's horizon inside it) and the axis label."""

    unit: str
    per_day: float
    low: float
    high: float
    label: str

    def to_days(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float) / self.per_day

    def shown(self, result: Sweep) -> Sweep:
        """The sweep with its values in this unit, for drawing (the costs are those of the days swept)."""
        return dataclasses.replace(result, values=np.asarray(result.values, dtype=float) * self.per_day)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def sweep_parameters(market: MarketParams, settings: dict) -> dict[str, tuple[str, float, float, bool]]:
    """Parameter -> (label, low, high, log scale) around the ticket's current values, the first one the default."""
    parameters = {
        "risk_aversion_per_usd": (_lower_first(setting_label("risk_aversion_per_usd")), 1e-8, 1e-4, True),
        ORDER_FRACTION_OF_ADV: ("order size (fraction of ADV)", 0.01, 0.5, False),
        "horizon_days": ("horizon (trading days)", 0.1, 5.0, False),
        "sigma_usd_per_sqrt_day": (
            "volatility σ ($/share/√day)", 0.25 * market.sigma_usd_per_sqrt_day, 2.5 * market.sigma_usd_per_sqrt_day,
            False,
        ),
        "eta_usd_day_per_share2": (
            "temporary impact η", 0.25 * market.eta_usd_day_per_share2, 4 * market.eta_usd_day_per_share2, True,
        ),
        "gamma_usd_per_share2": ("permanent impact γ", 0.0, 4 * market.gamma_usd_per_share2, False),
        "spread_usd": ("spread ($)", 0.0, 4 * market.spread_usd, False),
    }  # fmt: skip
    for name, spec in sorted(setting_sweep_ranges(settings).items()):
        parameters.setdefault(name, spec)
    return parameters


#: the number of points a sweep has until the trader picks another
DEFAULT_POINTS = 15


def sweep_values(low: float, high: float, points: int, log_x: bool, param: str) -> np.ndarray:
    """The swept values the page asks for: ``points`` from ``low`` to ``high`` (geometric on a log scale), whole and
    distinct for the slices."""
    values = np.geomspace(low, high, points) if log_x else np.linspace(low, high, points)
    if param == "slices":
        values = np.unique(np.maximum(1, values.round()))
    return values


def horizon_axis(unit: str, session_minutes: int, horizon_days: float) -> HorizonAxis:
    """The horizon sweep in ``unit`` (minutes, hours or trading days) for a ``session_minutes`` session, its range
    widened to hold half and twice the ticket's ``horizon_days``."""
    unit = unit if unit in HORIZON_RANGES else order_time.DEFAULT_UNIT
    per_day = 1.0 / clock.to_days(1.0, unit, session_minutes)
    current = horizon_days * per_day
    low, high = HORIZON_RANGES[unit]
    low, high = min(low, current / 2), max(high, current * 2)
    if unit == "days":
        label = f"horizon (trading days of {session_minutes / 60:g} h)"
    else:
        label = f"horizon ({order_time.UNIT_LABELS[unit]})"
    return HorizonAxis(unit, per_day, float(f"{low:.3g}"), float(f"{high:.3g}"), label)


def point_words(value: float, label: str, horizon: HorizonAxis | None = None) -> str:
    """One swept point as a trader reads it: "a horizon of 15 minutes" (``horizon``: the sweep is the horizon's,
    ``value`` in trading days), else "order size (fraction of ADV) 0.3" (``label`` names the parameter)."""
    if horizon is None:
        return f"{label} {float(value):g}"
    shown = float(f"{float(value) * horizon.per_day:.3g}")
    word = order_time.UNIT_ONE[horizon.unit] if shown == 1 else order_time.UNIT_LABELS[horizon.unit]
    return f"a horizon of {shown:g} {word}"


def failure_notes(result: Sweep, label: str, horizon: HorizonAxis | None = None) -> list[str]:
    """Per strategy that could not plan at some points: how many, and the first point's reason in the trader's
    words ("TWAP: no plan at 2 of 15 points; the first at a horizon of 15 minutes: ...")."""
    notes = []
    for name, failures in result.failures.items():
        value, reason = failures[0]
        notes.append(
            f"{result.labels[name]}: no plan at {len(failures)} of {result.values.size} points; the first at "
            f"{point_words(value, label, horizon)}: {reason}"
        )
    return notes


def same_curve_groups(result: Sweep) -> list[list[str]]:
    """The swept strategies grouped by curve: in one group when their expected cost and std (bps of each point's
    notional) agree within SAME_CURVE_SHARE at every point (NaN only with NaN); the sweep's order kept."""
    curves = {
        name: np.concatenate([result.expected_usd[name], result.std_usd[name]]) / np.tile(result.notional_usd, 2) * 1e4
        for name in result.labels
    }
    groups: list[list[str]] = []
    for name, curve in curves.items():
        for group in groups:
            first = curves[group[0]]
            if _same(first, curve):
                group.append(name)
                break
        else:
            groups.append([name])
    return groups


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    missing = np.isnan(a)
    if not np.array_equal(missing, np.isnan(b)):
        return False
    a, b = a[~missing], b[~missing]
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), SAME_CURVE_FLOOR_BPS)
    return bool(np.all(np.abs(a - b) <= SAME_CURVE_SHARE * scale))


def same_curve_note(result: Sweep, groups: list[list[str]]) -> str | None:
    """ "Same curves …: TWAP = Limit-order ladder" for the groups of more than one strategy, or None."""
    parts = [" = ".join(result.labels[name] for name in group) for group in groups if len(group) > 1]
    if not parts:
        return None
    return (
        f"Same cost and risk at every point (within {SAME_CURVE_SHARE:.1%}), drawn over each other, the later "
        f"dashed: {'; '.join(parts)}."
    )


def dash_same_curves(figure: go.Figure, result: Sweep, groups: list[list[str]]) -> go.Figure:
    """The later strategies of each group dashed in ``figure`` (a sweep chart: traces named by strategy label), so
    that the first one's colour shows through."""
    for group in groups:
        for k, name in enumerate(group[1:]):
            names = (result.labels[name], f"{result.labels[name]} (off scale)")
            dash = DASHES[k % len(DASHES)]
            figure.update_traces(line_dash=dash, selector=lambda trace, names=names: trace.name in names)
    return figure


def same_curve_figures(result: Sweep, shown: Sweep, label: str, log_x: bool) -> tuple[go.Figure, go.Figure]:
    """The sweep's chart and its cost–risk paths (of ``shown``: ``result`` in the axis's unit), the curves that are
    the same (``same_curve_groups`` of ``result``) dashed over each other."""
    groups = same_curve_groups(result)
    return (
        dash_same_curves(charts.sweep_figure(shown, label, log_x), result, groups),
        dash_same_curves(charts.sweep_frontier_figure(shown, label), result, groups),
    )
