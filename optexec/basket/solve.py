"""The exact multi-asset Almgren–Chriss optimum of a basket on one slice grid (docs/MATH.md section 10).

m orders, N slices of tau days, holdings x_k in R^m (shares left, k = 0..N), directions d (+1 buy, -1 sell), signed
exposure y_k = d o x_k, covariance C_ij = rho_ij sigma_i sigma_j ($^2/share^2/day), no cross impact, H = diag(eta~):

    minimise (1/tau) sum_k (y_{k-1} - y_k)^T H (y_{k-1} - y_k) + lambda tau sum_{k=1}^{N} y_k^T C y_k

(the spread and 1/2 gamma X^2 terms of E do not depend on the path of a schedule that never trades back).

* Common horizon: with H^{-1/2} C H^{-1/2} = U diag(mu) U^T and z = U^T H^{1/2} y the problem splits into m
  single-asset problems, z_{k,j} = z_{0,j} sinh(kappa_j (T - t_k)) / sinh(kappa_j T), cosh(kappa_j tau) =
  1 + lambda mu_j tau^2 / 2 (``eigen_holdings``).
* Per-order horizons (y_{k,i} = 0 for k >= K_i): the first-order conditions of the free holdings are the block-
  tridiagonal system -H y_{k-1} + (2H + lambda tau^2 C) y_k - H y_{k+1} = 0 with the fixed zeros moved to the
  right-hand side, solved by block Cholesky elimination (``kkt_holdings``): no exponentials, so it stays exact for
  any kappa T.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from optexec.strategies.almgren_chriss import sinh_ratio


def _check(eta_tilde: np.ndarray, covariance: np.ndarray, start: np.ndarray) -> None:
    m = start.shape[0]
    if eta_tilde.shape != (m,) or covariance.shape != (m, m):
        raise ValueError(f"a basket of {m} orders needs {m} impact coefficients and a {m} x {m} covariance")
    if np.any(~np.isfinite(eta_tilde)) or np.any(eta_tilde <= 0):
        raise ValueError("every order's effective temporary impact eta - gamma tau / 2 must be > 0; use more slices")


def mode_kappas(mu: np.ndarray, slice_days: float, risk_aversion_per_usd: float) -> np.ndarray:
    """kappa_j per day of each eigen-mode from cosh(kappa tau) = 1 + lambda mu tau^2 / 2, written as
    kappa = (2 / tau) arcsinh(tau sqrt(lambda mu) / 2) (accurate for tiny lambda mu; docs/MATH.md sections 2, 10)."""
    mu = np.maximum(mu, 0.0)  # a positive semi-definite covariance: rounding can leave -1e-17
    return 2.0 / slice_days * np.arcsinh(0.5 * slice_days * np.sqrt(risk_aversion_per_usd * mu))


def eigen_holdings(
    start_signed_shares: np.ndarray,
    eta_tilde: np.ndarray,
    covariance: np.ndarray,
    slice_days: float,
    slices: int,
    risk_aversion_per_usd: float,
) -> np.ndarray:
    """Signed exposure y_k (N + 1, m) of the joint optimum with a common horizon N tau (docs/MATH.md section 10).

    ``start_signed_shares`` is y_0 = d o X. One eigen-decomposition of H^{-1/2} C H^{-1/2}; each mode follows its
    own sinh ratio (evaluated without overflow for any kappa T).
    """
    return eigen_holdings_over_lambda(start_signed_shares, eta_tilde, covariance, slice_days, slices,
                                      [risk_aversion_per_usd])[0]  # fmt: skip


def eigen_holdings_over_lambda(
    start_signed_shares: np.ndarray,
    eta_tilde: np.ndarray,
    covariance: np.ndarray,
    slice_days: float,
    slices: int,
    risk_aversions_per_usd,
) -> np.ndarray:
    """``eigen_holdings`` for several lambdas (L, N + 1, m) from one eigen-decomposition (it does not depend on
    lambda; only the modes' kappa_j do)."""
    y0 = np.asarray(start_signed_shares, dtype=float)
    h = np.asarray(eta_tilde, dtype=float)
    cov = np.asarray(covariance, dtype=float)
    _check(h, cov, y0)
    root = np.sqrt(h)
    scaled = cov / np.outer(root, root)
    mu, u = np.linalg.eigh(0.5 * (scaled + scaled.T))
    horizon = slices * slice_days
    t = np.arange(slices + 1) * slice_days
    z0 = u.T @ (root * y0)
    lambdas = np.atleast_1d(np.asarray(risk_aversions_per_usd, dtype=float))
    out = np.empty((lambdas.size, slices + 1, y0.size))
    ratios = np.empty((slices + 1, y0.size))
    for index, lam in enumerate(lambdas):
        kappa = mode_kappas(mu, slice_days, float(lam))
        for j, k in enumerate(kappa):  # m modes of an (N + 1) vector each: O(N m), not a loop over paths
            ratios[:, j] = sinh_ratio(float(k), t, horizon)
        y = ((ratios * z0) @ u.T) / root
        y[0], y[-1] = y0, 0.0
        out[index] = y
    return out


def kkt_holdings(
    start_signed_shares: np.ndarray,
    eta_tilde: np.ndarray,
    covariance: np.ndarray,
    slice_days: float,
    end_slices: np.ndarray,
    risk_aversion_per_usd: float,
) -> np.ndarray:
    """Signed exposure y_k (N + 1, m), N = max K_i, of the joint optimum when order i must be done after K_i slices
    (docs/MATH.md section 10): the block-tridiagonal first-order conditions over the free holdings, by block
    Cholesky (Thomas) elimination."""
    y0 = np.asarray(start_signed_shares, dtype=float)
    h = np.asarray(eta_tilde, dtype=float)
    cov = np.asarray(covariance, dtype=float)
    _check(h, cov, y0)
    ends = np.asarray(end_slices, dtype=int)
    if ends.shape != y0.shape or np.any(ends < 1):
        raise ValueError("every order needs at least one slice")
    n = int(ends.max())
    y = np.zeros((n + 1, y0.size))
    y[0] = y0
    if n == 1:
        return y
    diagonal = 2.0 * np.diag(h) + risk_aversion_per_usd * slice_days**2 * cov
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


def joint_holdings(
    start_signed_shares: np.ndarray,
    eta_tilde: np.ndarray,
    covariance: np.ndarray,
    slice_days: float,
    end_slices: np.ndarray,
    risk_aversion_per_usd: float,
) -> np.ndarray:
    """The joint optimum's signed exposure (N + 1, m): the eigen form when every order ends on the last slice, the
    KKT system otherwise (docs/MATH.md section 10)."""
    ends = np.asarray(end_slices, dtype=int)
    if ends.size and np.all(ends == ends.max()):
        return eigen_holdings(start_signed_shares, eta_tilde, covariance, slice_days, int(ends.max()),
                              risk_aversion_per_usd)  # fmt: skip
    return kkt_holdings(start_signed_shares, eta_tilde, covariance, slice_days, ends, risk_aversion_per_usd)


def objective_usd(
    signed_holdings: np.ndarray, eta_tilde: np.ndarray, covariance: np.ndarray, slice_days: float, risk_aversion: float
) -> float:
    """The path-dependent part of E + lambda V, (1/tau) sum dy^T H dy + lambda tau sum y^T C y (section 10)."""
    y = np.asarray(signed_holdings, dtype=float)
    step = np.diff(y, axis=0)
    temporary = float(np.sum(step * step * eta_tilde)) / slice_days
    risk = float(np.sum((y[1:] @ covariance) * y[1:])) * slice_days
    return temporary + risk_aversion * risk if math.isfinite(temporary) else math.inf
