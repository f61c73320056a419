"""A basket's schedules, costs and joint risk under several ways of trading it (issue 15, items 3 and 4).

Strategies of a basket (each gives holdings (N + 1, m) on one common grid):

* ``joint_ac``: the exact multi-asset Almgren–Chriss optimum (docs/MATH.md section 10, optexec.baskets.solve). It
  optimises the linear model (spread, eta, gamma, the correlated price risk); the costs shown are each order's under
  its symbol's own market model (optexec.costs.estimate), which may hold more (power-law temporary, transient).
* ``independent_ac``: each order's own single-asset Almgren–Chriss optimum at the same lambda (docs/MATH.md
  section 2), its risk then measured with the correlation;
* ``twap`` and any registry strategy, applied to every order on its own horizon;
* ``per_order`` when the basket has a ``strategy`` column: each row's strategy (``ac_discrete`` where it is empty).

An order whose horizon is shorter than the basket's ends on the last slice boundary at or before its horizon
(a warning names it when that is earlier) and holds 0 after.

Participation: no basket schedule is capped by the participation limit (``max_participation``, a fraction of a
slice's expected volume, the ticket's DEFAULT_MAX_PARTICIPATION by default). joint_ac is the unconstrained optimum (a
cap would break its exactness) and the other strategies run uncapped too, so that they compare like with like; every
order and strategy that goes above the limit is flagged instead: ``within_participation_limit`` in the order table,
and a warning per strategy naming the orders and their peak participation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optexec import costs, json_output
from optexec.baskets import solve
from optexec.baskets.correlation import Correlation, basket_correlation
from optexec.baskets.input import Basket, BasketError, RowProblem
from optexec.baskets.markets import OrderMarket, resolve
from optexec.baskets.risk import BasketRisk, basket_risk, covariance
from optexec.clock import duration_words
from optexec.constants import DEFAULT_MAX_PARTICIPATION
from optexec.market import StaticTrades, cost_model
from optexec.models import Order, Schedule, check_range, check_risk_aversion, slice_market_volume
from optexec.strategies import registry
from optexec.strategies.almgren_chriss import ACParams, ac_discrete, eta_tilde, sinh_ratio

JOINT, INDEPENDENT, TWAP, PER_ORDER = "joint_ac", "independent_ac", "twap", "per_order"
DEFAULT_STRATEGIES = (JOINT, INDEPENDENT, TWAP)
LABELS = {
    JOINT: "Joint Almgren–Chriss (multi-asset)",
    INDEPENDENT: "Independent Almgren–Chriss (each order alone)",
    PER_ORDER: "Each row's own strategy",
}
OPTIMISES = {
    JOINT: "the linear model (spread, η, γ) with the correlated price risk",
    INDEPENDENT: "the linear model of each order alone (no correlation)",
}
#: the liquidity buckets of the roll-up, by order size in % of ADV
LIQUIDITY_BUCKETS = (0.0, 1.0, 5.0, 10.0, 25.0, math.inf)


@dataclass(frozen=True)
class BasketGrid:
    """The common slice grid: horizon T = the longest order's, N slices of tau, order i done after K_i slices."""

    horizon_days: float
    slices: int
    end_slices: np.ndarray

    @property
    def slice_days(self) -> float:
        return self.horizon_days / self.slices

    @property
    def times_days(self) -> np.ndarray:
        return np.linspace(0.0, self.horizon_days, self.slices + 1)


@dataclass(frozen=True)
class StrategyResult:
    """One way of trading the basket: per-order schedules and costs, the basket's holdings and risk.

    holdings_shares : (N + 1, m) shares left of each order at each boundary of the common grid.
    """

    name: str
    label: str
    holdings_shares: np.ndarray | None
    schedules: tuple[Schedule, ...] = ()
    estimates: tuple[costs.CostEstimate, ...] = ()
    risk: BasketRisk | None = None
    error: str | None = None
    optimises: str = ""

    @property
    def expected_usd(self) -> float:
        return float(sum(e.expected_usd for e in self.estimates))

    @property
    def expected_by_order_usd(self) -> np.ndarray:
        return np.array([e.expected_usd for e in self.estimates])

    @property
    def var95_usd(self) -> float:
        return self.risk.var95_usd(self.expected_usd)

    @property
    def max_participation_by_order(self) -> np.ndarray:
        """Each order's largest child order as a fraction of its slice's expected volume."""
        return np.array([float(np.max(s.participation)) for s in self.schedules])


@dataclass(frozen=True)
class BasketPlan:
    """A priced basket: its orders, correlation, grid, the strategies and what was assumed."""

    orders: tuple[OrderMarket, ...]
    correlation: Correlation
    grid: BasketGrid
    risk_aversion_per_usd: float
    strategies: tuple[StrategyResult, ...]
    group_column: str | None = None
    warnings: tuple[str, ...] = field(default=())
    max_participation: float = DEFAULT_MAX_PARTICIPATION

    @property
    def symbols(self) -> list[str]:
        return [o.row.symbol for o in self.orders]

    @property
    def side_signs(self) -> np.ndarray:
        return np.array([o.row.side_sign for o in self.orders], dtype=float)

    @property
    def notional_usd(self) -> np.ndarray:
        return np.array([o.notional_usd for o in self.orders])

    @property
    def gross_notional_usd(self) -> float:
        return float(self.notional_usd.sum())

    @property
    def net_notional_usd(self) -> float:
        """Buys minus sells, $."""
        return float(np.sum(self.side_signs * self.notional_usd))

    @property
    def pct_adv(self) -> np.ndarray:
        return np.array([100.0 * o.shares / o.market.adv_shares for o in self.orders])

    @property
    def covariance_usd2(self) -> np.ndarray:
        sigma = np.array([o.market.sigma_usd_per_sqrt_day for o in self.orders])
        return covariance(sigma, self.correlation.matrix)

    @property
    def shown(self) -> str | None:
        """The strategy the order table and the pictures show: joint_ac, else the first one that planned."""
        planned = [r.name for r in self.strategies if not r.error]
        return JOINT if JOINT in planned else (planned[0] if planned else None)

    def strategy(self, name: str) -> StrategyResult:
        for result in self.strategies:
            if result.name == name:
                return result
        raise ValueError(f"the basket was not planned with {name!r}")

    def over_participation(self, name: str) -> list[tuple[str, float]]:
        """(symbol, peak participation) of the orders whose schedule under ``name`` goes above the limit, largest
        first (module docstring)."""
        return over_limit(self.symbols, self.strategy(name).max_participation_by_order, self.max_participation)

    @property
    def participation_warnings(self) -> list[str]:
        """The warnings (among ``warnings``) of the strategies whose schedules go above the participation limit."""
        return participation_warnings(self.strategies, self.symbols, self.max_participation)

    def bps(self, usd: float) -> float:
        """A $ amount in bps of the gross notional."""
        return 1e4 * usd / self.gross_notional_usd

    def order_table(self, name: str = JOINT) -> pd.DataFrame:
        """One row per order under strategy ``name``: size, cost ($, bps of its notional), its own std, % ADV, max
        participation, and its contributions to the basket's cost and std (the latter add up to the basket std)."""
        result = self.strategy(name)
        if result.error:
            raise ValueError(f"{name} could not plan the basket: {result.error}")
        rows = []
        contribution = result.risk.std_contribution_usd
        for i, (order, schedule, estimate) in enumerate(zip(self.orders, result.schedules, result.estimates,
                                                            strict=True)):  # fmt: skip
            rows.append({
                "symbol": order.row.symbol, "side": order.row.side, "group": order.row.group,
                "shares": order.shares, "notional_usd": order.notional_usd, "price_usd": order.market.price_usd,
                "horizon_days": schedule.order.horizon_days,
                "expected_cost_usd": estimate.expected_usd, "expected_cost_bps": estimate.to_bps(estimate.expected_usd),
                "std_cost_usd": estimate.std_usd, "pct_adv": self.pct_adv[i],
                "max_participation": float(np.max(schedule.participation)),
                "within_participation_limit": _within(float(np.max(schedule.participation)), self.max_participation),
                "cost_share": estimate.expected_usd / result.expected_usd if result.expected_usd else 0.0,
                "risk_contribution_usd": float(contribution[i]),
                "risk_share": float(contribution[i] / result.risk.std_usd) if result.risk.std_usd > 0 else 0.0,
            })  # fmt: skip
        return pd.DataFrame(rows)

    def strategy_table(self) -> pd.DataFrame:
        """One row per basket strategy: E ($, bps of gross), std with and without the correlation, VaR95."""
        rows = []
        for r in self.strategies:
            if r.error:
                rows.append({"strategy": r.name, "label": r.label, "error": r.error})
                continue
            rows.append({
                "strategy": r.name, "label": r.label, "expected_cost_usd": r.expected_usd,
                "expected_cost_bps": self.bps(r.expected_usd), "std_cost_usd": r.risk.std_usd,
                "std_cost_usd_uncorrelated": r.risk.std_uncorrelated_usd, "var95_usd": r.var95_usd,
                "var95_usd_uncorrelated": r.risk.var95_uncorrelated_usd(r.expected_usd),
                "objective_usd": r.expected_usd + self.risk_aversion_per_usd * r.risk.variance_usd2,
                "max_participation": float(r.max_participation_by_order.max()),
                "orders_over_participation_limit": len(self.over_participation(r.name)),
                "optimises": r.optimises, "error": None,
            })  # fmt: skip
        return pd.DataFrame(rows)

    def rollup(self, by: str, name: str = JOINT) -> pd.DataFrame:
        """Totals by ``by`` ("side", "liquidity" (% ADV bucket) or "group"): orders, gross and net notional, E ($,
        bps of the group's gross), the group's own std with the correlation inside it, and its risk contribution."""
        table = self.order_table(name)
        result = self.strategy(name)
        if by == "side":
            keys = table["side"]
        elif by == "liquidity":
            edges = LIQUIDITY_BUCKETS
            labels = [
                f"{a:g}–{b:g}% ADV" if math.isfinite(b) else f"> {a:g}% ADV"
                for a, b in zip(edges, edges[1:], strict=False)
            ]
            keys = pd.cut(table["pct_adv"], list(edges), labels=labels, right=False).astype(str)
        elif by == "group":
            if self.group_column is None:
                raise ValueError("the basket has no grouping column (group, sector or account)")
            keys = table["group"].fillna("(none)")
        else:
            raise ValueError(f"roll-ups are by side, liquidity or group, got {by!r}")
        cov = self.covariance_usd2
        out = []
        for key in pd.unique(keys):
            take = np.flatnonzero((keys == key).to_numpy())
            part = basket_risk(result.holdings_shares[:, take], self.side_signs[take], cov[np.ix_(take, take)],
                               self.grid.slice_days)  # fmt: skip
            gross = float(table["notional_usd"].iloc[take].sum())
            expected = float(table["expected_cost_usd"].iloc[take].sum())
            out.append({
                by: key, "orders": take.size, "gross_notional_usd": gross,
                "net_notional_usd": float(np.sum(self.side_signs[take] * table["notional_usd"].iloc[take])),
                "expected_cost_usd": expected, "expected_cost_bps": 1e4 * expected / gross,
                "std_cost_usd": part.std_usd,
                "risk_contribution_usd": float(table["risk_contribution_usd"].iloc[take].sum()),
            })  # fmt: skip
        return pd.DataFrame(out)

    def remaining(self, name: str = JOINT) -> pd.DataFrame:
        """Over the grid: notional left to trade by side ($ at arrival prices) and the std of the cost still ahead."""
        result = self.strategy(name)
        dollars = result.holdings_shares * np.array([o.market.price_usd for o in self.orders])
        buys = self.side_signs > 0
        return pd.DataFrame({
            "time_days": self.grid.times_days, "buy_notional_usd": dollars[:, buys].sum(axis=1),
            "sell_notional_usd": dollars[:, ~buys].sum(axis=1), "remaining_std_usd": result.risk.remaining_std_usd,
        })  # fmt: skip

    def summary(self) -> pd.DataFrame:
        """The strategies' costs and risk (``strategy_table``)."""
        return self.strategy_table()

    def to_frame(self) -> pd.DataFrame:
        """One row per order under the shown strategy (``order_table``): cost, risk contribution, participation."""
        return self.order_table(self.shown) if self.shown else pd.DataFrame()

    def _repr_html_(self) -> str:  # a notebook shows the strategies' table
        head = f"<p>{len(self.orders)} orders, gross ${self.gross_notional_usd:,.0f}</p>"
        return head + self.summary().to_html(index=False, float_format=lambda x: f"{x:,.2f}")

    def to_json(self) -> dict[str, Any]:
        """The ``basket --json`` layout of issue 15: orders (under joint_ac), strategies with holdings per symbol."""
        orders_under = self.shown
        orders = []
        if orders_under:
            keep = ["symbol", "side", "shares", "expected_cost_usd", "expected_cost_bps", "std_cost_usd", "pct_adv",
                    "max_participation", "within_participation_limit", "risk_contribution_usd", "notional_usd",
                    "horizon_days"]  # fmt: skip
            orders = [{k: _plain(v) for k, v in row.items() if k in keep}
                      for row in self.order_table(orders_under).to_dict("records")]  # fmt: skip
        strategies = []
        for r in self.strategies:
            if r.error:
                strategies.append({"name": r.name, "error": r.error})
                continue
            strategies.append({
                "name": r.name, "label": r.label, "expected_cost_usd": r.expected_usd,
                "expected_cost_bps": self.bps(r.expected_usd), "std_cost_usd": r.risk.std_usd,
                "std_cost_usd_uncorrelated": r.risk.std_uncorrelated_usd, "var95_usd": r.var95_usd,
                "optimises": r.optimises or "nothing (a fixed rule)",
                "max_participation": float(r.max_participation_by_order.max()),
                "within_participation_limit": not self.over_participation(r.name),
                "orders_over_participation_limit": [{"symbol": s, "max_participation": p}
                                                    for s, p in self.over_participation(r.name)],
                "holdings": {s: r.holdings_shares[:, i].tolist() for i, s in enumerate(self.symbols)},
            })  # fmt: skip
        document = {
            "basket": {
                "orders": len(self.orders), "gross_notional_usd": self.gross_notional_usd,
                "net_notional_usd": self.net_notional_usd, "horizon_days": self.grid.horizon_days,
                "slices": self.grid.slices, "risk_aversion_per_usd": self.risk_aversion_per_usd,
                "max_participation_limit": self.max_participation,
                "times": self.grid.times_days.tolist(), "orders_priced_under": orders_under,
                "priced_under": "each symbol's own market model (optexec.costs.estimate)",
                "correlation_source": self.correlation.source, "correlation_notes": list(self.correlation.notes),
                "warnings": list(self.warnings),
            },
            "orders": orders,
            "strategies": strategies,
        }  # fmt: skip
        return json_output.stamped("basket", document)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def _within(peak: float, limit: float) -> bool:
    return peak <= limit * (1 + 1e-9)


def over_limit(symbols: list[str], peaks: np.ndarray, limit: float) -> list[tuple[str, float]]:
    """(symbol, peak) of the orders whose peak participation is above ``limit``, largest first."""
    over = [(s, float(p)) for s, p in zip(symbols, peaks, strict=True) if not _within(float(p), limit)]
    return sorted(over, key=lambda pair: -pair[1])


def _percent(peak: float) -> str:
    return f"{peak:.0%}" if math.isfinite(peak) else "a slice with no expected volume"


def participation_warnings(results: Iterable[StrategyResult], symbols: list[str], limit: float) -> list[str]:
    """One warning per planned strategy whose schedule goes above the participation limit, naming the orders and
    their peak participation (module docstring: the schedules are not capped)."""
    out = []
    for r in results:
        if r.error:
            continue
        over = over_limit(symbols, r.max_participation_by_order, limit)
        if not over:
            continue
        named = ", ".join(f"{s} {_percent(p)}" for s, p in over[:10])
        if len(over) > 10:
            named += f" and {len(over) - 10} more"
        why = ("it is the unconstrained optimum (a cap would break its exactness)" if r.name == JOINT else
               "the basket's strategies run uncapped, like the joint optimum, to compare like with like")  # fmt: skip
        out.append(
            f"{r.name}: {len(over)} of {len(symbols)} orders go above the {limit:.0%} participation limit (largest "
            f"child order / its slice's expected volume): {named}. The schedule is not capped, {why}: trade those "
            "orders over a longer horizon or in smaller size, or raise the limit if the desk accepts it."
        )
    return out


def make_grid(orders: list[OrderMarket], horizon_days: float, slices: int) -> tuple[BasketGrid, list[str]]:
    """The common grid and each order's last slice (module docstring); warnings for horizons off the grid."""
    horizons = np.array([o.row.horizon_days or horizon_days for o in orders], dtype=float)
    if isinstance(slices, bool) or not isinstance(slices, (int, np.integer)) or slices < 1:
        raise ValueError(f"the number of slices must be a whole number >= 1, got {slices!r}")
    Order("BASKET", "buy", 1.0, float(horizons.max()), int(slices))  # the horizon and slice count checked as an order's
    grid_horizon = float(horizons.max())
    tau = grid_horizon / slices
    ends = np.floor(horizons / tau * (1 + 1e-12)).astype(int)
    problems, warnings = [], []
    for order, end, horizon in zip(orders, ends, horizons, strict=True):
        session = order.market.session_minutes  # a duration in words by the order's own session
        if end < 1:
            problems.append(
                RowProblem(
                    order.row.line,
                    "horizon_days",
                    f"{horizon:g} trading days ({duration_words(horizon, session)}) is shorter than one slice "
                    f"({duration_words(tau, session)}): use more slices",
                )
            )
        elif abs(end * tau - horizon) > 1e-9 * horizon:
            warnings.append(f"{order.row.symbol}: its horizon {horizon:g} trading days "
                            f"({duration_words(horizon, session)}) ends at {duration_words(end * tau, session)}, "
                            "the last slice boundary before it")  # fmt: skip
    if problems:
        raise BasketError(problems)
    return BasketGrid(grid_horizon, int(slices), ends), warnings


def _order(order: OrderMarket, end: int, tau: float) -> Order:
    return Order(order.row.symbol, order.row.side, order.shares, end * tau, int(end))


def _priced(
    name: str, label: str, orders, grid: BasketGrid, schedules: list[Schedule], cov, optimises=""
) -> StrategyResult:
    holdings = np.zeros((grid.slices + 1, len(orders)))
    for i, schedule in enumerate(schedules):
        holdings[: schedule.order.slices + 1, i] = schedule.holdings_shares
    signs = np.array([o.row.side_sign for o in orders], dtype=float)
    estimates = tuple(costs.estimate(s) for s in schedules)
    risk = basket_risk(holdings, signs, cov, grid.slice_days)
    return StrategyResult(name, label, holdings, tuple(schedules), estimates, risk, None, optimises)


def joint_schedules(orders, grid: BasketGrid, correlation: np.ndarray, risk_aversion: float) -> list[Schedule]:
    """Each order's schedule of the joint multi-asset AC optimum (docs/MATH.md section 10)."""
    tau = grid.slice_days
    own = [_order(o, end, tau) for o, end in zip(orders, grid.end_slices, strict=True)]
    h = np.array(_each(orders, lambda i: eta_tilde(own[i], orders[i].market)))
    signs = np.array([o.row.side_sign for o in orders], dtype=float)
    sigma = np.array([o.market.sigma_usd_per_sqrt_day for o in orders])
    start = signs * np.array([o.shares for o in orders])
    y = solve.JointProblem(start, h, covariance(sigma, correlation), tau, grid.end_slices).holdings(risk_aversion)
    x = y * signs
    params = {"risk_aversion_per_usd": risk_aversion}
    out = []
    for i, (order, o) in enumerate(zip(own, orders, strict=True)):
        path = x[: order.slices + 1, i]
        warnings = ()
        low, high = float(path.min()), float(path.max())
        if low < -1e-6 * order.shares or high > order.shares * (1 + 1e-6):
            beyond = f"down to {low:,.0f} shares" if low < 0 else f"up to {high:,.0f} of {order.shares:,.0f} shares"
            warnings = (f"the joint schedule goes through zero or beyond the order to hedge the others ({beyond})",)
        out.append(Schedule.from_holdings(JOINT, order, o.market, path, params, warnings))
    return out


def _each(orders, build) -> list:
    """``build(i)`` for every order, an order's ValueError naming its symbol."""
    out = []
    for i, o in enumerate(orders):
        try:
            out.append(build(i))
        except ValueError as error:
            raise ValueError(f"{o.row.symbol}: {error}") from None
    return out


def _registry_schedules(name: str, orders, grid: BasketGrid, settings: dict, names: list[str] | None = None):
    tau = grid.slice_days

    def build(i):
        o, end = orders[i], grid.end_slices[i]
        return registry.get(names[i] if names else name).schedule(_order(o, end, tau), o.market, settings)

    return _each(orders, build)


def plan_orders(
    orders: list[OrderMarket],
    correlation: Correlation,
    horizon_days: float = 1.0,
    slices: int = 26,
    risk_aversion_per_usd: float = 1e-6,
    strategies: Iterable[str] = DEFAULT_STRATEGIES,
    group_column: str | None = None,
    warnings: Iterable[str] = (),
    max_participation: float = DEFAULT_MAX_PARTICIPATION,
) -> BasketPlan:
    """Every named basket strategy's schedules, costs and risk for resolved orders and their correlation; the
    orders above the participation limit ``max_participation`` flagged, not capped (module docstring)."""
    lam = check_risk_aversion(risk_aversion_per_usd)
    limit = check_range("max participation (fraction of expected volume)", max_participation, 0.0, 1.0,
                        low_open=True)  # fmt: skip
    grid, grid_warnings = make_grid(orders, horizon_days, slices)
    symbols = [o.row.symbol for o in orders]
    matrix = correlation.for_symbols(symbols)
    sigma = np.array([o.market.sigma_usd_per_sqrt_day for o in orders])
    cov = covariance(sigma, matrix)
    # uncapped (module docstring): the orders above the limit are flagged by participation_warnings
    settings = {"risk_aversion_per_usd": lam, "max_participation": 1.0}
    names = list(dict.fromkeys(strategies))
    if any(o.row.strategy for o in orders) and PER_ORDER not in names:
        names.append(PER_ORDER)
    results = []
    for name in names:
        try:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                if name == JOINT:
                    schedules = joint_schedules(orders, grid, matrix, lam)
                elif name == INDEPENDENT:
                    schedules = _each(orders, lambda i: ac_discrete(_order(orders[i], grid.end_slices[i],
                                                                           grid.slice_days), orders[i].market,
                                                                    ACParams(lam, max_participation=1.0)))  # fmt: skip
                elif name == PER_ORDER:
                    chosen = [o.row.strategy or "ac_discrete" for o in orders]
                    schedules = _registry_schedules(name, orders, grid, settings, chosen)
                else:
                    schedules = _registry_schedules(name, orders, grid, settings)
            label = LABELS.get(name) or registry.get(name).label
            results.append(_priced(name, label, orders, grid, schedules, cov, OPTIMISES.get(name, "")))
        except (ValueError, *registry.ARITHMETIC_ERRORS) as error:
            label = LABELS.get(name, name)
            results.append(StrategyResult(name, label, None, error=str(error)))
    schedule_warnings = [f"{r.name}, {s.order.symbol}: {w}" for r in results for s in r.schedules for w in s.warnings]
    over = participation_warnings(results, symbols, limit)
    return BasketPlan(tuple(orders), correlation, grid, lam, tuple(results), group_column,
                      (*warnings, *over, *grid_warnings, *schedule_warnings, *correlation.notes), limit)  # fmt: skip


def plan_basket(
    basket: Basket,
    con=None,
    horizon_days: float = 1.0,
    slices: int = 26,
    risk_aversion_per_usd: float = 1e-6,
    correlation: Correlation | None = None,
    strategies: Iterable[str] = DEFAULT_STRATEGIES,
    max_participation: float = DEFAULT_MAX_PARTICIPATION,
) -> BasketPlan:
    """A basket priced: each order's market (store + basket columns), the correlation (given or the store's), and
    every named strategy, the orders above ``max_participation`` flagged (module docstring). BasketError lists the
    rows that cannot be priced."""
    orders = resolve(basket, con)
    symbols = [o.row.symbol for o in orders]
    matrix = basket_correlation(con, symbols, correlation)
    return plan_orders(orders, matrix, horizon_days, slices, risk_aversion_per_usd, strategies,
                       basket.group_column, basket.warnings, max_participation)  # fmt: skip


@dataclass(frozen=True)
class BasketFrontier:
    """E against std (with the correlation) over a grid of lambda, for joint_ac and independent_ac."""

    risk_aversion_per_usd: np.ndarray
    expected_usd: dict[str, np.ndarray]
    std_usd: dict[str, np.ndarray]


def _expected_stack(orders, grid: BasketGrid, holdings: np.ndarray) -> np.ndarray:
    """Basket E per lambda of holdings (L, N + 1, m), each order under its own cost model (stacked schedules)."""
    total = np.zeros(holdings.shape[0])
    tau = grid.slice_days
    for i, (o, end) in enumerate(zip(orders, grid.end_slices, strict=True)):
        order = _order(o, end, tau)
        path = holdings[:, : end + 1, i]
        trades = path[:, :-1] - path[:, 1:]
        static = StaticTrades(trades, np.zeros_like(trades), tau, slice_market_volume(order, o.market), o.shares)
        total += cost_model(o.market).expected(static, order.side_sign).expected_usd
    return total


def frontier(
    plan: BasketPlan, risk_aversions_per_usd: Iterable[float] | None = None, points: int = 15
) -> BasketFrontier:
    """The frontier of joint_ac beside independent_ac (issue 15 item 4): E under each symbol's model, std with the
    correlation; lambda spans 1/100 to 100 times the plan's (or the given grid). The joint solve is one
    eigen-decomposition for all lambdas (a KKT solve per lambda with per-order horizons)."""
    if risk_aversions_per_usd is None:
        centre = plan.risk_aversion_per_usd or 1e-6
        lambdas = np.concatenate([[0.0], np.geomspace(centre / 100, centre * 100, points - 1)])
    else:
        lambdas = np.array([check_risk_aversion(v) for v in risk_aversions_per_usd])
    orders, grid = list(plan.orders), plan.grid
    tau = grid.slice_days
    cov = plan.covariance_usd2
    signs = plan.side_signs
    h = np.array(_each(orders, lambda i: eta_tilde(_order(orders[i], grid.end_slices[i], tau), orders[i].market)))
    start = signs * np.array([o.shares for o in orders])
    expected, std = {}, {}
    for name in (JOINT, INDEPENDENT):
        if name == INDEPENDENT:  # each order alone: its own AC on its own horizon (docs/MATH.md section 2)
            y = np.zeros((lambdas.size, grid.slices + 1, len(orders)))
            for i, end in enumerate(grid.end_slices):
                t = np.arange(end + 1) * tau
                for j, lam in enumerate(lambdas):
                    kappa = solve.mode_kappas(np.array([cov[i, i] / h[i]]), tau, float(lam))[0]
                    y[j, : end + 1, i] = start[i] * sinh_ratio(float(kappa), t, end * tau)
                y[:, end, i] = 0.0
        else:  # one eigen-decomposition for all lambdas with a common horizon, a KKT solve per lambda otherwise
            y = solve.JointProblem(start, h, cov, tau, grid.end_slices).holdings_over_lambda(lambdas)
        expected[name] = _expected_stack(orders, grid, y * signs)
        exposure = y[:, 1:]
        std[name] = np.sqrt(np.maximum(tau * np.sum((exposure @ cov) * exposure, axis=(1, 2)), 0.0))
    return BasketFrontier(lambdas, expected, std)
