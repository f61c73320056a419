"""The price risk of a basket's schedules with and without the correlation of its names (docs/MATH.md section 10).

Holdings x_k (N + 1, m) on one grid of slices of tau days, directions d, signed exposure y_k = d o x_k, covariance
C = diag(sigma) R diag(sigma):

    V = tau sum_{k=1}^{N} y_k^T C y_k                 (with the correlation: buys and sells of correlated names hedge)
    V_uncorrelated = tau sum_k sum_i sigma_i^2 x_{k,i}^2   (the sum of each order's own variance)
    contribution_i = tau sum_k y_{k,i} (C y_k)_i       (Euler: they add up to V; over sqrt V they add up to the std)
    remaining V_j = tau sum_{k > j} y_k^T C y_k         (the variance still ahead at t_j)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optexec.market import value_at_risk_usd


def covariance(sigma_usd_per_sqrt_day: np.ndarray, correlation: np.ndarray) -> np.ndarray:
    """C_ij = rho_ij sigma_i sigma_j, $^2 per share^2 per day (docs/MATH.md section 10)."""
    sigma = np.asarray(sigma_usd_per_sqrt_day, dtype=float)
    return np.asarray(correlation, dtype=float) * np.outer(sigma, sigma)


@dataclass(frozen=True)
class BasketRisk:
    """The risk of one basket schedule, $ and $^2.

    variance_usd2 : V with the correlation. variance_uncorrelated_usd2 : the sum of the orders' own variances.
    contribution_usd2 : each order's Euler contribution to V (adds up to V). remaining_variance_usd2 : V still
    ahead at each slice boundary t_0..t_N (t_0 = V, t_N = 0).
    """

    variance_usd2: float
    variance_uncorrelated_usd2: float
    contribution_usd2: np.ndarray
    remaining_variance_usd2: np.ndarray

    @property
    def std_usd(self) -> float:
        """sqrt V, with the correlation."""
        return math.sqrt(max(self.variance_usd2, 0.0))

    @property
    def std_uncorrelated_usd(self) -> float:
        """sqrt of the sum of the orders' own variances."""
        return math.sqrt(max(self.variance_uncorrelated_usd2, 0.0))

    @property
    def std_contribution_usd(self) -> np.ndarray:
        """Each order's marginal (Euler) contribution to the std, contribution_i / sqrt V: adds up to sqrt V."""
        std = self.std_usd
        return self.contribution_usd2 / std if std > 0 else np.zeros_like(self.contribution_usd2)

    @property
    def remaining_std_usd(self) -> np.ndarray:
        """sqrt of the variance still ahead at each slice boundary."""
        return np.sqrt(np.maximum(self.remaining_variance_usd2, 0.0))

    def var95_usd(self, expected_usd: float) -> float:
        """E + z_0.95 sqrt V (normal cost, optexec.market.value_at_risk_usd)."""
        return value_at_risk_usd(expected_usd, self.variance_usd2)

    def var95_uncorrelated_usd(self, expected_usd: float) -> float:
        """E + z_0.95 sqrt(V_uncorrelated)."""
        return value_at_risk_usd(expected_usd, self.variance_uncorrelated_usd2)


def basket_risk(
    holdings_shares: np.ndarray, side_signs: np.ndarray, covariance_usd2: np.ndarray, slice_days: float
) -> BasketRisk:
    """V, V without the correlation, the Euler contributions and the remaining variance of holdings (N + 1, m)
    (docs/MATH.md section 10)."""
    x = np.asarray(holdings_shares, dtype=float)
    y = x[1:] * np.asarray(side_signs, dtype=float)
    cov = np.asarray(covariance_usd2, dtype=float)
    per_slice = (y @ cov) * y  # (N, m): y_{k,i} (C y_k)_i
    contribution = slice_days * per_slice.sum(axis=0)
    by_slice = slice_days * per_slice.sum(axis=1)
    remaining = np.concatenate([np.cumsum(by_slice[::-1])[::-1], [0.0]])
    own = slice_days * float(np.sum(x[1:] ** 2 * np.diag(cov)))
    return BasketRisk(float(contribution.sum()), own, contribution, remaining)
