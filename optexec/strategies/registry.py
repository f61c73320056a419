"""The one registry of strategies that every page, table, sweep and simulation iterates.

A strategy is a parameter dataclass plus a function ``build(order, market, params) -> Schedule``.
Pages and the command line pass one dictionary of *settings* (e.g. ``risk_aversion_per_usd``,
``participation_rate``); each strategy takes the settings whose names match its parameter
fields and keeps its own defaults for the rest. Adding a strategy = one module with a
``STRATEGIES`` list of ``base.Strategy`` + one line in ``_MODULES`` below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order, Schedule
from optexec.strategies.base import Strategy


def _load() -> dict[str, Strategy]:
    from optexec.strategies import almgren_chriss, benchmarks, multiscale, nonlinear, policies, rl_agent, transient

    strategies = [
        *benchmarks.STRATEGIES,
        *almgren_chriss.STRATEGIES,
        *nonlinear.STRATEGIES,
        *transient.STRATEGIES,
        *multiscale.STRATEGIES,
        *policies.STRATEGIES,
        *rl_agent.STRATEGIES,
    ]
    return {s.name: s for s in policies.attach_feedback_policies(strategies)}


STRATEGIES: dict[str, Strategy] = _load()


def get(name: str) -> Strategy:
    """The registered strategy called ``name``; ValueError listing the known names otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(STRATEGIES)
        raise ValueError(f"unknown strategy {name!r}; known strategies: {known}") from None


def setting_names() -> set[str]:
    """Every parameter name some registered strategy accepts (the settings vocabulary)."""
    return {f.name for s in STRATEGIES.values() for f in dataclasses.fields(s.params_type)}


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
