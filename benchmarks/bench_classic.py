"""Benchmark: schedule + closed-form costs of every classic strategy at N = 390 and N = 23,400 slices.

Prints a table (median wall time of repeated runs) and, in the same run, a bare numpy evaluation of the
Almgren–Chriss closed form (schedule by eq 17, E by eq 8, V by eq 5) for comparison.

    python -m benchmarks.bench_classic
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import numpy as np

from optexec import costs
from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.strategies import registry

CLASSIC = ["immediate", "twap", "vwap", "pov", "ac_discrete", "ac_continuous", "ac_drift"]
SETTINGS = {"risk_aversion_per_usd": 1e-6, "participation_rate": 0.2}


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bare_ac(shares: float, horizon: float, n: int, market: MarketParams, lam: float) -> tuple[float, float]:
    """The AC optimum and its E, V with plain numpy, no validation or objects (the reference)."""
    tau = horizon / n
    eta_t = market.eta_usd_day_per_share2 - 0.5 * market.gamma_usd_per_share2 * tau
    kappa = math.acosh(1 + 0.5 * lam * market.sigma_usd_per_sqrt_day**2 / eta_t * tau**2) / tau
    t = np.linspace(0.0, horizon, n + 1)
    x = shares * np.exp(-kappa * t) * np.expm1(-2 * kappa * (horizon - t)) / math.expm1(-2 * kappa * horizon)
    trades = x[:-1] - x[1:]
    expected = (0.5 * market.gamma_usd_per_share2 * shares**2 + market.half_spread_usd * shares
                + eta_t / tau * trades @ trades)  # fmt: skip
    return expected, market.sigma_usd_per_sqrt_day**2 * tau * x[1:] @ x[1:]


def main() -> None:
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())
    print(f"{'N':>7} {'strategy':<16} {'median time':>12} {'vs bare AC':>11}")
    for n in (390, 23_400):
        order = Order("DEMO", "sell", 1e6, 1.0, n)
        repeats = 400 if n == 390 else 60
        bare = median_seconds(lambda order=order: bare_ac(order.shares, 1.0, order.slices, market, 1e-6), repeats)
        print(f"{n:>7,} {'bare numpy AC':<16} {bare * 1e3:>9.3f} ms {1.0:>10.2f}x")
        for name in CLASSIC:
            strategy = registry.get(name)

            def run(strategy=strategy, order=order) -> object:
                return costs.estimate(strategy.schedule(order, market, SETTINGS), market)

            seconds = median_seconds(run, repeats)
            print(f"{n:>7,} {name:<16} {seconds * 1e3:>9.3f} ms {seconds / bare:>10.2f}x")


if __name__ == "__main__":
    main()
