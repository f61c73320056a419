"""What every strategy module exports: ``Strategy`` objects (see registry.py for how they are used)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from optexec.models import MarketParams, Order, Schedule


@dataclass(frozen=True)
class Strategy:
    """A registered strategy.

    Attributes
    ----------
    name : registry key used on the command line and in URLs (e.g. "twap").
    label : display name (e.g. "TWAP").
    params_type : frozen dataclass of the strategy's parameters (validated on construction).
    build : ``build(order, market, params) -> Schedule``.
    description : one line for tooltips and the README.
    policy : optional ``policy(order, market, params) -> Policy``, a feedback policy the simulator runs
        (optexec.strategies.policies.Policy); None = the simulator follows the static schedule.
    optimises : the cost model the strategy's method optimises, in plain words, or a function of the market
        that says it (e.g. "linear Almgren–Chriss: spread, linear temporary, linear permanent"); None = not
        declared. ``optimises_under(market)`` reads it.
    """

    name: str
    label: str
    params_type: type
    build: Callable[[Order, MarketParams, Any], Schedule]
    description: str
    policy: Callable[[Order, MarketParams, Any], Any] | None = None
    optimises: str | Callable[[MarketParams], str] | None = None

    def optimises_under(self, market: MarketParams) -> str:
        """The model this strategy optimises for this market, in plain words (the plan's "optimises under")."""
        if self.optimises is None:
            return "not declared"
        return self.optimises if isinstance(self.optimises, str) else self.optimises(market)

    def make_params(self, settings: Mapping[str, Any] | None = None) -> Any:
        """The strategy's parameters from the matching entries of ``settings`` (others keep defaults)."""
        settings = settings or {}
        names = {f.name for f in dataclasses.fields(self.params_type)}
        return self.params_type(**{k: v for k, v in settings.items() if k in names})

    def schedule(self, order: Order, market: MarketParams, settings: Mapping[str, Any] | None = None) -> Schedule:
        """Build this strategy's schedule for an order under the given settings."""
        return self.build(order, market, self.make_params(settings))
