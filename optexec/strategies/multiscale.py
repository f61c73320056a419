"""Multiscale stochastic-volatility strategy of Chan–Sircar–Zimbidis (docs/MATH.md section 0 and 1).

Gârleanu–Pedersen trading with a return signal x, persistent impact l (dl = (lambda u - beta l) dt) and a
volatility driven by a fast factor y and a slow factor z. Two layers:

* ``MultiscaleModel`` and ``core_policy``: the infinite-horizon portfolio problem in the dimensionless units
  of the project brief (docs/MATH.md section 0 defaults): Riccati solution with its guard (1.3), speed and aim (1.4),
  small-impact expansion beside the exact solution (1.5), fast correction (1.6), slow correction (1.7), the
  half-step rule and the brief's guards.
* ``MultiscaleParams``, ``MultiscalePolicy`` and ``multiscale``: the execution of a real order over a finite
  horizon ending flat (Riccati ODE with q(T) = 0, see ``riccati.finite_horizon``); the strategy in the registry.

Mapping of an order into the model (holdings coordinates: q = shares still to trade, >= 0, for buys and sells;
x > 0 means the price drifts in favour of waiting; l < 0 means impact has moved the price against the order):

* K = 2 eta (eta = ``MarketParams.eta_usd_day_per_share2``): (K/2) u^2 = eta u^2 is the AC temporary cost rate;
* gamma = 2 lambda_AC (``risk_aversion_per_usd``): (gamma/2) sigma^2 q^2 = lambda_AC sigma^2 q^2 is AC's risk
  charge, so with lambda = beta = 0, no signal and constant volatility the plan is continuous Almgren–Chriss;
* sigma^2 = ``sigma_usd_per_sqrt_day``^2, time in trading days;
* persistent impact: lambda = theta x ``persistent_impact_gain_per_day`` x K ($/share per share) and
  beta = theta x ``persistent_impact_decay_per_day`` (per day). The brief's defaults (K = 1, lambda = beta = 0.1,
  theta = 0.1) are dimensionless with K as the cost unit and a time unit close to a trading day (its
  gamma sigma^2 / K = 0.2 per day^2 is of the order of AC Table 1's kappa^2 = 0.37): reading lambda/K and beta as
  per-day rates carries them over unchanged. Steady-state persistent impact at a constant rate v is then
  (gain/decay) x 2 eta v, built up over 1/beta = 100 days at the defaults, i.e. close to permanent impact;
* the fast variance y and the slow variance z are in ($/share)^2 per day with long-run level
  mu = sigma^2 of the market; the current variance is y + z - mu (z = the slow level, y - mu the fast wiggle).
  The Riccati solution is computed at sigma^2 = mu; y enters through the fast correction (section 1.6) and
  the half-step rule, z through the slow correction (section 1.7, finite-horizon version
  ``riccati.finite_horizon_slow_b``, g(z) = nu_z z) and the half-step rule.

Departures from the brief, on purpose: rho defaults to 0 for an order (see ``MultiscaleParams``); the brief's
rate guard 2|gap|/K and its [-1, 1] capacity clip are dimensionless and only used by ``core_policy``; for an
order the policy instead finishes the remainder in the last decision step so the order always ends flat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optexec.models import (
    MarketParams,
    Order,
    Schedule,
    check_correlation,
    check_finite,
    check_non_negative,
    check_positive,
)
from optexec.strategies.base import Decision, StepState, Strategy, param, shared
from optexec.strategies.participation import check_max_participation, limit_participation
from optexec.strategies.riccati import (
    ExpansionResult,
    FiniteHorizonSolution,
    LQProblem,
    StationarySolution,
    finite_horizon,
    finite_horizon_slow_b,
    slow_correction_b,
    small_impact_expansion,
    solve_care,
)

SMALL_IMPACT_THETA_MAX = 0.2
MIN_GRID_STEPS = 2000


def check_theta(value: float) -> float:
    """The small-impact scale theta must lie in [0, 0.2) (the brief's guard, docs/MATH.md section 0 and 1.5)."""
    value = check_finite("θ (small-impact scale)", value)
    if not 0 <= value < SMALL_IMPACT_THETA_MAX:
        raise ValueError(
            f"θ must be below {SMALL_IMPACT_THETA_MAX} (and >= 0) for the small-impact approximation to hold, "
            f"got {value:g}"
        )
    return value


def fast_correction_per_share(
    y: np.ndarray, mu: float, epsilon: float, gamma: float, fast_mean_reversion: float, cost_k: float
) -> np.ndarray:
    """Change of the trading rate per share held, -eps gamma (y - mu) / (theta_f K) (docs/MATH.md section 1.6).

    theta_f is the fast factor's own mean-reversion rate (never the small-impact theta); y and mu are variances.
    """
    return -epsilon * gamma * (np.asarray(y, dtype=float) - mu) / (fast_mean_reversion * cost_k)


def half_step_factor(current_variance: np.ndarray, long_run_variance: float, threshold: float) -> np.ndarray:
    """0.5 where current vol > threshold x long-run vol, else 1 (the brief's half-step rule, docs/MATH.md section 0)."""
    # vol > h sqrt(mu)  <=>  variance > h^2 mu (both sides non-negative); no square root per path
    return np.where(np.asarray(current_variance, dtype=float) > threshold**2 * long_run_variance, 0.5, 1.0)


# --------------------------------------------------------------------------------------------------------------
# Infinite-horizon core in the brief's dimensionless units (docs/MATH.md section 0, 1.3-1.7)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiscaleModel:
    """The brief's infinite-horizon multiscale model, dimensionless, with the docs/MATH.md section 0 defaults.

    The impact actually used is (theta lambda, theta beta) (docs/MATH.md section 0 "small impact").
    ``long_run_variance`` mu = 0.2^2: the brief's "mu_vol = 0.2" is a vol level (docs/MATH.md section 1.8).
    The slow factor's vol is g(z) = slow_vol_of_vol x z; ``slow_correlation`` is rho_xz between the signal
    noise and the slow factor (not given by the brief: 0, i.e. no slow correction, by default).
    ``capacity`` is the position limit the target is clipped to (the brief's "[-1, 1] of capacity").
    """

    cost_k: float = 1.0
    impact_gain_lambda: float = 0.1
    impact_decay_beta: float = 0.1
    risk_aversion_gamma: float = 5.0
    discount_rate_rho: float = 0.2
    signal_mean_reversion_kappa: float = 1.0
    signal_vol_eta: float = 1.0
    long_run_variance: float = 0.04
    fast_scale_epsilon: float = 0.1
    fast_mean_reversion: float = 1.0
    slow_scale_delta: float = 0.5
    slow_correlation: float = 0.0
    slow_vol_of_vol: float = 1.0
    small_impact_theta: float = 0.1
    half_step_threshold: float = 1.2
    capacity: float = 1.0

    def __post_init__(self) -> None:
        check_theta(self.small_impact_theta)
        for name in (
            "impact_gain_lambda",
            "impact_decay_beta",
            "risk_aversion_gamma",
            "signal_vol_eta",
            "long_run_variance",
            "slow_scale_delta",
            "slow_vol_of_vol",
            "signal_mean_reversion_kappa",
        ):
            check_non_negative(name.replace("_", " "), getattr(self, name))
        for name in (
            "cost_k",
            "discount_rate_rho",
            "fast_scale_epsilon",
            "fast_mean_reversion",
            "half_step_threshold",
            "capacity",
        ):
            check_positive(name.replace("_", " "), getattr(self, name))
        check_correlation("slow correlation", self.slow_correlation)

    def nominal_problem(self) -> LQProblem:
        """The LQ problem with the nominal (unscaled) lambda, beta at the long-run variance."""
        return LQProblem(
            self.cost_k,
            self.impact_gain_lambda,
            self.impact_decay_beta,
            self.risk_aversion_gamma,
            self.long_run_variance,
            self.discount_rate_rho,
            self.signal_mean_reversion_kappa,
        )

    def problem(self) -> LQProblem:
        """The LQ problem actually solved: impact (theta lambda, theta beta) (docs/MATH.md section 0 and 1.5)."""
        theta = self.small_impact_theta
        return LQProblem(
            self.cost_k,
            theta * self.impact_gain_lambda,
            theta * self.impact_decay_beta,
            self.risk_aversion_gamma,
            self.long_run_variance,
            self.discount_rate_rho,
            self.signal_mean_reversion_kappa,
        )


@dataclass(frozen=True)
class CoreSolution:
    """Everything the core policy needs: the exact solution, the expansion and the slow-correction b per unit c_z."""

    model: MultiscaleModel
    exact: StationarySolution
    expansion: ExpansionResult
    slow_b_per_unit_cz: float = field(default=0.0)


def solve_core(model: MultiscaleModel) -> CoreSolution:
    """Solve the infinite-horizon core: Riccati with guard (1.3), expansion (1.5), slow b per unit c_z (1.7).

    Raises ValueError with a plain message if the problem is ill-posed.
    """
    exact = solve_care(model.problem())
    expansion = small_impact_expansion(model.nominal_problem(), model.small_impact_theta)
    return CoreSolution(model, exact, expansion, slow_correction_b(exact, 1.0))


def core_policy(solution: CoreSolution, q, l, x, y, z) -> np.ndarray:
    """Trading rate u* of the infinite-horizon core with all corrections and guards (docs/MATH.md section 0, 1.4-1.7).

    Before the guards, u = speed (aim - q) + sqrt(delta) b(z)/K - eps gamma (y - mu) q/(theta_f K): the base
    policy (1.4), the slow correction (1.7, c_z = rho_xz eta g(z), g(z) = slow_vol_of_vol z) and the fast
    correction (1.6). Written as u = speed_total (target - q) with speed_total = speed + eps gamma (y - mu)/
    (theta_f K), the guards then apply: target = 0 if |K speed_total| < 1e-6; target clipped to [-capacity,
    capacity]; speed_total halved when sqrt(y + z - mu) > h sqrt(mu) (half-step rule); |u| <= 2|gap|/K;
    |u| <= 2 capacity per unit time (turnover cap 200%). Arrays broadcast over paths.
    """
    m, exact = solution.model, solution.exact
    q, l, x, y, z = (np.asarray(v, dtype=float) for v in (q, l, x, y, z))
    c_z = m.slow_correlation * m.signal_vol_eta * m.slow_vol_of_vol * z
    slow_rate = math.sqrt(m.slow_scale_delta) * solution.slow_b_per_unit_cz * c_z / m.cost_k
    rate_at_zero = exact.gain[1] * l + exact.gain[2] * x + slow_rate
    speed = exact.speed - fast_correction_per_share(
        y, m.long_run_variance, m.fast_scale_epsilon, m.risk_aversion_gamma, m.fast_mean_reversion, m.cost_k
    )
    denominator = m.cost_k * speed
    tiny = np.abs(denominator) < 1e-6
    target = np.where(tiny, 0.0, m.cost_k * rate_at_zero / np.where(tiny, 1.0, denominator))
    target = np.minimum(np.maximum(target, -m.capacity), m.capacity)
    speed = speed * half_step_factor(y + z - m.long_run_variance, m.long_run_variance, m.half_step_threshold)
    gap = target - q
    gap_cap = 2.0 * np.abs(gap) / m.cost_k
    rate = np.minimum(np.maximum(speed * gap, -gap_cap), gap_cap)
    return np.minimum(np.maximum(rate, -2.0 * m.capacity), 2.0 * m.capacity)


# --------------------------------------------------------------------------------------------------------------
# Finite-horizon execution of an order (the registry strategy)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiscaleParams:
    """Parameters of the multiscale execution strategy (units in the names; see the module docstring).

    risk_aversion_per_usd : lambda_AC of Almgren–Chriss (gamma = 2 lambda_AC), per $.
    small_impact_theta : theta in [0, 0.2): persistent impact is (theta x gain, theta x decay) (docs/MATH.md section 0).
    persistent_impact_gain_per_day : nominal lambda / K, per day (the brief's lambda = 0.1 with K = 1).
    persistent_impact_decay_per_day : nominal beta, per day (the brief's beta = 0.1).
    discount_rate_per_day : rho; 0 for execution (the brief's rho = 0.2 belongs to the infinite-horizon core,
        and with rho > 0 the mark-to-market impact term can reward building the position up).
    signal_usd_per_day : starting value of the return signal as a price drift, $/share/day (+ = price rises);
        off (0) by default. It decays at ``signal_mean_reversion_per_day`` (kappa, brief default 1).
    signal_vol_usd_per_day_per_sqrt_day : eta, the signal's noise (0 = signal off; only the slow correction and
        a simulator use it).
    fast_scale_epsilon : epsilon of the fast vol factor (brief default 0.1).
    fast_mean_reversion_per_day : theta_f of the fast factor, whose drift is (theta_f/eps)(mu - y) (default 1).
    current_vol_ratio : current volatility / long-run volatility at the start (1 = normal); sets y(0).
    half_step_threshold : h; the rate is halved while the current vol exceeds h x the long-run vol (default 1.2).
    slow_scale_delta : delta of the slow vol factor (brief default 0.5).
    slow_correlation : rho_xz between the signal noise and the slow factor, in [-1, 1]; 0 (default) = no
        slow correction (the brief gives no value).
    slow_vol_of_vol_per_sqrt_day : nu_z in g(z) = nu_z z, the slow factor's volatility.
    max_participation : the shared participation limit: the expected schedule is capped by it afterwards.
    """

    risk_aversion_per_usd: float = shared("risk_aversion_per_usd")
    small_impact_theta: float = param(
        0.1,
        "Small-impact θ",
        min_value=0.0,
        max_value=0.3,
        step=0.01,
        sidebar=True,
        help="Scales persistent impact λ and decay β (multiscale); must stay below 0.2.",
    )
    persistent_impact_gain_per_day: float = param(0.1, "Persistent impact gain", "1/day", min_value=0.0)
    persistent_impact_decay_per_day: float = param(0.1, "Persistent impact decay", "1/day", min_value=0.0)
    discount_rate_per_day: float = param(0.0, "Discount rate", "1/day", min_value=0.0)
    signal_usd_per_day: float = param(0.0, "Signal", "$/day")
    signal_mean_reversion_per_day: float = param(1.0, "Signal mean reversion", "1/day", min_value=0.0)
    signal_vol_usd_per_day_per_sqrt_day: float = param(0.0, "Signal vol", "$/day/√day", min_value=0.0)
    fast_scale_epsilon: float = param(
        0.1,
        "Fast-vol scale ε",
        min_value=0.01,
        max_value=1.0,
        step=0.01,
        sidebar=True,
        help="Time scale of the fast vol factor: how fast a current vol away from its long-run level relaxes. "
        "Moves the multiscale plan only when 'Current vol / long-run vol' is not 1.",
    )
    fast_mean_reversion_per_day: float = param(1.0, "Fast mean reversion", "1/day", min_value=0.0)
    current_vol_ratio: float = param(
        1.0,
        "Current vol / long-run vol",
        min_value=0.25,
        max_value=3.0,
        step=0.05,
        sidebar=True,
        help="Where the fast vol factor starts (1 = normal).",
    )
    half_step_threshold: float = param(
        1.2,
        "Half-step threshold h",
        min_value=1.0,
        max_value=3.0,
        step=0.05,
        sidebar=True,
        help="Trading speed halves while current vol > h × long-run vol.",
    )
    slow_scale_delta: float = param(
        0.5,
        "Slow-vol scale δ",
        min_value=0.0,
        max_value=1.0,
        step=0.05,
        sidebar=True,
        help="Time scale of the slow vol factor. Moves the multiscale plan only with a return signal correlated "
        "with slow vol (Strategy settings: slow correlation, signal vol).",
    )
    slow_correlation: float = param(0.0, "Slow correlation", min_value=-1.0, max_value=1.0)
    slow_vol_of_vol_per_sqrt_day: float = param(0.1, "Slow vol of vol", "1/√day", min_value=0.0)
    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)
        check_max_participation(self.max_participation)
        check_theta(self.small_impact_theta)
        check_non_negative("persistent impact gain (per day)", self.persistent_impact_gain_per_day)
        check_non_negative("persistent impact decay (per day)", self.persistent_impact_decay_per_day)
        check_non_negative("discount rate (per day)", self.discount_rate_per_day)
        check_finite("signal ($/share/day)", self.signal_usd_per_day)
        check_non_negative("signal mean reversion (per day)", self.signal_mean_reversion_per_day)
        check_non_negative("signal volatility", self.signal_vol_usd_per_day_per_sqrt_day)
        check_positive("fast-scale epsilon", self.fast_scale_epsilon)
        check_positive("fast-factor mean reversion (per day)", self.fast_mean_reversion_per_day)
        check_positive("current vol / long-run vol", self.current_vol_ratio)
        check_positive("half-step threshold", self.half_step_threshold)
        check_non_negative("slow-scale delta", self.slow_scale_delta)
        check_correlation("slow correlation", self.slow_correlation)
        check_non_negative("slow vol of vol (per √day)", self.slow_vol_of_vol_per_sqrt_day)

    @property
    def slow_correction_on(self) -> bool:
        """True when the slow correction is not identically zero (needs delta, rho_xz, eta and nu_z all nonzero)."""
        return (
            self.slow_scale_delta
            * self.slow_correlation
            * self.signal_vol_usd_per_day_per_sqrt_day
            * self.slow_vol_of_vol_per_sqrt_day
        ) != 0


def order_problem(order: Order, market: MarketParams, params: MultiscaleParams) -> LQProblem:
    """The order's LQ problem in shares, $ and days: K = 2 eta, gamma = 2 lambda_AC, sigma^2 (module docstring)."""
    cost_k = 2.0 * market.eta_usd_day_per_share2
    theta = params.small_impact_theta
    return LQProblem(
        cost_k=cost_k,
        impact_gain=theta * params.persistent_impact_gain_per_day * cost_k,
        impact_decay=theta * params.persistent_impact_decay_per_day,
        risk_aversion=2.0 * params.risk_aversion_per_usd,
        variance=market.sigma_usd_per_sqrt_day**2,
        discount_rate=params.discount_rate_per_day,
        signal_mean_reversion=params.signal_mean_reversion_per_day,
    )


def _grid_steps(order: Order) -> int:
    """Fine grid steps: a multiple of the slices with at least MIN_GRID_STEPS steps."""
    return order.slices * max(1, math.ceil(MIN_GRID_STEPS / order.slices))


class MultiscalePolicy:
    """Feedback policy u*(t, q, l, x, y, z) of the finite-horizon multiscale execution (docs/MATH.md section 1.3-1.7).

    dq/dt = (F_q(t) + fast(y)) q + F_l(t) l + F_x(t) x + sqrt(delta) c_z(z) b(t)/K, halved by the half-step
    rule, where F is the finite-horizon Riccati gain (q(T) = 0), fast(y) = -eps gamma (y - mu)/(theta_f K)
    (section 1.6) and b(t) the finite-horizon slow correction (section 1.7, c_z = rho_xz eta nu_z z).
    Everything is precomputed on a fine uniform grid; a decision interpolates the gains linearly, so one
    decision over 10,000 paths is a few numpy operations. Within the last decision step (length
    ``decision_step_days``, default one slice) the rule is "finish": trade q/(T - t) so the order ends flat;
    the half-step rule never applies there.
    """

    def __init__(
        self, order: Order, market: MarketParams, params: MultiscaleParams, decision_step_days: float | None = None
    ) -> None:
        self.order, self.market, self.params = order, market, params
        self.problem = order_problem(order, market, params)
        self.horizon_days = order.horizon_days
        self.decision_step_days = check_positive(
            "decision step (days)", order.slice_days if decision_step_days is None else decision_step_days
        )
        self.long_run_variance = self.problem.variance
        self.solution: FiniteHorizonSolution = finite_horizon(self.problem, order.horizon_days, _grid_steps(order))
        self._step = float(self.solution.times[1])
        self._slow_b = (
            finite_horizon_slow_b(self.solution) if params.slow_correction_on else np.zeros(self.solution.times.size)
        )

    @property
    def initial_fast_variance(self) -> float:
        """y(0) = (current vol ratio)^2 x mu, in ($/share)^2 per day."""
        return self.params.current_vol_ratio**2 * self.long_run_variance

    @property
    def favourable_signal_usd_per_day(self) -> float:
        """x(0) in holdings coordinates: the signal for a sell, minus it for a buy (+ = waiting pays)."""
        return -self.order.side_sign * self.params.signal_usd_per_day

    def _interpolate(self, t: np.ndarray, *tables: np.ndarray) -> list[np.ndarray]:
        position = np.clip(t, 0.0, self.horizon_days) / self._step
        index = np.minimum(position.astype(int), self.solution.times.size - 2)
        weight = position - index
        return [(1.0 - weight) * values[index] + weight * values[index + 1] for values in tables]

    def base_gains(self, t_days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Riccati feedback gains (on q, l, x) of dq/dt at times t, without the vol corrections."""
        t = np.asarray(t_days, dtype=float)
        sol = self.solution
        scaled_q, gain_l, gain_x = self._interpolate(t, sol.gain_q_scaled, sol.gain_l, sol.gain_x)
        remaining = np.maximum(self.horizon_days - t, 1e-12 * self.horizon_days)
        return scaled_q / remaining, gain_l, gain_x

    def rate_shares_per_day(self, t_days, q, l, x, y, z) -> np.ndarray:
        """Execution rate in shares/day (+ = trading the order down), vectorised over paths.

        Parameters
        ----------
        t_days : time since the start, days (scalar or array broadcasting with the states).
        q : shares still to trade. l : impact, $/share (< 0 = against the order).
        x : signal, $/share/day (+ = waiting pays). y : fast variance, z : slow variance, ($/share)^2/day;
            both at their long-run level mu = sigma^2 in normal conditions; current variance = y + z - mu.
        """
        q, l, x, y, z = (np.asarray(v, dtype=float) for v in (q, l, x, y, z))
        t = np.asarray(t_days, dtype=float)
        mu, p, problem = self.long_run_variance, self.params, self.problem
        gain_q, gain_l, gain_x = self.base_gains(t)
        fast = fast_correction_per_share(
            y, mu, p.fast_scale_epsilon, problem.risk_aversion, p.fast_mean_reversion_per_day, problem.cost_k
        )
        dq_dt = (gain_q + fast) * q + gain_l * l + gain_x * x
        if p.slow_correction_on:
            (slow_b,) = self._interpolate(t, self._slow_b)
            # c_z = rho_xz eta g(z) (docs/MATH.md 1.7) for the signal in holdings coordinates, which is -side x the
            # price-terms signal that slow_correlation refers to: a buy flips the correlation's sign
            correlation = -self.order.side_sign * p.slow_correlation
            c_z = correlation * p.signal_vol_usd_per_day_per_sqrt_day * p.slow_vol_of_vol_per_sqrt_day * z
            dq_dt = dq_dt + math.sqrt(p.slow_scale_delta) * c_z * slow_b / problem.cost_k
        if mu > 0:
            dq_dt = dq_dt * half_step_factor(y + z - mu, mu, p.half_step_threshold)
        remaining = self.horizon_days - t
        finishing = remaining <= self.decision_step_days * (1.0 + 1e-9)
        finish_rate = -q / np.maximum(remaining, 1e-12 * self.horizon_days)
        return -np.where(finishing, finish_rate, dq_dt)


def expected_path(policy: MultiscalePolicy) -> dict[str, np.ndarray]:
    """Expected states on the fine grid: times, q, l, x, y (docs/MATH.md section 1.3-1.7, certainty equivalence).

    Without vol corrections (current vol = long-run, no slow correction) this is the exact closed-loop
    solution of the Riccati problem. Otherwise the policy is stepped on the fine grid with
    y(t) = E[y_t] = mu + (y0 - mu) e^{-theta_f t / eps}, z = mu, u held over each step and l, x updated exactly
    (docs/MATH.md section 1.3 simulation tip): an O(step) approximation.
    """
    sol = policy.solution
    times = sol.times
    mu, p = policy.long_run_variance, policy.params
    decay = np.exp(-p.fast_mean_reversion_per_day * times / p.fast_scale_epsilon)
    y = mu + (policy.initial_fast_variance - mu) * decay
    state0 = np.array([policy.order.shares, 0.0, policy.favourable_signal_usd_per_day])
    if p.current_vol_ratio == 1.0 and not p.slow_correction_on:
        path = sol.trajectory(state0)
        return {"times": times, "q": path[:, 0], "l": path[:, 1], "x": path[:, 2], "y": y}
    return stepped_path(policy, state0, y)


def stepped_path(policy: MultiscalePolicy, state0: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Deterministic path of the policy stepped on its fine grid (u held per step, l and x updated exactly)."""
    problem, times = policy.problem, policy.solution.times
    step, mu = float(times[1]), policy.long_run_variance
    lam, beta, kappa = problem.impact_gain, problem.impact_decay, problem.signal_mean_reversion
    impact_hold = step if beta == 0 else -math.expm1(-beta * step) / beta
    q, l, x = (np.empty(times.size) for _ in range(3))
    q[0], l[0], x[0] = state0
    for k in range(times.size - 1):
        u = -float(policy.rate_shares_per_day(times[k], q[k], l[k], x[k], y[k], mu))
        q[k + 1] = q[k] + u * step
        l[k + 1] = math.exp(-beta * step) * l[k] + lam * u * impact_hold
        x[k + 1] = math.exp(-kappa * step) * x[k]
    return {"times": times, "q": q, "l": l, "x": x, "y": y}


def multiscale(order: Order, market: MarketParams, params: MultiscaleParams) -> Schedule:
    """Expected trajectory of the multiscale strategy on the order's slices (docs/MATH.md section 1, finite horizon).

    Solves the finite-horizon Riccati problem ending flat, takes the expected closed-loop holdings at the
    slice boundaries and returns them as a Schedule, with warnings a trader should read.
    """
    return planned_schedule(MultiscalePolicy(order, market, params))


def planned_schedule(policy: MultiscalePolicy) -> Schedule:
    """The policy's expected holdings at the slice boundaries as a Schedule, capped by the participation limit
    (``multiscale``)."""
    order, params = policy.order, policy.params
    path = expected_path(policy)
    stride = (path["times"].size - 1) // order.slices
    holdings = np.array(path["q"][::stride], dtype=float)
    holdings[0], holdings[-1] = order.shares, 0.0
    warnings = []
    if np.any(holdings < -1e-9 * order.shares) or np.any(np.diff(holdings) > 1e-9 * order.shares):
        warnings.append(
            "this schedule trades against the order at times (a strong signal, or a discount rate "
            "that rewards holding the position)"
        )
    if params.current_vol_ratio > params.half_step_threshold:
        warnings.append(
            f"volatility starts at {params.current_vol_ratio:.2f}x its long-run level, above the half-step threshold "
            f"{params.half_step_threshold:g}: the plan trades at half speed until it calms down (the model's guard; "
            "the fast-factor correction alone would trade faster when volatility is high)"
        )
    schedule = Schedule.from_trades(
        "multiscale", order, policy.market, holdings[:-1] - holdings[1:], params.__dict__, tuple(warnings)
    )
    return limit_participation(schedule, params.max_participation)


class MultiscaleFeedback:
    """The simulator's policy of this strategy: the planned schedule (``multiscale``, participation limit
    included) plus the multiscale rate's reaction to what the path shows (docs/MATH.md section 11, the simulator).

    Child order k = n_k + tau [u*(t_k, q, l, x, y, z) - u*(t_k, q_k, l_k, x_k, y_k, mu)], at most the remainder:
    n_k and q_k are the planned child order and holdings, (l_k, x_k, y_k) the states the plan expects at t_k
    (the strategy's own persistent impact built by the planned trades, the signal it was given decaying at its
    mean reversion, the expected fast variance), and (q, l, x, y, z) the path's: the shares left, the persistent
    impact its own trades built (dl = (lambda u - beta l) dt, the strategy's model, stepped exactly per slice),
    the path's signal and volatility factors. Where the path is what the plan expects (constant volatility at its
    long-run level, the planned signal) the correction is 0 and the policy trades the planned schedule, the one the
    plan prices and recommends; the rate u* alone (without the participation limit, and on the slice grid instead of
    the plan's fine one) traded a different, faster schedule.
    """

    def __init__(self, order: Order, market: MarketParams, params: MultiscaleParams) -> None:
        self.inner = MultiscalePolicy(order, market, params)
        self.sign = order.side_sign
        self.schedule = planned_schedule(self.inner)
        problem, tau = self.inner.problem, order.slice_days
        beta = problem.impact_decay
        self._impact_decay = math.exp(-beta * tau)
        self._impact_hold = tau if beta == 0 else -math.expm1(-beta * tau) / beta
        self._impact_gain = problem.impact_gain
        trades = self.schedule.trades_shares
        planned_impact = np.zeros(order.slices)
        for k in range(1, order.slices):
            planned_impact[k] = self._next_impact(planned_impact[k - 1], trades[k - 1], tau)
        times = order.times_days[:-1]
        mu, p = self.inner.long_run_variance, params
        fast = mu + (self.inner.initial_fast_variance - mu) * np.exp(
            -p.fast_mean_reversion_per_day * times / p.fast_scale_epsilon
        )
        signal = self.inner.favourable_signal_usd_per_day * np.exp(-p.signal_mean_reversion_per_day * times)
        holdings = self.schedule.holdings_shares[:-1]
        self._planned_rate = np.array(
            [
                float(self.inner.rate_shares_per_day(t, q, l, x, y, mu))
                for t, q, l, x, y in zip(times, holdings, planned_impact, signal, fast, strict=True)
            ]
        )
        self._impact: np.ndarray | None = None

    def _next_impact(self, impact, traded_shares, slice_days: float):
        """l after a slice that traded ``traded_shares`` at a constant rate (holdings coordinates: l < 0)."""
        rate = -np.asarray(traded_shares, dtype=float) / slice_days  # dq/dt
        return self._impact_decay * impact + self._impact_gain * rate * self._impact_hold

    def decide(self, state: StepState) -> Decision:
        """The planned child order plus tau x (the path's rate - the planned rate), at most the remainder."""
        k = state.step
        if k == 0 or self._impact is None:
            self._impact = np.zeros_like(np.asarray(state.remaining_shares, dtype=float))
        rate = self.inner.rate_shares_per_day(
            state.t_days,
            state.remaining_shares,
            self._impact,
            -self.sign * state.signal_usd_per_day,  # + = waiting pays
            state.fast_variance,
            state.slow_variance,
        )
        shares = self.schedule.trades_shares[k] + (rate - self._planned_rate[k]) * state.slice_days
        shares = np.minimum(shares, state.remaining_shares)
        self._impact = self._next_impact(self._impact, shares, state.slice_days)
        return Decision(shares)


def multiscale_policy(order: Order, market: MarketParams, params: MultiscaleParams) -> MultiscaleFeedback:
    """Feedback policy of the multiscale strategy."""
    return MultiscaleFeedback(order, market, params)


STRATEGIES = [
    Strategy(
        "multiscale",
        "Multiscale stochastic vol",
        MultiscaleParams,
        multiscale,
        "Gârleanu–Pedersen execution with persistent impact, a return signal and fast/slow volatility "
        "corrections (Chan–Sircar–Zimbidis); ends flat over the horizon.",
        policy=multiscale_policy,
        optimises="linear temporary impact (eta) with its own persistent impact, signal and volatility factors "
        "(Gârleanu–Pedersen), not the market's spread, permanent or transient parts",
    ),
]
