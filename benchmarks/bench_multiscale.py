"""Speed of the multiscale strategy: one decision, schedule build, Riccati solves (prints a table).

Run: python benchmarks/bench_multiscale.py

Timings of 10,000-path decisions depend on the allocator: glibc returns each freed 80 kB temporary to the OS
and faults it back in, which can cost several times the arithmetic on a loaded machine. Compare with
MALLOC_MMAP_THRESHOLD_=4000000 MALLOC_TRIM_THRESHOLD_=100000000 python benchmarks/bench_multiscale.py
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optexec.models import MarketParams, Order  # noqa: E402
from optexec.strategies.multiscale import (  # noqa: E402
    MultiscaleModel,
    MultiscaleParams,
    MultiscalePolicy,
    core_policy,
    multiscale,
    order_problem,
    solve_core,
)
from optexec.strategies.riccati import finite_horizon, solve_care  # noqa: E402


def best_seconds(function, *args, number: int, repeat: int = 5) -> float:
    """Best of `repeat` runs of `number` calls of function(*args), seconds per call."""
    return min(timeit.repeat(lambda: function(*args), number=number, repeat=repeat)) / number


def main() -> None:
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    intraday = Order("DEMO", "sell", 1e6, 1.0, 390)
    table1 = Order("DEMO", "sell", 1e6, 5.0, 5)
    params = MultiscaleParams()
    policy = MultiscalePolicy(intraday, market, params)
    slow_params = MultiscaleParams(slow_correlation=-0.5, signal_vol_usd_per_day_per_sqrt_day=0.05)
    slow_policy = MultiscalePolicy(intraday, market, slow_params)
    core = solve_core(MultiscaleModel())
    mu = policy.long_run_variance
    rows = []
    for n in (1, 10_000):
        rng = np.random.default_rng(0)
        q = rng.uniform(0, 1e6, n)
        l, x = rng.normal(0, 0.01, n), rng.normal(0, 0.02, n)
        y, z = mu * rng.uniform(0.5, 2.0, n), np.full(n, mu)
        number = 2000 if n == 1 else 200
        states = (0.37, q, l, x, y, z)
        rows.append(
            (f"execution decision, {n:,} path(s)", best_seconds(policy.rate_shares_per_day, *states, number=number))
        )
        rows.append(
            (
                f"execution decision + slow correction, {n:,} path(s)",
                best_seconds(slow_policy.rate_shares_per_day, *states, number=number),
            )
        )
        core_states = (q / 1e6, l, x, np.full(n, 0.05), np.full(n, 0.04))
        rows.append(
            (
                f"core (infinite-horizon) decision, {n:,} path(s)",
                best_seconds(core_policy, core, *core_states, number=number),
            )
        )
    rows.append(("schedule, N = 390 (1 day), defaults", best_seconds(multiscale, intraday, market, params, number=5)))
    rows.append(
        (
            "schedule, N = 390, vol 1.5x (stepped path)",
            best_seconds(multiscale, intraday, market, MultiscaleParams(current_vol_ratio=1.5), number=3),
        )
    )
    rows.append(("schedule, N = 5 (Table 1), defaults", best_seconds(multiscale, table1, market, params, number=5)))
    rows.append(
        (
            "policy build, N = 390, with slow correction",
            best_seconds(MultiscalePolicy, intraday, market, slow_params, number=3),
        )
    )
    problem = order_problem(intraday, market, params)
    rows.append(("finite-horizon Riccati, 2,340 steps", best_seconds(finite_horizon, problem, 1.0, 2340, number=5)))
    core_problem = MultiscaleModel().problem()
    rows.append(("CARE solve + guard (section 1.3)", best_seconds(solve_care, core_problem, number=200)))
    rows.append(("core solve: CARE + expansion + slow b", best_seconds(solve_core, MultiscaleModel(), number=100)))

    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  {'time':>12}")
    print(f"{'-' * width}  {'-' * 12}")
    for name, seconds in rows:
        text = f"{seconds * 1e6:,.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:,.2f} ms"
        print(f"{name:<{width}}  {text:>12}")


if __name__ == "__main__":
    main()
