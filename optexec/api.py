"""The Python API for notebooks, batch jobs and services: ``optexec.plan``, ``simulate``, ``calibrate``, ``basket``.

Each function reads what it needs from the store (``db``: a DuckDB file; default ``$OPTEXEC_DB`` or the user's
default database, built from the bundled sample on first use) through the same core functions the command line
and the app use, so a number here is the number on the page and in ``optexec plan --json``. Results are the core
types (``Plan``, ``SimulationResult``, ``Calibration``, ``BasketPlan``); each has ``summary()`` (its table as a
pandas frame), ``to_frame()`` (tidy rows), ``to_json()`` (the command line's ``--json`` document) and renders as
HTML in a notebook.

Example
-------
>>> import optexec
>>> order = optexec.Order("SYN-LARGE", "buy", 200_000, horizon_days=0.5, slices=26)
>>> plan = optexec.plan(order)  # the symbol's stored parameters, priced under its one cost model
>>> plan.summary()[["strategy", "expected_cost_bps"]]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optexec.models import MarketParams, Order

if TYPE_CHECKING:
    import pandas as pd

    from optexec.baskets.plan import BasketPlan
    from optexec.calibration.run import Calibration
    from optexec.monte_carlo import SimulationResult
    from optexec.planning import Plan

__all__ = ["basket", "calibrate", "market_params", "plan", "simulate"]

#: where the API says a cost model was chosen, in the plan's words
_IN_THE_CALL = "in the call (cost_model=...)"


def market_params(symbol: str, cost_model: str | None = None, db: str | Path | None = None) -> MarketParams:
    """A symbol's stored market parameters: its latest accepted calibration, else the bundled sample's planted
    values (``optexec.market_source``), under ``cost_model`` (default: "calibrated" for a symbol with an accepted
    calibration, else "linear").

    Parameters
    ----------
    symbol : a symbol in the store.
    cost_model : one of ``optexec.models.COST_MODELS``, or None for the default above.
    db : database file (default: ``$OPTEXEC_DB`` or the user's default database).

    Returns
    -------
    MarketParams, every value's source recorded in ``sources``.

    Raises
    ------
    ValueError : the store has no parameters for the symbol (the message says how to calibrate it).
    """
    return _stored(symbol, cost_model, db)[0]


def _stored(symbol: str, cost_model: str | None, db: str | Path | None) -> tuple[MarketParams, str, str]:
    from optexec.market_source import stored_market
    from optexec.store import db as store

    with store.reading(db) as con:
        return stored_market(con, symbol, cost_model, _IN_THE_CALL)


def _clock(order: Order, start: dt.date | None, db: str | Path | None, session_minutes: int):
    """The order's clock from the symbol's stored market (``sessions.order_clock``; None without an instrument)."""
    from optexec.store import db as store
    from optexec.store import sessions

    with store.reading(db) as con:
        return sessions.order_clock(con, order, start, session_minutes)


def plan(
    order: Order,
    market: MarketParams | None = None,
    *,
    strategies: list[str] | None = None,
    risk_aversion_per_usd: float | None = None,
    max_participation: float | None = None,
    cost_model: str | None = None,
    start: dt.date | None = None,
    db: str | Path | None = None,
    **settings: Any,
) -> Plan:
    """Every strategy's schedule, expected cost and risk for ``order``, all priced under one cost model.

    Parameters
    ----------
    order : the parent order (symbol, side, shares, horizon in trading days, slices, start in minutes after the
        open).
    market : market parameters; None reads the symbol's stored ones (``optexec.market_params``). A given market
        is used as it is (its own ``cost_model``; ``cost_model=`` replaces it).
    strategies : registry names (``optexec.strategies.registry.STRATEGIES``); None plans every strategy.
    risk_aversion_per_usd : lambda of E + lambda Var, 1/$ (default: the registry's shared default).
    max_participation : the limit on a child order's share of its slice's expected market volume, in (0, 1].
    cost_model : the one cost model every strategy is priced and ranked under (see ``market_params``).
    start : the order's first trading day (local date); None = today in the exchange's zone, or the next trading
        day after it. With the symbol's market in the store, ``Plan.to_frame()`` carries exchange-local
        timestamps and whole lots; without it, times in trading days and whole shares.
    db : database file (default: ``$OPTEXEC_DB`` or the user's default database).
    **settings : strategy settings (e.g. ``participation_rate=0.2``); an unknown name is a ValueError.

    Returns
    -------
    Plan : ``summary()``, ``to_frame()``, ``to_json()``; ``optexec.planning.recommendation(plan)`` in words.
    """
    from optexec import model_card
    from optexec.planning import make_plan

    if market is None:
        market, source, reason = _stored(order.symbol, cost_model, db)
    else:
        source = "Parameters: given in the call (market=...)."
        if cost_model is not None:
            market = model_card.with_cost_model(market, cost_model)
        reason = f"{market.cost_model}: " + ("chosen in the call (cost_model=...)" if cost_model else "the market's")
    given = {"risk_aversion_per_usd": risk_aversion_per_usd, "max_participation": max_participation}
    chosen = {**settings, **{k: v for k, v in given.items() if v is not None}}
    clock = _clock(order, start, db, market.session_minutes)
    return make_plan(order, market, chosen, strategies, reason, source, clock)


def simulate(
    order: Order,
    market: MarketParams | None = None,
    *,
    strategies: list[str] | None = None,
    paths: int = 10_000,
    seed: int = 0,
    cost_model: str | None = None,
    db: str | Path | None = None,
    **settings: Any,
) -> SimulationResult:
    """Monte Carlo cost distribution of every (or the named) strategy on the same market paths, charged by the
    market's one cost model (``optexec.monte_carlo.simulate``).

    Parameters
    ----------
    order, market, strategies, cost_model, db, settings : as for ``plan``.
    paths : number of Monte Carlo paths (at least 2).
    seed : random seed: the same seed, the same numbers.

    Returns
    -------
    SimulationResult : ``summary()`` (statistics per strategy), ``to_frame()`` (cost per path), ``to_json()``.
    """
    from optexec import model_card
    from optexec.monte_carlo import SimulationConfig
    from optexec.monte_carlo import simulate as run

    if market is None:
        market = _stored(order.symbol, cost_model, db)[0]
    elif cost_model is not None:
        market = model_card.with_cost_model(market, cost_model)
    return run(order, market, settings or None, strategies, SimulationConfig(paths=paths, seed=seed))


def calibrate(
    symbol: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    save: bool = False,
    accept: bool | None = None,
    db: str | Path | None = None,
) -> Calibration:
    """Fit the symbol's market model (volatility, liquidity, impact) from its data in the store.

    Parameters
    ----------
    symbol : a symbol with bars (and ideally trades and quotes) in the store.
    start, end : the window's first and last local trading dates (default: all the data).
    save : write the run to the store's calibration tables.
    accept : with ``save``, make it the symbol's parameters; None accepts when the data support it
        (``Calibration.not_acceptable`` empty), True insists (recorded with the run).
    db : database file (default: ``$OPTEXEC_DB`` or the user's default database).

    Returns
    -------
    Calibration : ``summary()`` (the chosen parameters with units), ``to_frame()``, ``to_json()``.
    """
    from optexec.calibration import run
    from optexec.store import db as store

    with store.writing(db) if save else store.reading(db) as con:
        result = run.calibrate(con, symbol, start, end)
        if save:
            take = bool(accept) or (accept is None and not result.not_acceptable)
            result = run.save(con, result, accept=take, insist=bool(accept))
    return result


def basket(
    source: str | Path | pd.DataFrame,
    *,
    horizon_days: float = 1.0,
    slices: int = 26,
    risk_aversion_per_usd: float = 1e-6,
    max_participation: float | None = None,
    correlation: str | Path | None = None,
    db: str | Path | None = None,
) -> BasketPlan:
    """A basket (rebalance list) priced: each order's cost under its symbol's market model, the joint risk with
    the correlation (given, or the store's), and the multi-asset Almgren–Chriss schedule (docs/MATH.md section 10).

    Parameters
    ----------
    source : a CSV or Parquet file, or a frame, with symbol, side and shares | notional_usd | pct_adv columns.
    horizon_days, slices : the common grid.
    risk_aversion_per_usd : lambda, 1/$.
    max_participation : orders above this share of a slice's expected volume are flagged (not capped).
    correlation : a CSV correlation matrix (symbols as header and first column); None uses the store's returns.
    db : database file (default: ``$OPTEXEC_DB`` or the user's default database).

    Returns
    -------
    BasketPlan : ``summary()`` (strategies), ``to_frame()`` (orders), ``to_json()``.
    """
    from optexec.baskets import correlation as correlations
    from optexec.baskets.input import parse_basket
    from optexec.baskets.plan import plan_basket
    from optexec.constants import DEFAULT_MAX_PARTICIPATION
    from optexec.store import db as store

    parsed = parse_basket(source)
    given = None
    if correlation is not None:
        given = correlations.from_file(correlation, parsed.symbols, name=f"the correlation file {correlation}")
    limit = DEFAULT_MAX_PARTICIPATION if max_participation is None else max_participation
    with store.reading(db) as con:
        return plan_basket(parsed, con, horizon_days, slices, risk_aversion_per_usd, given,
                           max_participation=limit)  # fmt: skip
