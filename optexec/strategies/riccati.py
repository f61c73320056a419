"""Riccati numerics of the multiscale (Gârleanu–Pedersen with persistent impact) problem (docs/MATH.md section 1.3-1.7).

State X = (q, l, x): position q, persistent impact l, return signal x. Control u = dq/dt. Cost to minimise
(the negative of the reward in docs/MATH.md section 1.2), discounted at rate rho:

    c = (K/2) u^2 + (gamma/2) sigma^2 q^2 - q x - q (lambda u - beta l) = 1/2 X'QX + X'N u + 1/2 R u^2

with dq = u dt, dl = (lambda u - beta l) dt, dx = -kappa x dt + noise. Two solvers share the matrices:

* ``solve_care``: the infinite-horizon algebraic Riccati equation (CARE form of docs/MATH.md section 1.3) with the
  well-posedness guard; ``small_impact_expansion`` (section 1.5); ``variance_sensitivity`` and
  ``slow_correction_b`` (section 1.7).
* ``finite_horizon``: the Riccati differential equation over [0, T] with the exact terminal constraint q(T) = 0,
  solved through its linear Hamiltonian system (P = V U^-1, stepped backward with ``scipy.linalg.expm`` and
  re-orthonormalised by QR each step, so the blow-up P_qq ~ K/(T - t) never appears). ``riccati_ode_penalty``
  solves the same Riccati ODE with ``scipy.integrate.solve_ivp`` and a large terminal penalty, as a cross-check.

All functions take numbers in one consistent unit system (the dimensionless docs/MATH.md section 0 units, or
shares / $ / days for an order); nothing here knows about orders.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy.integrate import solve_ivp

from optexec.models import check_non_negative, check_positive

ILL_POSED = "the multiscale problem is ill-posed for these parameters"


@dataclass(frozen=True)
class LQProblem:
    """The linear-quadratic control problem of docs/MATH.md section 1.2-1.3, in one consistent unit system.

    Attributes
    ----------
    cost_k : instantaneous trading cost K (cost (K/2) u^2 per unit time), > 0.
    impact_gain : persistent impact gain lambda (price move per unit traded), >= 0.
    impact_decay : persistent impact decay rate beta (per unit time), >= 0.
    risk_aversion : gamma, >= 0 (the running risk charge is (gamma/2) sigma^2 q^2).
    variance : sigma^2 of the price per unit time, >= 0.
    discount_rate : rho (per unit time), >= 0.
    signal_mean_reversion : kappa of the return signal (per unit time), >= 0.
    """

    cost_k: float
    impact_gain: float
    impact_decay: float
    risk_aversion: float
    variance: float
    discount_rate: float
    signal_mean_reversion: float

    def __post_init__(self) -> None:
        check_positive("temporary cost K", self.cost_k)
        check_non_negative("impact gain lambda", self.impact_gain)
        check_non_negative("impact decay beta", self.impact_decay)
        check_non_negative("risk aversion gamma", self.risk_aversion)
        check_non_negative("variance sigma^2", self.variance)
        check_non_negative("discount rate rho", self.discount_rate)
        check_non_negative("signal mean reversion kappa", self.signal_mean_reversion)

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """(A0, A, B, Q, N, R) of docs/MATH.md section 1.3: A0 undiscounted drift, A = A0 - (rho/2) I."""
        lam, beta = self.impact_gain, self.impact_decay
        a0 = np.diag([0.0, -beta, -self.signal_mean_reversion])
        a = a0 - 0.5 * self.discount_rate * np.eye(3)
        b = np.array([[1.0], [lam], [0.0]])
        q = np.array([[self.risk_aversion * self.variance, beta, -1.0], [beta, 0.0, 0.0], [-1.0, 0.0, 0.0]])
        n = np.array([[-lam], [0.0], [0.0]])
        return a0, a, b, q, n, self.cost_k

    def gain(self, p: np.ndarray) -> np.ndarray:
        """Feedback row F = -R^-1 (B'P + N') with u* = F X (docs/MATH.md section 1.3); works on stacks of P."""
        _, _, b, _, n, r = self.matrices()
        return -(np.einsum("i,...ij->...j", b[:, 0], p) + n[:, 0]) / r


@dataclass(frozen=True)
class StationarySolution:
    """Infinite-horizon solution (docs/MATH.md section 1.3-1.4): P, the brief's coefficients, speed and aim.

    ``gain`` = (aq, al, ax)/K, so u* = gain @ (q, l, x) = speed (aim - q).
    """

    problem: LQProblem
    p: np.ndarray
    gain: np.ndarray
    closed_loop_eigenvalues: np.ndarray

    @property
    def coefficients(self) -> dict[str, float]:
        """Aqq, Aql, All, Aqx, Axl, Axx in the sign convention of V in docs/MATH.md section 1.3."""
        p = self.p
        return {"Aqq": p[0, 0], "Aql": -p[0, 1], "All": -p[1, 1], "Aqx": -p[0, 2], "Axl": -p[1, 2], "Axx": -p[2, 2]}

    @property
    def speed(self) -> float:
        """speed = (Aqq - lambda - lambda Aql)/K = -aq/K (docs/MATH.md section 1.4)."""
        return float(-self.gain[0])

    @property
    def aim_denominator(self) -> float:
        """Aqq - lambda - lambda Aql = K x speed: the aim's denominator (docs/MATH.md section 0 guard applies to it)."""
        return self.speed * self.problem.cost_k

    @property
    def aim_per_signal(self) -> float:
        """d aim / d x = (Aqx + lambda Axl)/(Aqq - lambda - lambda Aql) (docs/MATH.md §1.4); 0 if the guard trips."""
        return _guarded_ratio(self.gain[2] * self.problem.cost_k, self.aim_denominator)

    @property
    def aim_per_impact(self) -> float:
        """d aim / d l = (Aql + lambda All)/(Aqq - lambda - lambda Aql) (docs/MATH.md §1.4); 0 if the guard trips."""
        return _guarded_ratio(self.gain[1] * self.problem.cost_k, self.aim_denominator)


def _guarded_ratio(numerator: float, denominator: float, tiny: float = 1e-6) -> float:
    """numerator / denominator, or 0 when |denominator| < 1e-6 (the brief's guard, docs/MATH.md section 0)."""
    return 0.0 if abs(denominator) < tiny else float(numerator / denominator)


def solve_care(problem: LQProblem) -> StationarySolution:
    """Solve the infinite-horizon Riccati equation (docs/MATH.md section 1.3) with the well-posedness guard.

    Raises ValueError when scipy finds no stabilising solution, or when the *undiscounted* closed loop
    A0 + B F is not Hurwitz (the position or the impact would grow without bound). With beta = 0 the
    combination l - lambda q is conserved (a zero eigenvalue that is no instability) and is left out.
    """
    if problem.discount_rate <= 0:
        raise ValueError("the infinite-horizon multiscale problem needs a discount rate rho > 0")
    a0, a, b, q, n, r = problem.matrices()
    try:
        p = scipy.linalg.solve_continuous_are(a, b, q, np.array([[r]]), s=n)
    except (np.linalg.LinAlgError, ValueError) as error:
        raise ValueError(f"{ILL_POSED}: the Riccati equation has no stabilising solution ({error})") from None
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{ILL_POSED}: the Riccati solution is not finite")
    gain = problem.gain(p)
    eigenvalues = np.linalg.eigvals(a0 + b @ gain[None, :])
    checked = eigenvalues
    if problem.impact_decay == 0:
        # beta = 0: l - lambda q never changes (eigenvalue 0, left eigenvector (-lambda, 1, 0)); it is a
        # conserved quantity, not an instability, so the guard applies to the two other modes.
        checked = np.delete(eigenvalues, np.argmin(np.abs(eigenvalues)))
    if np.max(checked.real) >= 0:
        raise ValueError(
            f"{ILL_POSED}: the optimal policy lets the position or the impact grow without bound "
            f"(closed-loop eigenvalue {np.max(eigenvalues.real):.3g} >= 0); lower the impact gain lambda "
            "or raise the risk aversion"
        )
    return StationarySolution(problem, p, gain, eigenvalues)


@dataclass(frozen=True)
class ExpansionResult:
    """Exact coefficients at (theta lambda, theta beta) beside the first-order expansion A0 + theta A1."""

    theta: float
    exact: dict[str, float]
    expansion: dict[str, float]

    @property
    def error(self) -> dict[str, float]:
        """expansion - exact, per coefficient."""
        return {k: self.expansion[k] - self.exact[k] for k in self.exact}

    @property
    def max_abs_error(self) -> float:
        """Largest absolute coefficient error of the expansion."""
        return max(abs(v) for v in self.error.values())


def no_impact_coefficients(problem: LQProblem) -> dict[str, float]:
    """Closed form of the lambda = beta = 0 solution (docs/MATH.md section 1.4, Gârleanu–Pedersen)."""
    k, rho, kappa = problem.cost_k, problem.discount_rate, problem.signal_mean_reversion
    speed = 0.5 * (-rho + math.sqrt(rho**2 + 4.0 * problem.risk_aversion * problem.variance / k))
    aqx = 1.0 / (rho + kappa + speed)
    return {"Aqq": k * speed, "Aql": 0.0, "All": 0.0, "Aqx": aqx, "Axl": 0.0, "Axx": aqx**2 / (k * (2 * kappa + rho))}


def small_impact_expansion(problem: LQProblem, theta: float) -> ExpansionResult:
    """First-order small-impact expansion A0 + theta A1 beside the exact solution (docs/MATH.md section 1.5).

    ``problem`` holds the nominal lambda, beta; the exact solution is at (theta lambda, theta beta).
    """
    k, rho, kappa = problem.cost_k, problem.discount_rate, problem.signal_mean_reversion
    lam, beta = problem.impact_gain, problem.impact_decay
    a0 = no_impact_coefficients(problem)
    speed = a0["Aqq"] / k
    a1qq = 2.0 * lam * a0["Aqq"] / (k * rho + 2.0 * a0["Aqq"])
    a1ql = -beta / (rho + speed)
    a1qx = (lam - a1qq) * a0["Aqx"] ** 2 / k
    a1xl = a0["Aqx"] * a1ql / (k * (rho + kappa))
    a1xx = 2.0 * a0["Aqx"] * a1qx / (k * (2.0 * kappa + rho))
    first = {"Aqq": a1qq, "Aql": a1ql, "All": 0.0, "Aqx": a1qx, "Axl": a1xl, "Axx": a1xx}
    expansion = {name: a0[name] + theta * first[name] for name in a0}
    scaled = LQProblem(k, theta * lam, theta * beta, problem.risk_aversion, problem.variance, rho, kappa)
    return ExpansionResult(theta, solve_care(scaled).coefficients, expansion)


def variance_sensitivity(solution: StationarySolution) -> np.ndarray:
    """dP/d(sigma^2) from the Lyapunov equation (A + BF)'P' + P'(A + BF) + dQ = 0 (for docs/MATH.md section 1.7).

    Differentiating the CARE at the optimum (envelope: the dF terms cancel); dQ = gamma e_q e_q'.
    """
    problem = solution.problem
    _, a, b, _, _, _ = problem.matrices()
    closed = a + b @ solution.gain[None, :]
    d_q = np.zeros((3, 3))
    d_q[0, 0] = problem.risk_aversion
    return scipy.linalg.solve_continuous_lyapunov(closed.T, -d_q)


def slow_correction_b(solution: StationarySolution, c_z: float) -> float:
    """b = Bq + lambda Bl of the slow-factor correction (docs/MATH.md section 1.7); Delta u_slow = sqrt(delta) b / K.

    ``c_z`` = rho_xz eta g(z); the derivatives A' are taken with respect to sigma^2 (d sigma^2/dz = 1).
    """
    problem = solution.problem
    k, lam, beta, rho = problem.cost_k, problem.impact_gain, problem.impact_decay, problem.discount_rate
    d_p = variance_sensitivity(solution)
    d_aqx, d_axl = -d_p[0, 2], -d_p[1, 2]
    aq, al = solution.gain[0] * k, solution.gain[1] * k
    denominator = 1.0 - aq / (k * rho) - lam * al / (k * (rho + beta))
    return float(c_z * (d_aqx / rho + lam * d_axl / (rho + beta)) / denominator)


@dataclass(frozen=True)
class FiniteHorizonSolution:
    """Riccati solution over [0, T] on a uniform grid with q(T) = 0 enforced exactly.

    Attributes
    ----------
    problem : the LQ problem.
    times : grid t_0 = 0 .. t_M = T.
    gain_l, gain_x : feedback on l and x at each grid time (u = gain_q q + gain_l l + gain_x x).
    gain_q_scaled : (T - t) x gain_q, smooth and -> -1 at T (the gain itself blows up like -1/(T - t)).
    p : Riccati matrix P(t_k) for k < M (P(T) is infinite in the q-direction; its row M is NaN).
    """

    problem: LQProblem
    times: np.ndarray = field(repr=False)
    gain_q_scaled: np.ndarray = field(repr=False)
    gain_l: np.ndarray = field(repr=False)
    gain_x: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    _bases: np.ndarray = field(repr=False)
    _triangles: np.ndarray = field(repr=False)

    @property
    def horizon(self) -> float:
        """T."""
        return float(self.times[-1])

    def trajectory(self, state0: np.ndarray) -> np.ndarray:
        """Exact closed-loop path X(t_k) (rows (q, l, x)) from X(0) = state0 without noise (certainty equivalence).

        In the Hamiltonian basis the state is X~(t_k) = U_k c_k with c_{k+1} = R_k^-1 c_k, and X = e^{rho t/2} X~.
        """
        state0 = np.asarray(state0, dtype=float)
        coords = np.linalg.solve(self._bases[0, :3, :], state0)
        inverses = np.linalg.inv(self._triangles)
        steps = self.times.size - 1
        # R_k is the identity but at the re-orthonormalised steps: c_k changes only there, so it is stepped at
        # those alone (the same products) and every U_k c_k is taken in one batched product
        every = np.empty((steps, 3))
        moved = np.flatnonzero(np.any(self._triangles != np.eye(3), axis=(1, 2))).tolist()
        start = 0
        for k in [*moved, steps]:
            every[start:k] = coords
            if k < steps:
                coords = inverses[k] @ coords
                every[k] = coords
            start = k + 1
        path = np.empty((self.times.size, 3))
        path[0] = state0
        path[1:] = (self._bases[1:, :3, :] @ every[:, :, None])[:, :, 0]
        path *= np.exp(0.5 * self.problem.discount_rate * self.times)[:, None]
        path[-1, 0] = 0.0
        return path


def finite_horizon(problem: LQProblem, horizon: float, steps: int) -> FiniteHorizonSolution:
    """Solve the Riccati ODE -P' = A'P + PA - (PB + N)R^-1(B'P + N') + Q on [0, T] with q(T) = 0 exactly.

    docs/MATH.md section 1.3 over a finite horizon. Uses the Hamiltonian system d/dt [U; V] = H [U; V],
    H = [[A^, -B R^-1 B'], [-Q^, -A^']] (A^ = A - B R^-1 N', Q^ = Q - N R^-1 N'), with P = V U^-1 and the
    terminal subspace {q = 0, costate of l and x = 0}, i.e. U(T) = diag(0, 1, 1), V(T) = diag(1, 0, 0).
    One ``expm`` for the uniform step, then QR re-orthonormalisation at every step backward.
    Raises ValueError if U becomes singular inside the horizon (a conjugate point: the problem is ill-posed).
    """
    horizon = check_positive("horizon", horizon)
    if steps < 1:
        raise ValueError("the finite-horizon grid needs at least one step")
    _, a, b, q, n, r = problem.matrices()
    a_hat = a - b @ n.T / r
    q_hat = q - n @ n.T / r
    ham = np.block([[a_hat, -b @ b.T / r], [-q_hat, -a_hat.T]])
    step = horizon / steps
    backward = scipy.linalg.expm(-ham * step)
    # Re-orthonormalise every `chunk` steps, chunk chosen so the fastest and slowest Hamiltonian modes (rates
    # +-r) separate by at most a factor ~1e4 in between: exp(2 r step chunk) <= 1e4.
    rate = float(np.max(np.abs(np.linalg.eigvals(ham).real)))
    if rate * step > 300.0:  # exp(rate * step) would overflow within one step of the grid
        raise ValueError(
            f"the order is too urgent for this grid (urgency x step = {rate * step:.3g}): it would trade at once; "
            "lower the risk aversion or use a shorter slice"
        )
    chunk = 256 if rate * step == 0 else int(np.clip(math.log(1e4) / (2.0 * rate * step), 1, 256))
    bases = np.empty((steps + 1, 6, 3))
    triangles = np.broadcast_to(np.eye(3), (steps, 3, 3)).copy()
    bases[steps] = np.vstack([np.diag([0.0, 1.0, 1.0]), np.diag([1.0, 0.0, 0.0])])
    for k in range(steps - 1, -1, -1):
        evolved = backward @ bases[k + 1]
        if (steps - k) % chunk == 0 or k == 0:
            evolved, triangles[k] = np.linalg.qr(evolved)
        bases[k] = evolved
    u_blocks, v_blocks = bases[:-1, :3, :], bases[:-1, 3:, :]
    # The unnormalised U~_k = U_k R_k R_{k+1} ... R_{M-1}; its determinant changing sign (or vanishing) inside
    # the horizon is a conjugate point: P passes through infinity and the cost is unbounded below.
    det_u = np.linalg.det(u_blocks)
    signs = np.sign(det_u) * np.cumprod(np.sign(np.linalg.det(triangles))[::-1])[::-1]
    if np.any(det_u == 0) or not np.all(np.isfinite(det_u)) or np.any(signs != signs[-1]):
        raise ValueError(
            f"{ILL_POSED}: over this horizon the cost is unbounded (the Riccati equation blows up); "
            "lower the impact gain or raise the risk aversion"
        )
    p = np.linalg.solve(np.swapaxes(u_blocks, 1, 2), np.swapaxes(v_blocks, 1, 2))
    p = 0.5 * (p + np.swapaxes(p, 1, 2))
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{ILL_POSED}: the Riccati solution is not finite over this horizon")
    gains = problem.gain(p)
    times = np.linspace(0.0, horizon, steps + 1)
    remaining = horizon - times[:-1]
    gain_q_scaled = np.append(gains[:, 0] * remaining, -1.0)
    gain_l, gain_x = (np.append(gains[:, j], _extrapolate_end(gains[:, j])) for j in (1, 2))
    p_full = np.concatenate([p, np.full((1, 3, 3), np.nan)])
    return FiniteHorizonSolution(problem, times, gain_q_scaled, gain_l, gain_x, p_full, bases, triangles)


def _extrapolate_end(values: np.ndarray) -> float:
    """Linear extrapolation of a gain to t = T from the last two grid values (the limit exists and is finite)."""
    return float(values[-1]) if values.size < 2 else float(2.0 * values[-1] - values[-2])


def riccati_ode_penalty(problem: LQProblem, horizon: float, penalty: float, t_eval: np.ndarray) -> np.ndarray:
    """P(t) from the Riccati ODE integrated backward with ``solve_ivp`` (Radau) and P(T) = diag(penalty, 0, 0).

    A cross-check of ``finite_horizon``: as the terminal penalty on remaining q grows, P converges to the
    constrained solution at rate O(K / (penalty (T - t))).
    """
    _, a, b, q, n, r = problem.matrices()

    def rhs(_s: float, flat: np.ndarray) -> np.ndarray:
        p = flat.reshape(3, 3)
        pb = p @ b + n
        return (a.T @ p + p @ a - pb @ pb.T / r + q).ravel()  # dP/ds with s = T - t

    s_eval = horizon - np.asarray(t_eval, dtype=float)
    order = np.argsort(s_eval)
    start = np.diag([penalty, 0.0, 0.0]).ravel()
    result = solve_ivp(
        rhs, (0.0, float(s_eval.max())), start, method="Radau", t_eval=s_eval[order], rtol=1e-11, atol=1e-14 * penalty
    )
    if not result.success:
        raise ValueError(f"the Riccati ODE could not be integrated: {result.message}")
    p = np.empty((s_eval.size, 3, 3))
    p[order] = result.y.T.reshape(-1, 3, 3)
    return p


def finite_horizon_slow_b(solution: FiniteHorizonSolution) -> np.ndarray:
    """b(t) per unit c_z of the slow-factor correction over [0, T] (docs/MATH.md section 1.7, finite horizon).

    Same expansion as section 1.7 with time dependence: the linear term W1 = b'X of the cost-to-go solves
    -db/dt = (A + B F(t))' b - (rho/2) b + P'(t) e_x, b(T) = 0, where P' = dP/d(sigma^2) (central differences
    of ``finite_horizon`` in gamma sigma^2). Integrated backward by the trapezoidal rule (A-stable; the gain
    F_q ~ -1/(T - t) is stiff near T). Returns b_math = -(b_q + lambda b_l) at each grid time, so the
    correction to the rate is Delta u_slow = sqrt(delta) c_z b_math / K as in section 1.7; as T grows with
    rho > 0, b_math(0) tends to ``slow_correction_b`` per unit c_z.
    """
    problem = solution.problem
    steps = solution.times.size - 1
    horizon = solution.horizon
    d_p = _variance_derivative(problem, horizon, steps)
    _, a, b, _, _, _ = problem.matrices()
    step = horizon / steps
    gain_q = np.empty(steps + 1)
    gain_q[:-1] = solution.gain_q_scaled[:-1] / (horizon - solution.times[:-1])
    gain_q[-1] = 0.0  # not used: b(T) = 0, the singular product is taken as 0 there
    eye = np.eye(3)

    def generator(k: int) -> np.ndarray:
        gain = np.array([gain_q[k], solution.gain_l[k], solution.gain_x[k]])
        return (a + b @ gain[None, :]).T - 0.5 * problem.discount_rate * eye

    b_path = np.zeros((steps + 1, 3))
    source = d_p[:, :, 2]
    previous = np.zeros((3, 3))  # M(T) b(T) = 0
    for k in range(steps - 1, -1, -1):
        current = generator(k)
        rhs = b_path[k + 1] + 0.5 * step * (previous @ b_path[k + 1] + source[k + 1] + source[k])
        b_path[k] = np.linalg.solve(eye - 0.5 * step * current, rhs)
        previous = current
    return -(b_path[:, 0] + problem.impact_gain * b_path[:, 1])


def _variance_derivative(problem: LQProblem, horizon: float, steps: int) -> np.ndarray:
    """dP/d(sigma^2) on the finite-horizon grid by central differences (forward near sigma^2 = 0); row M
    (t = T) is extrapolated linearly."""
    out = np.zeros((steps + 1, 3, 3))
    if problem.risk_aversion == 0:
        return out  # P depends on sigma^2 only through gamma sigma^2
    scale = problem.risk_aversion * problem.variance + problem.cost_k / horizon**2
    h = 1e-4 * scale / problem.risk_aversion
    low = max(problem.variance - h, 0.0)
    high = problem.variance + h
    solve = {v: finite_horizon(dataclasses.replace(problem, variance=v), horizon, steps).p for v in (low, high)}
    out[:-1] = (solve[high][:-1] - solve[low][:-1]) / (high - low)
    out[-1] = 2.0 * out[-2] - out[-3] if steps >= 2 else out[-2]
    return out
