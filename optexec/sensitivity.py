"""Sensitivity sweeps: each strategy's closed-form cost and risk as one parameter runs over a grid.

The parameter can be any Order or MarketParams field, the order size as a fraction of ADV
(``order_fraction_of_adv``), or any strategy setting of the registry (risk aversion, participation, ...).
Costs are the closed forms of optexec.costs (docs/MATH.md sections 2 and 8) of each strategy's schedule, or, with
``simulation``, Monte Carlo estimates (optexec.monte_carlo) in which feedback policies react to every path and
the impact model can be nonlinear or transient; every point then uses the same seed (common random numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order
from optexec.monte_carlo import SimulationConfig, simulate
from optexec.planning import make_plan
from optexec.strategies import registry
from optexec.strategies.base import setting_name

ORDER_FRACTION_OF_ADV = "order_fraction_of_adv"
_ORDER_FIELDS = {"shares", "horizon_days", "slices", "start_minutes_after_open"}
_MARKET_FIELDS = {f.name for f in dataclasses.fields(MarketParams)} - {"volume_profile"}


def sweepable_parameters() -> list[str]:
    """Every parameter name ``sweep`` accepts."""
    return sorted(_ORDER_FIELDS | _MARKET_FIELDS | registry.setting_names() | {ORDER_FRACTION_OF_ADV})


def setting_sweep_ranges(settings: Mapping[str, Any]) -> dict[str, tuple[str, float, float, bool]]:
    """Every numeric strategy setting -> (label with unit, low, high, log scale) for a sweep around ``settings``,
    generated from the parameters' own label, unit and range (strategies/base.param): the setting's range where
    it has one, else half to twice its current value (0 to 1 when it is 0). Whole-number settings without a range
    (a random seed, a number of levels), choices, switches and automatic (None) settings are left out."""
    ranges = {}
    for name, setting in registry.SETTINGS.items():
        spec = setting.spec
        current = settings.get(name, setting.default)
        if setting.shared or setting.choices or isinstance(setting.default, bool) or current is None:
            continue
        if isinstance(setting.default, int) and not spec.is_slider:
            continue
        if not isinstance(current, (int, float)) or isinstance(current, bool):
            continue
        if spec.min_value is not None and spec.max_value is not None:
            low, high = float(spec.min_value), float(spec.max_value)
        else:
            low, high = 0.5 * float(current) if current else 0.0, 2.0 * float(current) or 1.0
            low, high = min(low, high), max(low, high)
            if spec.min_value is not None:
                low = max(low, float(spec.min_value))
        ranges[name] = (spec.display_label, low, high, False)
    return ranges


@dataclass(frozen=True)
class Sweep:
    """Per strategy (registry name), arrays over the swept values; NaN where a strategy could not plan.

    ``failures`` holds each point where a strategy could not plan as (value, reason), for a caller that says the
    value in its own words (a horizon in minutes, say); ``errors`` says them as "param = value: reason" (the
    command line's JSON).
    """

    param: str
    values: np.ndarray
    labels: dict[str, str]
    expected_usd: dict[str, np.ndarray]
    std_usd: dict[str, np.ndarray]
    var95_usd: dict[str, np.ndarray]
    notional_usd: np.ndarray
    failures: dict[str, list[tuple[float, str]]] = field(default_factory=dict)

    @property
    def errors(self) -> dict[str, list[str]]:
        """Each strategy's failures as "param = value: reason"."""
        return {name: [f"{self.param} = {value:g}: {reason}" for value, reason in failed]
                for name, failed in self.failures.items()}  # fmt: skip


def _inputs_at(
    order: Order, market: MarketParams, settings: Mapping[str, Any], param: str, value: float
) -> tuple[Order, MarketParams, dict[str, Any]]:
    settings = dict(settings)
    if param == ORDER_FRACTION_OF_ADV:
        order = dataclasses.replace(order, shares=value * market.adv_shares)
    elif param in _ORDER_FIELDS:
        order_change: dict[str, Any] = {param: int(value) if param == "slices" else value}
        order = dataclasses.replace(order, **order_change)
    elif param in _MARKET_FIELDS:
        market_change: dict[str, Any] = {param: value}
        market = dataclasses.replace(market, **market_change)
    elif param in registry.setting_names():
        settings[param] = value
    else:
        raise ValueError(f"cannot sweep {param!r}; choose one of: {', '.join(sweepable_parameters())}")
    return order, market, settings


def _ignores(name: str, param: str) -> bool:
    """True when strategy ``name`` does not read the strategy setting ``param`` (none of its parameter fields is
    that setting) and needs nothing resolved by its caller: its schedule, and so its row, is then the same at every
    point of a sweep of ``param``."""
    strategy = registry.get(name)
    if param not in registry.setting_names() or strategy.resolves:
        return False
    return param not in {setting_name(f) for f in dataclasses.fields(strategy.params_type)}


def sweep(
    order: Order,
    market: MarketParams,
    settings: Mapping[str, Any],
    param: str,
    values: Sequence[float],
    names: Iterable[str] | None = None,
    simulation: SimulationConfig | None = None,
    progress: Callable[[float], None] | None = None,
) -> Sweep:
    """Expected cost, std and VaR95 of every (or the named) strategy at each value of ``param``.

    Closed forms by default; with ``simulation`` the simulated mean, std and 95% VaR of the shortfall.
    """
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError("the sweep needs one or more finite values")
    fractional = grid[grid != np.round(grid)]
    if param == "slices" and fractional.size:
        raise ValueError(f"slices must be whole numbers, got {', '.join(f'{v:g}' for v in fractional)}")
    chosen = list(names) if names else list(registry.STRATEGIES)
    labels = {name: registry.get(name).label for name in chosen}
    expected = {name: np.full(grid.size, np.nan) for name in chosen}
    std = {name: np.full(grid.size, np.nan) for name in chosen}
    var95 = {name: np.full(grid.size, np.nan) for name in chosen}
    failures: dict[str, list[tuple[float, str]]] = {}

    def failed(name: str, value: float, reason: str) -> None:
        failures.setdefault(name, []).append((value, reason))

    notional = np.empty(grid.size)
    constant = [name for name in chosen if _ignores(name, param)]
    varying = [name for name in chosen if name not in constant]
    for i, value in enumerate(grid):
        point_order, point_market, point_settings = _inputs_at(order, market, settings, param, float(value))
        notional[i] = point_order.shares * point_market.price_usd
        if progress is not None:
            progress(i / grid.size)
        if simulation is not None:
            result = simulate(point_order, point_market, point_settings, chosen, simulation)
            for run in result.runs:
                expected[run.name][i], std[run.name][i], var95[run.name][i] = run.mean_usd, run.std_usd, run.var95_usd
            for name, error in result.errors.items():
                failed(name, float(value), error)
            continue
        # a strategy that ignores the swept setting has the same row at every point: planned at the first only
        planned = chosen if i == 0 else varying or constant[:1]  # (one of them at least: make_plan checks the point)
        for row in make_plan(point_order, point_market, point_settings, planned).rows:
            name = row.strategy.name
            if row.cost is None:
                failed(name, float(value), str(row.error))
                continue
            expected[name][i] = row.cost.expected_usd
            std[name][i] = row.cost.std_usd
            var95[name][i] = row.cost.var_usd(0.95)
        if i > 0:
            for name in constant:
                if name in planned:
                    continue
                if np.isnan(expected[name][0]) and name in failures:
                    failed(name, float(value), failures[name][0][1])
                expected[name][i], std[name][i], var95[name][i] = expected[name][0], std[name][0], var95[name][0]
    return Sweep(param, grid, labels, expected, std, var95, notional, failures)


def sweep_to_json(result: Sweep) -> dict[str, Any]:
    """The DESIGN.md section 7 sweep layout (NaN, where a strategy could not plan, becomes null)."""

    def clean(values: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else float(v) for v in values]

    return {
        "param": result.param,
        "values": result.values.tolist(),
        "strategies": [
            {
                "name": name,
                "label": result.labels[name],
                "expected_cost_usd": clean(result.expected_usd[name]),
                "std_cost_usd": clean(result.std_usd[name]),
                "var95_usd": clean(result.var95_usd[name]),
                "expected_cost_bps": clean(1e4 * result.expected_usd[name] / result.notional_usd),
                "errors": result.errors.get(name, []),
            }
            for name in result.labels
        ],
    }
