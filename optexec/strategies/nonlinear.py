"""Static nonlinear-impact allocator (docs/MATH.md sections 0 and 6) and its adaptive re-optimising policy.

The order is split over the slices to minimise sum_t g_t(x_t) (+ lambda V) with sum_t x_t = S and
0 <= x_t <= cap_t. The per-slice costs g_t(x) = a_t x + c_t x^p are the market's own (``period_costs``): the
separable parts of its cost model (optexec.market.cost_model(market).separable, docs/MATH.md section 11), so the
allocator optimises what the plan prices, less the parts that are not per-slice sizes:

- "linear": spread eps x, linear temporary (eta / tau) x^2 and the linear permanent part -(gamma / 2) x^2, i.e.
  eps x + (eta~ / tau) x^2 with eta~ = eta - gamma tau / 2 (docs/MATH.md section 2, eq 8): without caps and risk the
  optimum is TWAP, with risk aversion the discrete Almgren–Chriss schedule;
- "calibrated": spread eps x and the power law Y sigma x (x / v_t)^p (ATHL: Y = 0.142, p = 0.6 unless fitted) of
  the slice's expected volume v_t; the permanent part -(gamma / 2) x^2 has another exponent and is left out;
- block sweeps and transient impact are never separable (a block is a choice of how to trade, transient impact
  couples the slices) and are left out; ``optimises(market)`` says what is kept.

A user who wants the old power-law allocation chooses the calibrated cost model with the power coefficient and
exponent (MarketParams.power_coefficient, power_exponent: 0.142 and 0.6 is ATHL's total exponent 1.6).

Caps: cap_t = min(max_participation v_t, max_child_order_shares): the participation limit is a constraint of the
problem (max_participation, default 25%). Risk: lambda V with V = sigma^2 tau sum_k h_k^2 of the holdings after
each slice (docs/MATH.md §2, eq 5). The permanent cost gamma X^2 / 2 is the same for every schedule that trades in
one direction; it is added to the expected cost of the VaR check.

Methods: ``waterfill`` (exact: KKT water-filling, or the interior-point solver of ``waterfill.solve_with_risk``
when lambda > 0), ``slsqp`` and ``differential_evolution`` (scipy, for comparison).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from scipy.optimize import brentq, differential_evolution, minimize

from optexec import constants
from optexec import market as market_model
from optexec.models import MarketParams, Order, Schedule, check_finite, check_non_negative, slice_market_volume
from optexec.strategies.base import Decision, StepState, Strategy, param, shared
from optexec.strategies.participation import check_max_participation, limit_participation
from optexec.strategies.waterfill import (
    Allocation,
    check_feasible,
    project_capped_simplex,
    risk_term_usd,
    separable_cost_usd,
    solve_with_risk,
    waterfill,
    waterfill_batch,
)

Method = Literal["waterfill", "slsqp", "differential_evolution"]
METHODS = get_args(Method)


@dataclass(frozen=True)
class NonlinearParams:
    """Parameters of the static nonlinear-impact allocator (docs/MATH.md section 6); the costs are the market's.

    max_participation : cap on each child order as a fraction of the slice's expected volume, in (0, 1] (the
        shared participation limit).
    max_child_order_shares : cap on each child order in shares; None = no cap.
    method : "waterfill" (exact), "slsqp" or "differential_evolution".
    risk_aversion_per_usd : lambda in cost + lambda V, 1/$ (0 = risk neutral); the setting
        ``nonlinear_risk_aversion_per_usd``, its own (the shared risk aversion does not reach it).
    var_limit_usd : optional VaR limit (constants.VAR_CONFIDENCE, 95%): expected cost + z sd <= this many $;
        None = no limit.
    reoptimise_every_minutes : how often the adaptive policy re-solves the remainder in the simulator, in trading
        minutes (the brief: every 5-10 minutes); rounded to whole slices, at least one.
    """

    max_participation: float = shared("max_participation")
    max_child_order_shares: float | None = param(None, "Max child order", "shares", min_value=0.0)
    method: Method = param("waterfill", "Solver")
    # its own risk aversion, default 0 (risk neutral: pure water-filling), not the shared one (base.SHARED_SETTINGS)
    risk_aversion_per_usd: float = param(0.0, "Nonlinear risk aversion λ", "1/$", min_value=0.0, max_value=1e-4,
                                         setting="nonlinear_risk_aversion_per_usd",
                                         help="The nonlinear allocator's own λ (0 = risk neutral); the plan's λ "
                                         "does not change it.")  # fmt: skip
    var_limit_usd: float | None = param(None, "95% VaR limit", "$", min_value=0.0)
    reoptimise_every_minutes: float = param(10.0, "Reoptimise every", "minutes", min_value=0.0)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"solver method must be one of {', '.join(METHODS)}, got {self.method!r}")
        check_max_participation(self.max_participation)
        if self.max_child_order_shares is not None:
            if check_finite("maximum child order (shares)", self.max_child_order_shares) <= 0:
                raise ValueError(f"maximum child order must be > 0 shares, got {self.max_child_order_shares:g}")
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)
        if self.var_limit_usd is not None and check_finite("VaR limit ($)", self.var_limit_usd) <= 0:
            raise ValueError(f"the VaR limit must be > 0 $, got {self.var_limit_usd:g}")
        if check_finite("re-optimisation interval (minutes)", self.reoptimise_every_minutes) <= 0:
            raise ValueError(f"the re-optimisation interval must be > 0 minutes, got {self.reoptimise_every_minutes:g}")


@dataclass(frozen=True)
class PeriodCosts:
    """Per-slice cost g_t(x) = a_t x + c_t x^p ($) with caps (docs/MATH.md section 6).

    linear_usd_per_share : a_t. coefficient : c_t in $/share^p. exponent : p. caps_shares : cap_t.
    risk_weight_usd_per_share2 : mu = lambda sigma^2 tau, the weight of sum_k h_k^2.
    variance_weight_usd2_per_share2 : sigma^2 tau, so that V = this x sum_k h_k^2 ($^2).
    """

    linear_usd_per_share: np.ndarray
    coefficient: np.ndarray
    exponent: float
    caps_shares: np.ndarray
    risk_weight_usd_per_share2: float = 0.0
    variance_weight_usd2_per_share2: float = 0.0

    def cost_usd(self, trades_shares) -> np.ndarray:
        """sum_t g_t(x_t) over the last axis (no risk term)."""
        return separable_cost_usd(trades_shares, self.linear_usd_per_share, self.coefficient, self.exponent)

    def objective_usd(self, trades_shares, total_shares: float) -> np.ndarray:
        """sum_t g_t(x_t) + lambda V, the quantity every method minimises."""
        risk = risk_term_usd(trades_shares, total_shares, self.risk_weight_usd_per_share2)
        return self.cost_usd(trades_shares) + risk

    def variance_usd2(self, trades_shares, total_shares: float) -> np.ndarray:
        """V = sigma^2 tau sum_k h_k^2 (docs/MATH.md section 2, eq 5)."""
        return risk_term_usd(trades_shares, total_shares, self.variance_weight_usd2_per_share2)


@dataclass(frozen=True)
class _Split:
    """The market model's components an allocator keeps (their summed a_t, c_t, p) and leaves out."""

    linear_usd_per_share: np.ndarray
    coefficient: np.ndarray
    exponent: float
    kept: tuple
    left_out: tuple


def _split(market: MarketParams, volume_shares: np.ndarray, slice_days: float) -> _Split:
    """Sum the separable parts of the market's cost model that share the exponent of its convex impact part.

    Every linear term a_t is kept. Of the x^p terms, the exponent group with a positive coefficient (the temporary
    impact) is kept with everything of the same exponent (under the linear model the permanent -(gamma/2) x^2
    joins eta / tau x^2); the other groups and the non-separable components are left out.
    """
    model = market_model.cost_model(market)
    n = volume_shares.size
    linear = np.zeros(n)
    groups: dict[float, list] = {}
    parts = []
    left_out = []
    for component in model.components:
        part = component.separable(volume_shares, slice_days)
        if part is None:
            left_out.append(component)
            continue
        parts.append((component, part))
        linear = linear + np.broadcast_to(np.asarray(part.linear_usd_per_share, dtype=float), (n,))
        if np.any(np.asarray(part.coefficient) != 0):
            groups.setdefault(float(part.exponent), []).append((component, part))
    convex = [p for p, members in groups.items() if any(np.all(np.asarray(m.coefficient) >= 0) for _, m in members)]
    if len(convex) != 1:
        raise ValueError(f"the {market.cost_model} cost model has no single convex impact part for the allocator")
    exponent = convex[0]
    coefficient = np.zeros(n)
    for _, part in groups[exponent]:
        coefficient = coefficient + np.broadcast_to(np.asarray(part.coefficient, dtype=float), (n,))
    kept_members = {id(c) for c, _ in groups[exponent]}
    kept = tuple(c for c, part in parts if id(c) in kept_members or np.all(np.asarray(part.coefficient) == 0))
    left_out += [c for c, _ in parts if c not in kept]
    return _Split(linear, coefficient, exponent, kept, tuple(left_out))


def optimises(market: MarketParams) -> str:
    """What the allocator optimises for this market, in plain words (the plan's "optimises under")."""
    split = _split(market, np.ones(1), 1.0)
    model = market_model.cost_model(market)

    def words(components) -> str:
        return dataclasses.replace(model, components=tuple(components)).describe()

    kept = f"the market's cost model less its non-separable parts: {words(split.kept)}"
    return kept + (f" (left out: {words(split.left_out)})" if split.left_out else "")


def period_costs(order: Order, market: MarketParams, params: NonlinearParams, volume_shares=None) -> PeriodCosts:
    """The per-slice costs of an order from the market's cost model (module docstring) and the caps.

    ``volume_shares`` overrides the expected market volume per slice (used by the adaptive policy).
    """
    volume = slice_market_volume(order, market) if volume_shares is None else np.asarray(volume_shares, float)
    tau = order.slice_days
    positive = volume > 0
    split = _split(market, volume, tau)
    if np.any(split.coefficient[positive] <= 0):
        raise ValueError(
            "the slices are too long for these impact coefficients: the temporary impact per slice must exceed the "
            "permanent impact's discrete part (eta > gamma x slice length / 2); use more slices"
        )
    child = math.inf if params.max_child_order_shares is None else float(params.max_child_order_shares)
    caps = np.where(positive, np.minimum(params.max_participation * volume, child), 0.0)
    sigma2_tau = market.sigma_usd_per_sqrt_day**2 * tau
    coefficient = np.where(positive, split.coefficient, 1.0)  # closed slices (cap 0) need a finite placeholder
    return PeriodCosts(
        split.linear_usd_per_share, coefficient, split.exponent, caps, params.risk_aversion_per_usd * sigma2_tau,
        sigma2_tau,
    )  # fmt: skip


def _scaled_problem(total_shares: float, costs: PeriodCosts):
    """Objective and gradient in u = x / S, scaled to ~1, for the scipy methods."""
    S = total_shares
    a, c, p = costs.linear_usd_per_share, costs.coefficient, costs.exponent
    mu = costs.risk_weight_usd_per_share2
    u0 = project_capped_simplex(np.ones(a.size), 1.0, costs.caps_shares / S)[0]
    scale = max(float(costs.objective_usd(u0 * S, S)), 1e-300)

    def objective(u):
        return float(costs.objective_usd(np.asarray(u) * S, S)) / scale

    def gradient(u):
        u = np.maximum(u, 1e-12) if p < 1 else np.maximum(u, 0.0)
        holdings = 1.0 - np.cumsum(u)
        tail = np.cumsum(holdings[::-1])[::-1]  # sum_{k >= j} h_k
        return (a * S + p * c * S**p * u ** (p - 1) - 2.0 * mu * S**2 * tail) / scale

    return u0, scale, objective, gradient


def slsqp_allocation(total_shares: float, costs: PeriodCosts, max_iterations: int = 1000) -> Allocation:
    """scipy SLSQP on the same problem (the brief's method): bounds 0 <= x <= cap, equality sum x = S.

    Works in u = x/S with an analytic gradient and a feasible start (the capped uniform split). A local method:
    it returns what SLSQP returns, converged or not (ftol 1e-12).
    """
    check_feasible(total_shares, costs.caps_shares)
    u0, scale, objective, gradient = _scaled_problem(total_shares, costs)
    bounds = [(0.0, None if not np.isfinite(cap) else cap / total_shares) for cap in costs.caps_shares]
    result = minimize(
        objective,
        u0,
        jac=gradient,
        method="SLSQP",
        bounds=bounds,
        constraints=[{"type": "eq", "fun": lambda u: np.sum(u) - 1.0, "jac": lambda u: np.ones_like(u)}],
        options={"ftol": 1e-12, "maxiter": max_iterations},
    )
    x = project_capped_simplex(result.x, 1.0, costs.caps_shares / total_shares)[0] * total_shares
    return Allocation(x, math.nan, float(costs.objective_usd(x, total_shares)))


def differential_evolution_allocation(
    total_shares: float, costs: PeriodCosts, seed: int = 0, max_generations: int = 100, population_factor: int = 1
) -> Allocation:
    """scipy differential evolution (the brief's global method) with every candidate kept feasible.

    A candidate y in [0, min(cap, S)/S]^N is mapped to its Euclidean projection onto {sum u = 1, 0 <= u <= cap/S}
    (``project_capped_simplex``), so sum x = S holds exactly and the caps are respected; the start includes the
    capped uniform split. Fixed seed, population = population_factor x N, no polishing. At N = 390 this is slow
    and far from the optimum: it is offered only so users can compare.
    """
    check_feasible(total_shares, costs.caps_shares)
    u0, scale, _, _ = _scaled_problem(total_shares, costs)
    caps_u = costs.caps_shares / total_shares
    upper = np.minimum(caps_u, 1.0)
    open_ = upper > 0

    def on_open(y):  # y: (open periods, candidates) -> feasible u: (candidates, periods)
        y = y.reshape(int(open_.sum()), -1)
        full = np.zeros((y.shape[1], caps_u.size))
        full[:, open_] = y.T
        return project_capped_simplex(full, 1.0, caps_u)

    def vectorised(y):
        return costs.objective_usd(on_open(y) * total_shares, total_shares) / scale

    result = differential_evolution(
        vectorised,
        bounds=list(zip(np.zeros(open_.sum()), upper[open_], strict=True)),
        x0=u0[open_],
        seed=seed,
        maxiter=max_generations,
        popsize=population_factor,
        polish=False,
        vectorized=True,
        updating="deferred",
        tol=0.0,
    )
    x = on_open(np.asarray(result.x)[:, None])[0] * total_shares
    return Allocation(x, math.nan, float(costs.objective_usd(x, total_shares)))


def exact_allocation(total_shares: float, costs: PeriodCosts) -> Allocation:
    """The exact solution: water-filling (lambda = 0) or interior point (lambda > 0); the market's impact
    exponent is above 1, so the problem is convex."""
    p, mu = costs.exponent, costs.risk_weight_usd_per_share2
    if mu == 0:
        return waterfill(total_shares, costs.linear_usd_per_share, costs.coefficient, p, costs.caps_shares)
    return solve_with_risk(total_shares, costs.linear_usd_per_share, costs.coefficient, p, costs.caps_shares, mu)


def allocate(total_shares: float, costs: PeriodCosts, method: str = "waterfill") -> Allocation:
    """Solve the allocation with the chosen method (docs/MATH.md section 6)."""
    if method == "waterfill":
        return exact_allocation(total_shares, costs)
    if method == "slsqp":
        return slsqp_allocation(total_shares, costs)
    if method == "differential_evolution":
        return differential_evolution_allocation(total_shares, costs)
    raise ValueError(f"solver method must be one of {', '.join(METHODS)}, got {method!r}")


def value_at_risk_usd(trades_shares, total_shares: float, costs: PeriodCosts, permanent_usd: float = 0.0) -> float:
    """VaR of the cost (constants.VAR_CONFIDENCE): E + z sqrt(V), E = sum g_t + permanent cost (docs/MATH.md section 2;
    optexec.market.value_at_risk_usd)."""
    expected = float(costs.cost_usd(trades_shares)) + permanent_usd
    return market_model.value_at_risk_usd(expected, float(costs.variance_usd2(trades_shares, total_shares)))


def _with_risk(costs: PeriodCosts, risk_aversion_per_usd: float) -> PeriodCosts:
    return PeriodCosts(
        costs.linear_usd_per_share,
        costs.coefficient,
        costs.exponent,
        costs.caps_shares,
        risk_aversion_per_usd * costs.variance_weight_usd2_per_share2,
        costs.variance_weight_usd2_per_share2,
    )


def var_limited_allocation(
    total_shares: float,
    costs: PeriodCosts,
    var_limit_usd: float,
    risk_aversion_per_usd: float,
    permanent_usd: float = 0.0,
) -> tuple[Allocation, float]:
    """Minimise E + lambda V subject to E + z sqrt(V) <= limit (z of constants.VAR_CONFIDENCE); returns the
    allocation and the lambda used.

    The constraint is convex, so its KKT point is on the E-V frontier with a larger lambda' (the Lagrangian of
    E + lambda V + theta (E + z sqrt V) is a multiple of E + lambda' V). Along the frontier the VaR falls while
    lambda < z / (2 sqrt V(lambda)); the fixed point lambda* of that map gives the lowest VaR the model allows.
    If the VaR at lambda is within the limit it is kept; else lambda' in (lambda, lambda*] with VaR = limit is
    found by Brent's method; if even lambda* breaks the limit a ValueError says what the lowest VaR is.
    """
    z = constants.normal_quantile(constants.VAR_CONFIDENCE)

    def solve(lam: float) -> tuple[Allocation, float]:
        allocation = exact_allocation(total_shares, _with_risk(costs, lam))
        return allocation, value_at_risk_usd(allocation.trades_shares, total_shares, costs, permanent_usd)

    allocation, var = solve(risk_aversion_per_usd)
    if var <= var_limit_usd:
        return allocation, risk_aversion_per_usd
    lam = risk_aversion_per_usd
    best = (var, lam, allocation)
    for _ in range(200):  # lambda_{n+1} = z / (2 sqrt V(lambda_n)), increasing to the VaR-minimising lambda*
        sd = math.sqrt(max(float(costs.variance_usd2(allocation.trades_shares, total_shares)), 1e-300))
        new = z / (2.0 * sd)
        if new <= lam * (1 + 1e-6) or not math.isfinite(new):
            break
        lam = new
        allocation, var = solve(lam)
        best = min(best, (var, lam, allocation), key=lambda item: item[0])
        if var <= var_limit_usd:
            break
    if best[0] > var_limit_usd:
        raise ValueError(
            f"the {constants.VAR_CONFIDENCE:.0%} VaR limit of ${var_limit_usd:,.0f} cannot be met: the lowest VaR "
            f"(expected cost + {z:.3f} sd) "
            f"found along the cost-risk frontier under this cost model and caps is ${best[0]:,.0f}"
        )
    low, high = risk_aversion_per_usd, best[1]
    lam = brentq(lambda value: solve(value)[1] - var_limit_usd, low, high, xtol=1e-12 * high, rtol=1e-10)
    return solve(lam)[0], lam


def nonlinear(order: Order, market: MarketParams, params: NonlinearParams) -> Schedule:
    """Static nonlinear-impact schedule: min sum_t g_t(x_t) + lambda V under the caps (docs/MATH.md sections 0, 6), the
    costs being the market's separable parts (module docstring).

    When the participation caps hold less than the order, every slice is filled to its cap and the rest left to the
    last slice, with the warning of optexec.strategies.participation (the row says it cannot respect the limit);
    a maximum child order too small for the order raises ValueError. Warns when the VaR limit raised the risk
    aversion. With a VaR limit the exact solver is used whatever the method.
    """
    costs = period_costs(order, market, params)
    S = order.shares
    participation_caps = params.max_participation * np.maximum(slice_market_volume(order, market), 0.0)
    if params.max_child_order_shares is None and participation_caps.sum() < S * (1 - 1e-12):
        trades = participation_caps.copy()
        trades[-1] += S - trades.sum()
        schedule = Schedule.from_trades("nonlinear", order, market, trades, params.__dict__)
        return limit_participation(schedule, params.max_participation)
    check_feasible(S, costs.caps_shares)
    warnings: list[str] = []
    if params.var_limit_usd is not None:
        permanent = 0.5 * market.gamma_usd_per_share2 * S**2
        allocation, lam = var_limited_allocation(
            S, costs, params.var_limit_usd, params.risk_aversion_per_usd, permanent
        )
        if lam > params.risk_aversion_per_usd:
            warnings.append(
                f"the {constants.VAR_CONFIDENCE:.0%} VaR limit binds: risk aversion raised to {lam:.3g} per $"
            )
    else:
        allocation = allocate(S, _with_risk(costs, params.risk_aversion_per_usd), params.method)
    return Schedule.from_trades("nonlinear", order, market, allocation.trades_shares, params.__dict__, tuple(warnings))


class NonlinearPolicy:
    """Adaptive re-optimisation: re-solve the remainder every k slices, for many simulated paths at once.

    Call ``trades(slice_index, remaining_shares, realised_volume_shares)`` for slice_index = 0, 1, ..., N-1 in
    order (slice 0 resets the state). At every k-th slice the remaining shares of each path are re-allocated over
    the remaining slices and the plan is kept until the next re-optimisation. The last slice trades everything
    left. Without risk the batch is solved exactly (``waterfill_batch``); with risk the plan is interpolated
    between exact solutions on a grid of remaining sizes (convex combinations of feasible plans stay feasible).

    ``realised_volume_shares`` (optional, shape (slices done,) or (paths, slices done)) updates the volume
    forecast: the remaining expected volumes are scaled by realised / expected volume so far (clipped to
    [0.2, 5]). Without risk, paths are grouped into at most ``volume_groups`` quantile bins of that ratio and
    each bin gets one exactly solved plan (at the bin's mean ratio); with risk, all paths use the mean ratio.
    Without risk the volume level changes nothing while the caps hold the
    remainder: impact ~ 1/volume and caps ~ volume give x_t = min(theta v_t, child cap) at any level; it matters
    through the capacity and, with risk, through the impact-versus-risk balance. If a path's remainder exceeds
    the caps, the caps are filled and the excess is left to the last slice.
    """

    def __init__(
        self,
        order: Order,
        market: MarketParams,
        params: NonlinearParams,
        reoptimise_every_slices: int | None = None,
        risk_grid_points: int = 17,
        volume_groups: int = 12,
    ):
        if reoptimise_every_slices is None:  # from the parameters' interval in minutes
            slice_minutes = order.slice_days * market.session_minutes
            reoptimise_every_slices = max(1, round(params.reoptimise_every_minutes / slice_minutes))
        if isinstance(reoptimise_every_slices, bool) or not isinstance(reoptimise_every_slices, (int, np.integer)):
            raise ValueError("re-optimise every k slices: k must be a whole number")
        if reoptimise_every_slices < 1:
            raise ValueError(f"re-optimise every k slices: k must be >= 1, got {reoptimise_every_slices}")
        self.order, self.market, self.params = order, market, params
        self.every = int(reoptimise_every_slices)
        self.grid_points = int(risk_grid_points)
        self.volume_groups = int(volume_groups)
        self.expected_volume = slice_market_volume(order, market)
        self._plan: np.ndarray | None = None
        self._plan_start = 0

    def _volume_ratio(self, slice_index: int, realised, paths: int) -> np.ndarray:
        if realised is None or slice_index == 0:
            return np.ones(paths)
        realised = np.asarray(realised, dtype=float)
        done = realised.shape[-1]
        expected = self.expected_volume[:done].sum()
        got = realised.sum(axis=-1) if realised.ndim > 1 else np.full(paths, realised.sum())
        ratio = got / expected if expected > 0 else np.ones(paths)
        return np.clip(np.broadcast_to(ratio, (paths,)), 0.2, 5.0)

    def _solve(self, slice_index: int, remaining: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        volume = self.expected_volume[slice_index:]
        wanted = np.maximum(remaining, 0.0)
        plan = np.zeros((remaining.size, volume.size))
        risky = self.params.risk_aversion_per_usd > 0
        # paths in one quantile bin of the volume ratio share one forecast (the bin's mean ratio); with risk, one bin
        groups = np.zeros(remaining.size, int)
        if not risky and np.ptp(ratio) > 0:
            inner_edges = np.quantile(ratio, np.linspace(0.0, 1.0, self.volume_groups + 1)[1:-1])
            groups = np.searchsorted(inner_edges, ratio)
        for group in np.unique(groups):
            members = groups == group
            costs = period_costs(self.order, self.market, self.params, volume * ratio[members].mean())
            feasible = np.minimum(wanted[members], costs.caps_shares.sum())
            if risky:
                part = self._risk_plan(feasible, costs)
            else:
                part = waterfill_batch(
                    feasible, float(costs.linear_usd_per_share[0]), costs.coefficient, costs.exponent, costs.caps_shares
                )
            part[:, -1] += wanted[members] - feasible
            plan[members] = part
        return plan

    def _risk_plan(self, totals: np.ndarray, costs: PeriodCosts) -> np.ndarray:
        unique, inverse = np.unique(totals, return_inverse=True)
        if unique.size <= self.grid_points:  # few distinct remainders: solve each exactly
            return np.stack([exact_allocation(total, costs).trades_shares for total in unique])[inverse]
        grid = np.linspace(float(unique[0]), float(unique[-1]), self.grid_points)
        solved = np.stack([exact_allocation(total, costs).trades_shares for total in grid])
        position = np.clip(np.searchsorted(grid, totals, side="right") - 1, 0, grid.size - 2)
        weight = (totals - grid[position]) / (grid[position + 1] - grid[position])
        return (1 - weight)[:, None] * solved[position] + weight[:, None] * solved[position + 1]

    def trades(self, slice_index: int, remaining_shares, realised_volume_shares=None) -> np.ndarray:
        """Shares to trade in slice ``slice_index`` for each path (remaining_shares: array over paths)."""
        remaining = np.atleast_1d(np.asarray(remaining_shares, dtype=float))
        n = self.order.slices
        if not 0 <= slice_index < n:
            raise ValueError(f"slice index must be in 0..{n - 1}, got {slice_index}")
        if slice_index == n - 1:
            return np.maximum(remaining, 0.0)
        stale = self._plan is None or self._plan.shape[0] != remaining.size
        if slice_index % self.every == 0 or stale or slice_index < self._plan_start:
            ratio = self._volume_ratio(slice_index, realised_volume_shares, remaining.size)
            self._plan = self._solve(slice_index, remaining, ratio)
            self._plan_start = slice_index
        column = slice_index - self._plan_start
        plan = self._plan
        assert plan is not None  # a missing plan is stale: solved just above
        return np.clip(plan[:, column], 0.0, np.maximum(remaining, 0.0))


class NonlinearFeedback:
    """Adaptive re-optimisation of the nonlinear allocator (``NonlinearPolicy``) as the simulator's policy."""

    def __init__(self, order: Order, market: MarketParams, params: NonlinearParams) -> None:
        self.inner = NonlinearPolicy(order, market, params)

    def decide(self, state: StepState) -> Decision:
        """The re-optimised plan's trade for this slice, given the volume realised so far."""
        trades = self.inner.trades(state.step, state.remaining_shares, state.realised_volume_shares)
        return Decision(np.broadcast_to(trades, state.remaining_shares.shape))


def nonlinear_policy(order: Order, market: MarketParams, params: NonlinearParams) -> NonlinearFeedback:
    """Feedback policy of the nonlinear allocator."""
    return NonlinearFeedback(order, market, params)


STRATEGIES = [
    Strategy(
        "nonlinear",
        "Nonlinear impact (KKT)",
        NonlinearParams,
        nonlinear,
        "Splits the order to minimise the market's per-slice costs (power-law or linear impact) under "
        "participation caps, "
        "solved exactly by water-filling; optional risk aversion or a 95% VaR limit.",
        policy=nonlinear_policy,
        optimises=optimises,
    ),
]
