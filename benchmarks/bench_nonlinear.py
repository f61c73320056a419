"""Benchmark the static nonlinear-impact allocator (docs/MATH.md §6): water-filling, SLSQP, differential evolution.

N = 390 one-minute slices, random instances (market, order size, the market's cost model and power exponent,
child-order cap): the allocator's per-slice costs are the market model's separable parts. Prints one
row per instance (time and objective per method), then the ratio of SLSQP to water-filling time and the worst
relative objective gaps; then the risk-term solver against SLSQP and the adaptive policy's decision time.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_nonlinear [--instances 20] [--de-generations 100]
        [--risk-instances 5] [--no-de]

(one BLAS thread: on a busy 2-core machine SLSQP's dense algebra ran ~5x slower with threads competing.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from optexec.models import COST_MODELS, MarketParams, Order, u_shaped_volume_profile
from optexec.strategies.nonlinear import (
    NonlinearParams,
    NonlinearPolicy,
    differential_evolution_allocation,
    exact_allocation,
    period_costs,
    slsqp_allocation,
)


def random_instance(rng: np.random.Generator, index: int, risk: bool = False):
    """A random 1-day order over 390 slices with a noisy U-shaped volume profile."""
    profile = np.asarray(u_shaped_volume_profile(390, depth=rng.uniform(0.3, 0.8)))
    profile = profile * rng.lognormal(0.0, 0.3, 390)
    price = rng.uniform(10, 200)
    adv = rng.uniform(1e6, 2e7)
    market = MarketParams.from_rules_of_thumb(
        price, price * rng.uniform(0.01, 0.03), price * rng.uniform(2e-4, 1e-3), adv, volume_profile=tuple(profile),
        cost_model=COST_MODELS[index % 3], power_exponent=float(rng.uniform(0.4, 1.0)),
    )  # fmt: skip
    shares = float(round(adv * rng.uniform(0.01, 0.08)))
    order = Order("BENCH", "buy" if index % 2 else "sell", shares, 1.0, 390)
    child = None if index % 4 == 0 else float(round(shares / 390 * rng.uniform(1.3, 3.0)))
    params = NonlinearParams(
        max_participation=0.1,
        max_child_order_shares=child,
        # with risk: AC urgency kappa T in [1, 4], lambda = kappa^2 eta / sigma^2 (docs/MATH.md section 2, eq 19)
        risk_aversion_per_usd=float(rng.uniform(1, 4)) ** 2
        * market.eta_usd_day_per_share2
        / market.sigma_usd_per_sqrt_day**2
        if risk
        else 0.0,
    )
    return order, market, params


def best_time(function, repeats: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def static_table(instances: int, de_generations: int, run_de: bool) -> None:
    rng = np.random.default_rng(2026)
    header = (
        f"{'#':>2} {'model':<16} {'p':>4} {'caps':>5} {'wf ms':>8} {'slsqp s':>8} {'de s':>7} "
        f"{'wf objective $':>15} {'slsqp gap':>10} {'de gap':>9}"
    )
    print(header)
    print("-" * len(header))
    ratios, gaps, de_gaps = [], [], []
    for index in range(instances):
        order, market, params = random_instance(rng, index)
        costs = period_costs(order, market, params)
        S = order.shares
        wf_time, wf = best_time(lambda costs=costs, S=S: exact_allocation(S, costs), 20)
        sl_time, sl = best_time(lambda costs=costs, S=S: slsqp_allocation(S, costs), 1)
        if run_de:
            de_time, de = best_time(
                lambda costs=costs, S=S: differential_evolution_allocation(S, costs, max_generations=de_generations), 1
            )
            de_gap = (de.cost_usd - wf.cost_usd) / abs(wf.cost_usd)
            de_gaps.append(de_gap)
        else:
            de_time, de_gap = np.nan, np.nan
        gap = (wf.cost_usd - sl.cost_usd) / abs(sl.cost_usd)  # > 0 would mean water-filling is worse
        ratios.append(sl_time / wf_time)
        gaps.append(gap)
        binding = int(np.sum(wf.trades_shares >= costs.caps_shares * (1 - 1e-9)))
        print(
            f"{index:>2} {market.cost_model:<16} {costs.exponent:>4.2f} {binding:>5} {wf_time * 1e3:>8.3f} "
            f"{sl_time:>8.3f} {de_time:>7.2f} {wf.cost_usd:>15,.2f} {-gap:>10.2e} {de_gap:>9.2e}"
        )
    print()
    print(
        f"SLSQP / water-filling time: min {min(ratios):,.0f}x, median {np.median(ratios):,.0f}x, "
        f"max {max(ratios):,.0f}x"
    )
    print(f"worst (water-filling - SLSQP) / SLSQP objective: {max(gaps):.3e}  (target <= 1e-9)")
    if de_gaps:
        print(f"differential evolution above the optimum: median {np.median(de_gaps):.2%}, worst {max(de_gaps):.2%}")
    print("caps = slices whose cap binds in the exact solution; gaps = (method - exact) / exact objective")


def risk_table(instances: int) -> None:
    rng = np.random.default_rng(7)
    print()
    print(f"{'#':>2} {'model':<16} {'barrier ms':>10} {'slsqp s':>8} {'objective $':>14} {'slsqp gap':>10}")
    for index in range(instances):
        order, market, params = random_instance(rng, index, risk=True)
        costs = period_costs(order, market, params)
        ex_time, ex = best_time(lambda costs=costs, order=order: exact_allocation(order.shares, costs), 3)
        sl_time, sl = best_time(lambda costs=costs, order=order: slsqp_allocation(order.shares, costs), 1)
        gap = (sl.cost_usd - ex.cost_usd) / abs(ex.cost_usd)
        print(
            f"{index:>2} {market.cost_model:<16} {ex_time * 1e3:>10.2f} {sl_time:>8.3f} {ex.cost_usd:>14,.2f} "
            f"{gap:>10.2e}"
        )


def policy_timing() -> None:
    print()
    order = Order("BENCH", "buy", 400_000, 1.0, 390)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    for label, params in [
        ("no risk, child cap 2000", NonlinearParams(max_child_order_shares=2000.0)),
        ("risk 1e-6", NonlinearParams(risk_aversion_per_usd=1e-6)),
    ]:
        for paths in (1, 10_000):
            policy = NonlinearPolicy(order, market, params, reoptimise_every_slices=5)
            policy.trades(0, np.full(paths, order.shares))
            remaining = order.shares * np.random.default_rng(0).uniform(0.8, 0.95, paths)
            times = []
            for k in range(5, 105, 5):
                start = time.perf_counter()
                policy.trades(k, remaining)
                times.append(time.perf_counter() - start)
                remaining = remaining * 0.97
            print(
                f"policy decision ({label}, {paths:>6} paths, re-solving 385..290 slices): "
                f"median {np.median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--de-generations", type=int, default=100)
    parser.add_argument("--risk-instances", type=int, default=5)
    parser.add_argument("--no-de", action="store_true")
    args = parser.parse_args()
    static_table(args.instances, args.de_generations, not args.no_de)
    if args.risk_instances:
        risk_table(args.risk_instances)
    policy_timing()


if __name__ == "__main__":
    main()
