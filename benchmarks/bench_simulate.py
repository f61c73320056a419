"""Benchmark the Monte Carlo simulator: 10,000 paths x 390 slices for every registered strategy (+ the policies).

Targets (issue 6, 2-core machine): under 2 s in total and under 2 GB peak memory for the simulation.
Prints one row per strategy (kind, seconds, mean and std of the cost in bps), the market draw, the total, and the
peak memory: Python-traced allocations of one run (tracemalloc, numpy included) and the process's peak RSS.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_simulate [--paths 10000] [--slices 390] [--repeat 3]
        [--default-model] [--static]

Times are the best of ``--repeat`` runs (the machine is shared). The market model is the default one
(liquidity regimes, volume and spread noise, linear impact) unless said otherwise.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.simulation.engine import SimulationConfig, simulate_strategies
from optexec.simulation.market import MarketModel, generate_market_paths
from optexec.strategies import registry


def strategies():
    """Every registered strategy (each with the feedback policy its module declares)."""
    return list(registry.STRATEGIES.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--slices", type=int, default=390)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--static", action="store_true", help="run every strategy as its static schedule")
    parser.add_argument("--stochastic-vol", action="store_true", help="fast and slow vol factors on")
    args = parser.parse_args()

    order = Order("BENCH", "sell", 500_000, 1.0, args.slices)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    model = MarketModel(fast_vol_of_vol_per_sqrt_day=0.5 if args.stochastic_vol else 0.0,
                        slow_vol_of_vol_per_sqrt_day=0.3 if args.stochastic_vol else 0.0)  # fmt: skip
    config = SimulationConfig(paths=args.paths, seed=1, model=model, use_policies=not args.static)
    chosen = strategies()
    from optexec.rl.resolve import resolve_inputs  # the RL agent and the market model, resolved once

    resolved = resolve_inputs(order, market, {}, chosen)

    best_market = min(_timed(lambda: generate_market_paths(order, market, model, args.paths, 1))
                      for _ in range(args.repeat))  # fmt: skip
    best_total, best_steps, result = float("inf"), None, None
    for _ in range(args.repeat):
        marks = [time.perf_counter()]
        start = marks[0]
        run = simulate_strategies(order, market, chosen, resolved, config, _stamp(marks))
        total = time.perf_counter() - start
        if total < best_total:
            best_total, best_steps, result = total, [b - a for a, b in zip(marks, marks[1:], strict=False)], run

    tracemalloc.start()
    simulate_strategies(order, market, chosen, resolved, config)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{args.paths:,} paths x {args.slices} slices, {len(chosen)} strategies, best of {args.repeat}")
    print(f"{'strategy':<40}{'kind':>10}{'seconds':>10}{'mean (bps)':>12}{'std (bps)':>11}")
    print(f"{'market paths + TWAP reference':<40}{'':>10}{best_steps[0]:>10.3f}")
    for run, seconds in zip(result.runs, best_steps[1:], strict=False):
        print(f"{run.label[:39]:<40}{run.kind:>10}{seconds:>10.3f}{run.bps(run.mean_usd):>12.2f}"
              f"{run.bps(run.std_usd):>11.2f}")  # fmt: skip
    for name, error in result.errors.items():
        print(f"{name}: not simulated: {error}")
    print(f"{'market draw alone':<40}{'':>10}{best_market:>10.3f}")
    print(f"{'total (target < 2 s)':<40}{'':>10}{best_total:>10.3f}")
    print(f"peak traced memory of one run: {traced_peak / 2**20:,.0f} MiB; process peak RSS: {rss_peak_mb:,.0f} MiB "
          "(target < 2 GB)")  # fmt: skip


def _stamp(marks: list[float]):
    """A progress callback that records the time of each call."""
    return lambda done, label: marks.append(time.perf_counter())


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
