"""The exact multi-asset Almgren–Chriss optimum of a basket on one slice grid (docs/MATH.md section 10).

m orders, N slices of tau days, holdings x_k in R^m (shares left, k = 0..N), directions d (+1 buy, -1 sell), signed
exposure y_k = d o x_k, covariance C_ij = rho_ij sigma_i sigma_j ($^2/share^2/day), no cross impact, H = diag(eta~):

    minimise (1/tau) sum_k (y_{k-1} - y_k)^T H (y_{k-1} - y_k) + lambda tau sum_{k=1}^{N} y_k^T C y_k

(the spread and 1/2 gamma X^2 terms of E do not depend on the path of a schedule that never trades back).

* Common horizon: with H^{-1/2} C H^{-1/2} = U diag(mu) U^T and z = U^T H^{1/2} y the problem splits into m
  single-asset problems, z_{k,j} = z_{0,j} sinh(kappa_j (T - t_k)) / sinh(kappa_j T), cosh(kappa_j tau) =
  1 + lambda mu_j tau^2 / 2 (``JointProblem.eigen_over_lambda``).
* Per-order horizons (y_{k,i} = 0 for k >= K_i): the first-order conditions of the free holdings are the block-
  tridiagonal system -H y_{k-1} + (2H + lambda tau^2 C) y_k - H y_{k+1} = 0 with the fixed zeros moved to the
  right-hand side, solved by block Cholesky elimination (``JointProblem.kkt``): no exponentials, so it stays exact for
  any kappa T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from optexec.strategies.almgren_chriss import sinh_ratio


@dataclass(frozen=True)
class JointProblem:
    """The joint problem of a basket on one grid (module docstring), checked once: y_0 = d o X
    (``start_signed_shares``), H = diag(eta~), C ($^2/share^2/day), tau, and K_i, the slice after which order i is
    done (all equal to N: a common horizon)."""

    start_signed_shares: np.ndarray
    eta_tilde: np.ndarray
    covariance: np.ndarray
    slice_days: float
    end_slices: np.ndarray

    def __post_init__(self) -> None:
        y0 = np.asarray(self.start_signed_shares, dtype=float)
        h = np.asarray(self.eta_tilde, dtype=float)
        cov = np.asarray(self.covariance, dtype=float)
        ends = np.asarray(self.end_slices, dtype=int)
        m = y0.shape[0]
        if h.shape != (m,) or cov.shape != (m, m):
            raise ValueError(f"a basket of {m} orders needs {m} impact coefficients and a {m} x {m} covariance")
        if np.any(~np.isfinite(h)) or np.any(h <= 0):
            raise ValueError(
                "every order's effective temporary impact eta - gamma tau / 2 must be > 0; use more slices"
            )
        if ends.shape != y0.shape or np.any(ends < 1):
            raise ValueError("every order needs at least one slice")
        for name, value in (("start_signed_shares", y0), ("eta_tilde", h), ("covariance", cov), ("end_slices", ends)):
            object.__setattr__(self, name, value)

    @property
    def slices(self) -> int:
        """N, the slices of the grid (the longest order's)."""
        return int(self.end_slices.max())

    @property
    def common_horizon(self) -> bool:
        return bool(np.all(self.end_slices == self.slices))

    def holdings(self, risk_aversion_per_usd: float) -> np.ndarray:
        """The joint optimum's signed exposure y_k (N + 1, m) at one lambda (``holdings_over_lambda``)."""
        return self.holdings_over_lambda([risk_aversion_per_usd])[0]

    def holdings_over_lambda(self, risk_aversions_per_usd) -> np.ndarray:
        """The joint optimum (L, N + 1, m) for several lambdas: the eigen form when every order ends on the last
        slice (one eigen-decomposition for all lambdas), the KKT system per lambda otherwise (section 10)."""
        lambdas = np.atleast_1d(np.asarray(risk_aversions_per_usd, dtype=float))
        if self.common_horizon:
            return self.eigen_over_lambda(lambdas)
        return np.stack([self.kkt(float(lam)) for lam in lambdas])

    def eigen_over_lambda(self, risk_aversions_per_usd) -> np.ndarray:
        """Signed exposure (L, N + 1, m) with a common horizon N tau: one eigen-decomposition of H^{-1/2} C H^{-1/2}
        (it does not depend on lambda; only the modes' kappa_j do), each mode on its own sinh ratio (evaluated
        without overflow for any kappa T)."""
        if not self.common_horizon:
            raise ValueError("the eigen form needs every order to end on the last slice; use the KKT system")
        y0, h, cov, tau, slices = (
            self.start_signed_shares,
            self.eta_tilde,
            self.covariance,
            self.slice_days,
            self.slices,
        )
        root = np.sqrt(h)
        scaled = cov / np.outer(root, root)
        mu, u = np.linalg.eigh(0.5 * (scaled + scaled.T))
        horizon = slices * tau
        t = np.arange(slices + 1) * tau
        z0 = u.T @ (root * y0)
        lambdas = np.atleast_1d(np.asarray(risk_aversions_per_usd, dtype=float))
        out = np.empty((lambdas.size, slices + 1, y0.size))
        ratios = np.empty((slices + 1, y0.size))
        for index, lam in enumerate(lambdas):
            kappa = mode_kappas(mu, tau, float(lam))
            for j, k in enumerate(kappa):  # m modes of an (N + 1) vector each: O(N m), not a loop over paths
                ratios[:, j] = sinh_ratio(float(k), t, horizon)
            y = ((ratios * z0) @ u.T) / root
            y[0], y[-1] = y0, 0.0
            out[index] = y
        return out

    def kkt(self, risk_aversion_per_usd: float) -> np.ndarray:
        """Signed exposure (N + 1, m) when order i must be done after K_i slices: the block-tridiagonal first-order
        conditions over the free holdings, by block Cholesky (Thomas) elimination (section 10)."""
        y0, h, cov, tau, ends = (
            self.start_signed_shares,
            self.eta_tilde,
            self.covariance,
            self.slice_days,
            self.end_slices,
        )
        n = self.slices
        y = np.zeros((n + 1, y0.size))
        y[0] = y0
        if n == 1:
            return y
        diagonal = 2.0 * np.diag(h) + risk_aversion_per_usd * tau**2 * cov
        free = [np.flatnonzero(ends > k) for k in range(n)]  # free[k]: orders still holding after child k
        # forward elimination: S_k = A_k - H_{k,k-1} S_{k-1}^{-1} H_{k-1,k}, r_k = b_k + H_{k,k-1} S_{k-1}^{-1} r_{k-1}
        factors, rhs = [], []
        previous_factor, previous_rhs, previous_free = None, None, None
        for k in range(1, n):
            idx = free[k]
            block = diagonal[np.ix_(idx, idx)].copy()
            right = np.zeros(idx.size)
            if k == 1:
                right += h[idx] * y0[idx]  # H y_0 moved to the right-hand side
            else:
                # H is diagonal: its (k, k-1) block couples order i in step k to the same order in step k-1
                position = np.searchsorted(previous_free, idx)
                coupling = np.zeros((previous_free.size, idx.size))
                coupling[position, np.arange(idx.size)] = h[idx]
                solved = scipy.linalg.cho_solve(previous_factor, np.column_stack([coupling, previous_rhs]))
                block -= coupling.T @ solved[:, :-1]
                right += coupling.T @ solved[:, -1]
            factor = scipy.linalg.cho_factor(block, lower=True, check_finite=False)
            factors.append(factor)
            rhs.append(right)
            previous_factor, previous_rhs, previous_free = factor, right, idx
        # back substitution: S_k y_k = r_k + H_{k,k+1} y_{k+1}
        for k in range(n - 1, 0, -1):
            idx = free[k]
            right = rhs[k - 1].copy()
            if k < n - 1:
                right += h[idx] * y[k + 1, idx]
            y[k, idx] = scipy.linalg.cho_solve(factors[k - 1], right, check_finite=False)
        return y


def mode_kappas(mu: np.ndarray, slice_days: float, risk_aversion_per_usd: float) -> np.ndarray:
    """kappa_j per day of each eigen-mode from cosh(kappa tau) = 1 + lambda mu tau^2 / 2, written as
    kappa = (2 / tau) arcsinh(tau sqrt(lambda mu) / 2) (accurate for tiny lambda mu; docs/MATH.md sections 2, 10)."""
    mu = np.maximum(mu, 0.0)  # a positive semi-definite covariance: rounding can leave -1e-17
    return 2.0 / slice_days * np.arcsinh(0.5 * slice_days * np.sqrt(risk_aversion_per_usd * mu))


def objective_usd(
    signed_holdings: np.ndarray, eta_tilde: np.ndarray, covariance: np.ndarray, slice_days: float, risk_aversion: float
) -> float:
    """The path-dependent part of E + lambda V, (1/tau) sum dy^T H dy + lambda tau sum y^T C y (section 10)."""
    y = np.asarray(signed_holdings, dtype=float)
    step = np.diff(y, axis=0)
    temporary = float(np.sum(step * step * eta_tilde)) / slice_days
    risk = float(np.sum((y[1:] @ covariance) * y[1:])) * slice_days
    return temporary + risk_aversion * risk if math.isfinite(temporary) else math.inf
