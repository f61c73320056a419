"""Benchmark: what a new risk aversion costs the Plan page, strategy by strategy, at 390 slices.

Every strategy's schedule is built for risk aversions it has not seen (what its caller resolves for it first,
planning.resolve_inputs: the RL agent, the market model; then the nonlinear solver and the multiscale Riccati
solve run), then the whole plan and its cost table. Prints the median over the new values. The first plan (the
warm-up) trains the RL strategy's default agent once for this order and market; it is timed apart.

    python -m benchmarks.bench_plan [--values 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from optexec.models import Order
from optexec.planning import cost_table, make_plan, resolve_inputs
from optexec.strategies import registry
from optexec.ui.markets import demo_market


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=5)
    args = parser.parse_args()
    market = demo_market()
    order = Order("DEMO", "sell", 250_000, 1.0, 390)
    import optexec.rl.resolve  # noqa: F401  (imports outside the first plan's time)

    start = time.perf_counter()
    make_plan(order, market, {"risk_aversion_per_usd": 1e-6})  # the default RL agent trains here, once
    first_ms = 1e3 * (time.perf_counter() - start)
    new_values = [1e-6 * (1.1 + 0.1 * i) for i in range(args.values)]
    timings: dict[str, list[float]] = {name: [] for name in registry.STRATEGIES}
    timings["make_plan (all strategies, costs)"] = []
    timings["cost_table"] = []
    for i, lam in enumerate(new_values):
        for name, strategy in registry.STRATEGIES.items():
            settings = {"risk_aversion_per_usd": lam}
            start = time.perf_counter()
            strategy.schedule(order, market, {**settings, **resolve_inputs(order, market, settings, [strategy])})
            timings[name].append(time.perf_counter() - start)
        other = 1e-6 * (2.1 + 0.1 * i)  # a value no strategy has seen yet
        start = time.perf_counter()
        plan = make_plan(order, market, {"risk_aversion_per_usd": other})
        timings["make_plan (all strategies, costs)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        cost_table(plan)
        timings["cost_table"].append(time.perf_counter() - start)
    print(f"first plan of this order (imports done; trains the default RL agent once): {first_ms:.1f} ms")
    print(f"{'slices':>6} {'what':<36} {'median ms':>10} {'max ms':>8}")
    for name, samples in timings.items():
        print(f"{order.slices:>6} {name:<36} {1e3 * statistics.median(samples):>10.1f} {1e3 * max(samples):>8.1f}")


if __name__ == "__main__":
    main()
