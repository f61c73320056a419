"""Benchmark: a 25-point sensitivity sweep (optexec.sensitivity) per strategy and in total.

Closed-form strategies cost one schedule and one closed-form E/V per point; the multiscale and nonlinear
strategies solve a Riccati problem or an allocation per point. Prints a table.

    python -m benchmarks.bench_sweep
"""

from __future__ import annotations

import time

import numpy as np

from optexec.models import Order
from optexec.sensitivity import sweep
from optexec.store.sample import planted_market_params
from optexec.strategies import registry

POINTS = 25


def seconds(run, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    market = planted_market_params("SYN-LARGE")
    order = Order("SYN-LARGE", "sell", 250_000, 1.0, 390)
    settings = {"risk_aversion_per_usd": 1e-6}
    grid = np.geomspace(1e-8, 1e-4, POINTS)
    print(f"{POINTS}-point sweep of risk aversion, N = 390 slices (best of 3)")
    print(f"{'strategy':<40}{'seconds':>10}")
    for name, strategy in registry.STRATEGIES.items():
        took = seconds(lambda name=name: sweep(order, market, settings, "risk_aversion_per_usd", grid, [name]))
        print(f"{strategy.label:<40}{took:>10.4f}")
    closed = [n for n in registry.STRATEGIES if n not in ("multiscale", "nonlinear")]
    closed_time = seconds(lambda: sweep(order, market, settings, "risk_aversion_per_usd", grid, closed))
    all_time = seconds(lambda: sweep(order, market, settings, "risk_aversion_per_usd", grid))
    print(f"{'closed-form strategies together':<40}{closed_time:>10.4f}   (target < 0.2 s)")
    print(f"{'every registered strategy':<40}{all_time:>10.4f}")


if __name__ == "__main__":
    main()
