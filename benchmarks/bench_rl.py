"""Benchmark the RL agents: train per regime (curriculum calm -> target), evaluate on held-out paths.

Order: sell 250,000 DEMO (the Almgren–Chriss Table 1 stock with a U-shaped volume profile, 5% of ADV) over 1 day in
390 one-minute slices, 10 decision periods, lambda = 1e-6 per $. For each regime (normal, volatile, trending) it
prints training time, then one row per strategy: mean, std and CVaR95 of the shortfall (bps), mean + lambda var ($)
and the improvement over TWAP (%) with its standard error (paired, common random numbers).

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_rl [--paths 10000] [--q-iterations 120] [--cem-iterations 40]
        [--regimes normal,volatile,trending] [--seed 0] [--cost-model linear|linear+transient|calibrated]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from optexec.models import COST_MODELS, MarketParams, Order, u_shaped_volume_profile
from optexec.rl import evaluate as ev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--q-iterations", type=int, default=120)
    parser.add_argument("--cem-iterations", type=int, default=40)
    parser.add_argument("--regimes", default=",".join(ev.REGIMES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cost-model",
        choices=COST_MODELS,
        default="linear",
        help="the market's cost model (the DP rows need one without transient impact)",
    )
    args = parser.parse_args()
    order = Order("DEMO", "sell", 250_000, 1.0, 390)
    market = MarketParams(
        50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile(), cost_model=args.cost_model
    )
    iterations = {"q_learning": args.q_iterations, "cross_entropy": args.cem_iterations}
    tables = []
    for i, name in enumerate(args.regimes.split(",")):
        agents = {}
        for kind, count in iterations.items():
            started = time.perf_counter()
            agent, curve = ev.train_for_regime(kind, order, market, name, count, seed=args.seed)
            print(f"{name:9s} {kind:14s} trained in {time.perf_counter() - started:5.1f} s; validation cost "
                  f"{curve[0]['cost_bps']:.2f} -> {curve[-1]['cost_bps']:.2f} bps")  # fmt: skip
            agents[kind] = agent
        started = time.perf_counter()
        table = ev.evaluate(order, market, agents, name, args.paths, ev.EVALUATION_SEED + 1 + i)
        print(f"{name:9s} evaluation on {args.paths:,} held-out paths in {time.perf_counter() - started:.1f} s")
        tables.append(table)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.concat(tables, ignore_index=True).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
