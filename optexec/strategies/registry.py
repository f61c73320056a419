"""The one registry of strategies that every page, table, sweep and simulation iterates.

A strategy is a parameter dataclass plus a function ``build(order, market, params) -> Schedule`` (and, if it has
one, its feedback policy), all declared in its own module (base.Strategy). Pages and the command line pass one
dictionary of *settings*; each strategy takes the settings whose names match its parameter fields and keeps its
own defaults for the rest. The shared settings (base.SHARED_SETTINGS, e.g. ``risk_aversion_per_usd``) reach only
the strategies that declare they use them. Adding a strategy = one module with a ``STRATEGIES`` list of
``base.Strategy`` + one line in ``_MODULES`` below.

On loading, the registry refuses what would make a setting ambiguous: a strategy field named like a shared
setting but not declared shared, and one setting name declared by two strategies with different defaults, types
or labels.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order, Schedule
from optexec.strategies.base import (
    SHARED_KEY,
    SHARED_SETTINGS,
    ParamSpec,
    SharedSetting,
    Strategy,
    param_spec,
    setting_name,
    user_fields,
)

_MODULES = ("benchmarks", "almgren_chriss", "nonlinear", "transient", "multiscale", "policies", "rl_agent")


@dataclass(frozen=True)
class Setting:
    """One setting name of the registry: its default, how it is shown, its allowed values, who uses it.

    choices : the allowed values of a Literal-typed setting, else None. shared : one of SHARED_SETTINGS.
    strategies : the names of the strategies that take it.
    """

    name: str
    default: Any
    spec: ParamSpec
    choices: tuple | None
    shared: bool
    strategies: tuple[str, ...]


def _field_choices(params_type: type, field: dataclasses.Field) -> tuple | None:
    hint = typing.get_type_hints(params_type).get(field.name)
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None


def collect_settings(strategies: Iterable[Strategy]) -> dict[str, Setting]:
    """Every setting name of ``strategies`` with its one default; ValueError on an ambiguous setting."""
    found: dict[str, Setting] = {}
    for strategy in strategies:
        for field in user_fields(strategy.params_type):
            name = setting_name(field)
            is_shared = SHARED_KEY in field.metadata
            if name in SHARED_SETTINGS and not is_shared:
                raise ValueError(
                    f"strategy {strategy.name!r} has its own setting {name!r}, the name of a shared setting: "
                    "declare it with base.shared, or give it its own name (base.param(..., setting=...))"
                )
            if is_shared and field.default != SHARED_SETTINGS[name].default:
                raise ValueError(f"strategy {strategy.name!r} changes the default of the shared setting {name!r}")
            setting = Setting(name, field.default, param_spec(field), _field_choices(strategy.params_type, field),
                              is_shared, (strategy.name,))  # fmt: skip
            before = found.get(name)
            if before is None:
                found[name] = setting
                continue
            if (before.default, before.spec, before.choices) != (setting.default, setting.spec, setting.choices):
                raise ValueError(
                    f"the setting {name!r} is declared by {', '.join(before.strategies)} and {strategy.name!r} with "
                    "different defaults, choices or labels: give one of them its own name"
                )
            found[name] = dataclasses.replace(before, strategies=(*before.strategies, strategy.name))
    return found


def _load() -> dict[str, Strategy]:
    strategies = [s for module in _MODULES
                  for s in importlib.import_module(f"optexec.strategies.{module}").STRATEGIES]  # fmt: skip
    collect_settings(strategies)  # refuses ambiguous settings at import
    return {s.name: s for s in strategies}


STRATEGIES: dict[str, Strategy] = _load()
SETTINGS: dict[str, Setting] = collect_settings(STRATEGIES.values())


def get(name: str) -> Strategy:
    """The registered strategy called ``name``; ValueError listing the known names otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(STRATEGIES)
        raise ValueError(f"unknown strategy {name!r}; known strategies: {known}") from None


def setting_names() -> set[str]:
    """Every setting name some registered strategy accepts (the settings vocabulary), shared ones included."""
    return set(SETTINGS) | set(SHARED_SETTINGS)


def shared_settings() -> dict[str, SharedSetting]:
    """The shared settings (base.SHARED_SETTINGS): one default, label, unit and range each."""
    return dict(SHARED_SETTINGS)


def shared_defaults() -> dict[str, Any]:
    """Each shared setting's one default."""
    return {name: setting.default for name, setting in SHARED_SETTINGS.items()}


def strategy_settings() -> dict[str, Setting]:
    """The settings of the strategies that are not shared, in registry and field order."""
    return {name: setting for name, setting in SETTINGS.items() if not setting.shared}


@dataclass(frozen=True)
class PlanResult:
    """One strategy's outcome for an order: its schedule, or the plain reason it could not plan."""

    strategy: Strategy
    schedule: Schedule | None
    error: str | None = None


def plan(
    order: Order,
    market: MarketParams,
    settings: Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
) -> list[PlanResult]:
    """Every (or the named) registered strategy's schedule for an order, in registry order.

    A strategy whose parameters or problem are invalid yields an error message instead of a
    schedule, so one bad setting never hides the other strategies.
    """
    chosen = [get(n) for n in names] if names else list(STRATEGIES.values())
    results = []
    for strategy in chosen:
        try:
            # a schedule with a NaN or an infinity is refused (Schedule: the row's error), so numpy's floating-point
            # warnings on the way there would only be noise on stderr
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                schedule = strategy.schedule(order, market, settings)
            results.append(PlanResult(strategy, schedule))
        except ValueError as error:
            results.append(PlanResult(strategy, None, str(error)))
        except ARITHMETIC_ERRORS as error:
            results.append(PlanResult(strategy, None, arithmetic_error_message(error)))
    return results


#: what a strategy's own arithmetic raises when a setting or the order is beyond what it can compute
ARITHMETIC_ERRORS = (OverflowError, ZeroDivisionError, FloatingPointError)


def arithmetic_error_message(error: ArithmeticError) -> str:
    """A strategy's overflow (or division by zero) as the one-line reason it could not plan."""
    detail = error.args[-1] if error.args else type(error).__name__
    return (
        f"its numbers overflow ({detail}): a setting or the order is outside the range this strategy computes; "
        "bring the settings back towards their defaults"
    )
