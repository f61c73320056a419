"""Exact solvers for the static allocation min sum_t g_t(x_t), sum_t x_t = S, 0 <= x_t <= cap_t (docs/MATH.md §6).

Every period's cost is g_t(x) = a_t x + c_t x^p ($), with a_t the linear cost ($/share), c_t > 0 the impact
coefficient ($/share^p) and one exponent p for all periods:

- linear + quadratic (docs/MATH.md section 6, first bullet): p = 2, c_t = b_t;
- power law (second bullet): a_t = 0;
- linear + power (third bullet): both.

``waterfill`` solves the convex case p > 1 exactly from the KKT conditions: x_t(nu) = clip((g_t')^-1(nu), 0, cap_t)
is nondecreasing in the multiplier nu, so the sorted breakpoints of sum_t x_t(nu) are searched for the segment
holding S and nu is solved inside it in closed form (p = 2, or a_t equal on the segment) or by safeguarded Newton.
``waterfill_batch`` solves many totals at once when a_t is one number (the market mapping always gives that):
then sum_t x_t is piecewise linear in u = (nu - a)^(1/(p-1)), which makes the batch exact and O(N log N + P N).
``solve_with_risk`` adds the Almgren–Chriss risk term mu sum_k m_k h_k^2 of the holdings h_k (docs/MATH.md section 2's
V); the problem is then not separable, and it is solved by a log-barrier interior-point method with Newton steps in
the holdings, whose Hessian is tridiagonal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded


@dataclass(frozen=True)
class Allocation:
    """A solved allocation.

    Attributes
    ----------
    trades_shares : x_t, shares traded in each period (sums to the total).
    multiplier_usd_per_share : nu, the marginal cost of one more share at the optimum (KKT multiplier); NaN when
        the solver has no single multiplier (risk term, vertex heuristic).
    cost_usd : sum_t g_t(x_t) (plus the risk term when there is one).
    """

    trades_shares: np.ndarray
    multiplier_usd_per_share: float
    cost_usd: float


def _as_arrays(linear, coefficient, caps, n: int | None = None):
    coefficient = np.atleast_1d(np.asarray(coefficient, dtype=float))
    n = coefficient.size if n is None else n
    coefficient = np.broadcast_to(coefficient, (n,)).astype(float)
    linear = np.broadcast_to(np.asarray(linear, dtype=float), (n,)).astype(float)
    caps = np.full(n, np.inf) if caps is None else np.broadcast_to(np.asarray(caps, dtype=float), (n,)).astype(float)
    return linear, coefficient, caps


def separable_cost_usd(trades_shares, linear, coefficient, exponent: float) -> np.ndarray:
    """sum_t a_t x_t + c_t x_t^p over the last axis (docs/MATH.md section 6); works on (N,) or (paths, N) arrays."""
    x = np.asarray(trades_shares, dtype=float)
    power = np.abs(x) ** exponent
    return np.sum(np.asarray(linear) * x + np.asarray(coefficient) * power, axis=-1)


def risk_term_usd(trades_shares, total_shares: float, risk_weight_usd_per_share2: float) -> np.ndarray:
    """mu sum_{k=1}^{N} h_k^2 with h_k = S - (x_1 + ... + x_k) the holdings after period k (docs/MATH.md §2, eq 5).

    With mu = lambda sigma^2 tau this is lambda V of Almgren–Chriss.
    """
    x = np.asarray(trades_shares, dtype=float)
    holdings = total_shares - np.cumsum(x, axis=-1)
    return risk_weight_usd_per_share2 * np.sum(holdings**2, axis=-1)


def check_feasible(total_shares: float, caps_shares: np.ndarray) -> None:
    """ValueError saying how much can be traded when the caps hold less than the order."""
    capacity = float(np.sum(caps_shares))
    if capacity < total_shares * (1.0 - 1e-12):
        raise ValueError(
            f"the order cannot be completed under the caps: they allow at most {capacity:,.0f} shares in this "
            f"horizon but the order is {total_shares:,.0f} shares; raise the participation cap or the maximum "
            "child order, or lengthen the horizon"
        )


def _validate(total_shares: float, linear, coefficient, exponent: float, caps):
    if not math.isfinite(total_shares) or total_shares < 0:
        raise ValueError(f"the quantity to allocate must be a finite number >= 0, got {total_shares}")
    if not math.isfinite(exponent) or exponent <= 1:
        raise ValueError(
            f"impact exponent p = {exponent:g} <= 1 makes the cost concave: the problem is not convex and "
            "water-filling does not apply (docs/MATH.md section 6); use p > 1"
        )
    linear, coefficient, caps = _as_arrays(linear, coefficient, caps)
    if np.any(np.isnan(caps)) or np.any(caps < 0):
        raise ValueError("caps must be >= 0 (use infinity for no cap)")
    open_ = caps > 0
    if not np.all(np.isfinite(linear[open_])):
        raise ValueError("the linear cost must be a finite number in every period")
    if not np.all(np.isfinite(coefficient[open_])) or np.any(coefficient[open_] <= 0):
        raise ValueError("the impact coefficient must be a finite number > 0 in every period that can trade")
    check_feasible(total_shares, caps)
    return linear, coefficient, caps


def _inverse_marginal(nu: float, a, c, p: float, cap) -> np.ndarray:
    """x_t(nu) = clip(((nu - a_t)/(p c_t))^(1/(p-1)), 0, cap_t) (docs/MATH.md section 6)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x = (np.maximum(nu - a, 0.0) / (p * c)) ** (1.0 / (p - 1.0))
    return np.minimum(x, cap)


def waterfill(total_shares: float, linear, coefficient, exponent: float = 2.0, caps_shares=None) -> Allocation:
    """Exact KKT water-filling for min sum a_t x + c_t x^p, sum x = S, 0 <= x <= cap (docs/MATH.md section 6).

    Parameters
    ----------
    total_shares : S, shares to allocate (>= 0).
    linear : a_t, $/share (scalar or one per period).
    coefficient : c_t > 0, $/share^p (one per period, or a scalar with ``caps_shares`` giving the length).
    exponent : p > 1 (p = 2: linear + quadratic; p <= 1 is concave and refused with a ValueError).
    caps_shares : cap_t >= 0 per period (None or inf = no cap).

    Returns
    -------
    Allocation with x_t, the multiplier nu (g_t'(x_t) = nu where 0 < x_t < cap_t) and the cost.
    """
    n = max(np.size(coefficient), np.size(linear), 1 if caps_shares is None else np.size(caps_shares))
    linear, coefficient, caps = _as_arrays(linear, coefficient, caps_shares, n)
    linear, coefficient, caps = _validate(float(total_shares), linear, coefficient, exponent, caps)
    S, p = float(total_shares), float(exponent)
    x = np.zeros(n)
    open_ = caps > 0
    if S == 0:
        return Allocation(x, float(np.min(linear[open_], initial=np.nan)), 0.0)
    a, c, cap = linear[open_], coefficient[open_], caps[open_]
    if np.sum(cap) <= S:  # the caps hold exactly the order: everything at its cap
        x[open_] = cap
        nu = float(np.max(a + p * c * cap ** (p - 1)))
        return Allocation(x, nu, float(separable_cost_usd(x, linear, coefficient, p)))
    saturate = a + p * c * cap ** (p - 1)  # nu at which x_t reaches its cap (inf without cap)
    top = float(np.max(a + p * c * np.minimum(S, cap) ** (p - 1)))  # sum x(top) >= S
    breaks = np.unique(np.concatenate([a, saturate[saturate < top], [top]]))

    def total(nu: float) -> float:
        return float(np.sum(_inverse_marginal(nu, a, c, p, cap)))

    lo, hi = 0, breaks.size - 1  # invariant: total(breaks[lo]) < S <= total(breaks[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if total(breaks[mid]) < S:
            lo = mid
        else:
            hi = mid
    nu_lo, nu_hi = float(breaks[lo]), float(breaks[hi])
    capped = saturate <= nu_lo
    free = (a <= nu_lo) & ~capped
    left = S - float(np.sum(cap[capped]))
    af, cf = a[free], c[free]
    q = 1.0 / (p - 1.0)
    if p == 2.0:  # linear in nu: sum (nu - a)/(2c) = left
        nu = float((left + np.sum(af / (2 * cf))) / np.sum(1.0 / (2 * cf)))
    elif np.ptp(af) == 0:  # one linear cost on the segment: closed form nu = a + (left / sum (p c)^-q)^(p-1)
        nu = float(af[0] + (left / np.sum((p * cf) ** -q)) ** (p - 1.0))
    else:
        nu = _newton_segment(left, af, cf, p, nu_lo, nu_hi)
    nu = min(max(nu, nu_lo), nu_hi)
    x_open = _inverse_marginal(nu, a, c, p, cap)
    x_open[capped] = cap[capped]
    x_open = _fix_sum(x_open, S, free & (x_open < cap))
    x[open_] = x_open
    return Allocation(x, nu, float(separable_cost_usd(x, linear, coefficient, p)))


def _newton_segment(target: float, a, c, p: float, lo: float, hi: float) -> float:
    """Solve sum ((nu - a)/(p c))^(1/(p-1)) = target on [lo, hi] by Newton with a bisection safeguard."""
    q = 1.0 / (p - 1.0)
    nu = hi
    for _ in range(200):
        d = np.maximum(nu - a, 0.0)
        f = float(np.sum((d / (p * c)) ** q)) - target
        if f > 0:
            hi = nu
        else:
            lo = nu
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = float(np.sum(q * (d / (p * c)) ** q / np.where(d > 0, d, np.inf)))
        step = nu - f / slope if slope > 0 else np.nan
        nu_new = step if lo < step < hi else 0.5 * (lo + hi)
        if abs(nu_new - nu) <= 4 * np.finfo(float).eps * max(abs(nu), 1.0) or hi - lo <= 4 * np.finfo(float).eps * max(
            abs(hi), 1.0
        ):
            return nu_new
        nu = nu_new
    return nu


def _fix_sum(x: np.ndarray, total: float, adjustable: np.ndarray) -> np.ndarray:
    """Spread the last rounding residual S - sum x over the interior periods, in proportion to their size."""
    residual = total - float(np.sum(x))
    weight = np.where(adjustable, x, 0.0)
    if residual != 0 and weight.sum() > 0:
        x = x + residual * weight / weight.sum()
    return x


def waterfill_batch(totals_shares, linear: float, coefficient, exponent: float = 2.0, caps_shares=None) -> np.ndarray:
    """Exact water-filling for many totals at once when the linear cost a is the same in every period.

    With u = (nu - a)^(1/(p-1)), x_t = min(u w_t, cap_t), w_t = (p c_t)^(-1/(p-1)), so sum_t x_t is piecewise
    linear in u with breakpoints cap_t / w_t (docs/MATH.md section 6). Each total is located among the sorted
    breakpoints and solved exactly. Returns an array (len(totals), N); totals above what the caps hold raise.
    """
    totals = np.atleast_1d(np.asarray(totals_shares, dtype=float))
    n = max(np.size(coefficient), 1 if caps_shares is None else np.size(caps_shares))
    _, coefficient, caps = _as_arrays(0.0, coefficient, caps_shares, n)
    _validate(float(np.max(totals, initial=0.0)), float(linear), coefficient, exponent, caps)
    if np.any(totals < 0) or not np.all(np.isfinite(totals)):
        raise ValueError("the quantities to allocate must be finite numbers >= 0")
    open_ = caps > 0
    w = np.zeros(n)
    w[open_] = (exponent * coefficient[open_]) ** (-1.0 / (exponent - 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        u_sat = np.where(open_, caps / np.where(w > 0, w, 1.0), 0.0)
    order = np.argsort(u_sat)
    u_sorted, cap_sorted, w_sorted = u_sat[order], caps[order], w[order]
    finite = np.isfinite(u_sorted)
    capped_sum = np.concatenate([[0.0], np.cumsum(np.where(finite, cap_sorted, 0.0))])  # C_j: first j saturated
    free_weight = w.sum() - np.concatenate([[0.0], np.cumsum(w_sorted)])  # W_j
    u_break = np.where(finite, u_sorted, np.inf)
    with np.errstate(invalid="ignore"):
        total_at_break = capped_sum[:-1] + u_break * free_weight[:-1]  # sum x at u = u_j (first j saturated)
    total_at_break = np.where(np.isfinite(u_break), total_at_break, np.inf)
    j = np.searchsorted(total_at_break, totals, side="left")  # u lies in [u_{j-1}, u_j]: first j saturated
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(free_weight[j] > 0, (totals - capped_sum[j]) / free_weight[j], np.inf)
    x = np.minimum(u[:, None] * w[None, :], caps[None, :])
    x[:, ~open_] = 0.0
    return x


def project_capped_simplex(points, total_shares: float, caps_shares, iterations: int = 100) -> np.ndarray:
    """Euclidean projection of each row of ``points`` onto {x : sum x = S, 0 <= x <= cap}: x = clip(y - theta, 0, cap).

    theta is found by vectorised bisection over the rows (used to keep differential evolution's candidates
    feasible). Rows are candidates, columns periods.
    """
    y = np.atleast_2d(np.asarray(points, dtype=float))
    caps = np.broadcast_to(np.asarray(caps_shares, dtype=float), (y.shape[1],))
    check_feasible(total_shares, caps)
    finite_cap = np.where(np.isfinite(caps), caps, total_shares)
    lo = np.min(y - finite_cap, axis=1) - 1.0  # every x at its cap (>= S)
    hi = np.max(y, axis=1)  # every x at 0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = np.clip(y - mid[:, None], 0.0, caps).sum(axis=1) > total_shares
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    x = np.clip(y - 0.5 * (lo + hi)[:, None], 0.0, caps)
    residual = total_shares - x.sum(axis=1)
    room = np.where(residual[:, None] > 0, caps - x, x)
    room = np.where(np.isfinite(room), room, total_shares)
    share = room / np.maximum(room.sum(axis=1, keepdims=True), np.finfo(float).tiny)
    return x + residual[:, None] * share


def solve_with_risk(
    total_shares: float,
    linear,
    coefficient,
    exponent: float,
    caps_shares,
    risk_weight_usd_per_share2: float,
    gap_tolerance: float = 1e-11,
) -> Allocation:
    """min sum_t g_t(x_t) + mu sum_k h_k^2 over the holdings h (docs/MATH.md section 2's lambda V added to section 6).

    mu = lambda sigma^2 tau ($/share^2) and h_k = S - sum_{j<=k} x_j. The objective is convex for p >= 1 but no
    longer separable, so water-filling does not apply. It is solved by a log-barrier interior-point method in the
    holdings of the periods that can trade: the Newton system is tridiagonal (O(N) per step); the barrier weight
    grows until the duality gap 2N/t is below ``gap_tolerance`` times the objective. Periods with a zero cap
    trade nothing and keep the holdings of the period before (weighted in the risk term).
    """
    n = max(np.size(coefficient), np.size(linear), 1 if caps_shares is None else np.size(caps_shares))
    linear, coefficient, caps = _as_arrays(linear, coefficient, caps_shares, n)
    if not exponent >= 1:
        raise ValueError(f"impact exponent p = {exponent:g} < 1 is concave: the problem is not convex")
    mu = float(risk_weight_usd_per_share2)
    if not math.isfinite(mu) or mu < 0:
        raise ValueError("the risk weight must be a finite number >= 0")
    S, p = float(total_shares), float(exponent)
    check_feasible(S, caps)
    x_full = np.zeros(n)
    idx = np.flatnonzero(caps > 0)
    if S == 0 or idx.size == 0:
        return Allocation(x_full, math.nan, 0.0)
    if np.sum(caps[idx]) <= S or idx.size == 1:
        x_full[idx] = caps[idx] if np.sum(caps[idx]) <= S else S
        cost = separable_cost_usd(x_full, linear, coefficient, p) + risk_term_usd(x_full, S, mu)
        return Allocation(x_full, math.nan, float(cost))
    # scale: shares in units of S, money in units of a reference cost
    a = linear[idx] * S
    c = coefficient[idx] * S**p
    cap = caps[idx] / S
    held = np.diff(np.concatenate([idx, [n]])).astype(float)  # periods each holding is kept (weights m_k)
    m = mu * S**2 * held[:-1]  # risk on holdings after each open period except the last (it is 0 after it)
    start_w = np.minimum(cap, 1.0)
    x = start_w / start_w.sum()
    scale = max(abs(float(np.sum(a * x + c * x**p) + np.sum(m * (1 - np.cumsum(x)[:-1]) ** 2))), 1e-300)
    a, c, m = a / scale, c / scale, m / scale
    finite = np.isfinite(cap)
    cap_f = np.where(finite, cap, 1.0)

    def objective(x: np.ndarray, t: float) -> float:
        if (x <= 0).any() or (finite & (x >= cap_f)).any():
            return math.inf
        h = 1.0 - np.cumsum(x)[:-1]
        barrier = np.sum(np.log(x)) + np.sum(np.log(np.where(finite, cap_f - x, 1.0)))
        return float(np.sum(a * x + c * x**p) + np.sum(m * h**2) - barrier / t)

    constraints = 2 * idx.size
    t = float(constraints)  # first duality gap ~ 1 (the objective is scaled to ~1)
    t_final = constraints / gap_tolerance
    for _outer in range(60):
        centring = 1e-14 if t * 20.0 >= t_final else 1e-8  # loose centring until the last barrier weight
        for _inner in range(200):
            h = 1.0 - np.cumsum(x)[:-1]
            slack = np.where(finite, cap_f - x, np.inf)
            d1 = a + p * c * x ** (p - 1) - 1.0 / (t * x) + 1.0 / (t * slack)  # phi_k'
            d2 = p * (p - 1) * c * x ** (p - 2) + 1.0 / (t * x**2) + 1.0 / (t * slack**2)  # phi_k''
            grad = -d1[:-1] + d1[1:] + 2.0 * m * h  # d/dh_j, x_j = h_{j-1} - h_j
            band = np.zeros((3, idx.size - 1))
            band[1] = d2[:-1] + d2[1:] + 2.0 * m
            band[0, 1:] = -d2[1:-1]
            band[2, :-1] = -d2[1:-1]
            dh = -solve_banded((1, 1), band, grad)
            decrement = -float(grad @ dh)
            if decrement < centring:
                break
            dx = -np.diff(np.concatenate([[0.0], dh, [0.0]]))  # x_k = h_{k-1} - h_k
            with np.errstate(divide="ignore", invalid="ignore"):  # largest step that keeps 0 < x < cap
                room = np.where(dx < 0, -x / dx, np.where(dx > 0, slack / dx, np.inf))
            step, f0 = min(1.0, 0.99 * float(room.min())), objective(x, t)
            while step > 1e-20:
                f1 = objective(x + step * dx, t)
                if f1 <= f0 - 0.25 * step * decrement:
                    break
                step *= 0.5
            x = x + step * dx
            if step <= 1e-20:
                break
        value = float(np.sum(a * x + c * x**p) + np.sum(m * (1 - np.cumsum(x)[:-1]) ** 2))
        if constraints / t <= gap_tolerance * max(abs(value), 1e-12):
            break
        t *= 20.0
    x_full[idx] = x * S
    x_full[idx] = _fix_sum(x_full[idx], S, np.ones(idx.size, dtype=bool))
    cost = separable_cost_usd(x_full, linear, coefficient, p) + risk_term_usd(x_full, S, mu)
    return Allocation(x_full, math.nan, float(cost))
