"""Benchmark a 500-order basket (issue 15, item 7): reading it, its costs and risk, and joint_ac.

A synthetic basket of M orders (random prices, volatilities, spreads, ADVs; sizes 0.1–10% of ADV; buys and sells)
given as a table with its market columns, and a 3-factor correlation matrix. Times, best of R runs: parsing the
table, resolving the markets, the joint multi-asset AC solve alone (optexec.baskets.solve), the whole plan
(joint_ac + independent_ac + twap: schedules, per-order costs under each symbol's model, the basket risk), and the
frontier; beside them a bare numpy reference: one eigen-decomposition of the M x M matrix and the holdings product.

    python -m benchmarks.bench_basket [--orders 500] [--slices 26] [--repeats 3] [--staggered]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from optexec.baskets import solve
from optexec.baskets.correlation import Correlation
from optexec.baskets.input import parse_basket
from optexec.baskets.markets import resolve
from optexec.baskets.plan import frontier, plan_orders
from optexec.baskets.risk import covariance


def synthetic(orders: int, seed: int = 0, staggered: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """A basket table with market columns and a factor-model correlation of its names."""
    rng = np.random.default_rng(seed)
    price = rng.uniform(5, 400, orders)
    adv = 10 ** rng.uniform(5, 7.5, orders)
    table = pd.DataFrame({
        "symbol": [f"S{i:04d}" for i in range(orders)],
        "side": rng.choice(["buy", "sell"], orders),
        "pct_adv": rng.uniform(0.1, 10, orders).round(3),
        "sector": rng.choice(["tech", "fin", "health", "energy", "staples"], orders),
        "price": price.round(2),
        "sigma": (price * rng.uniform(0.01, 0.04, orders)).round(4),
        "spread": np.maximum(0.01, price * rng.uniform(2e-4, 1e-3, orders)).round(4),
        "adv": adv.round(0),
    })  # fmt: skip
    if staggered:
        table["horizon_days"] = rng.choice([0.25, 0.5, 1.0], orders)
    loadings = rng.normal(0, 1, (orders, 3)) * [0.6, 0.3, 0.2]
    cov = loadings @ loadings.T + np.diag(rng.uniform(0.3, 1.0, orders))
    std = np.sqrt(np.diag(cov))
    return table, cov / np.outer(std, std)


def best(function, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = function()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--slices", type=int, default=26)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--staggered", action="store_true", help="per-order horizons (the KKT solve)")
    args = parser.parse_args()
    table, matrix = synthetic(args.orders, staggered=args.staggered)
    symbols = tuple(table["symbol"])
    correlation = Correlation(symbols, matrix, "synthetic 3-factor model")
    lam = 1e-6

    t_parse, basket = best(lambda: parse_basket(table), args.repeats)
    t_resolve, orders = best(lambda: resolve(basket), args.repeats)
    t_plan, plan = best(lambda: plan_orders(orders, correlation, 1.0, args.slices, lam), args.repeats)
    grid = plan.grid
    h = np.array([o.market.eta_usd_day_per_share2 - 0.5 * o.market.gamma_usd_per_share2 * grid.slice_days
                  for o in orders])  # fmt: skip
    signs = plan.side_signs
    start = signs * np.array([o.shares for o in orders])
    cov = covariance(np.array([o.market.sigma_usd_per_sqrt_day for o in orders]), matrix)
    t_solve, _ = best(
        lambda: solve.JointProblem(start, h, cov, grid.slice_days, grid.end_slices).holdings(lam), args.repeats
    )
    t_frontier, _ = best(lambda: frontier(plan, points=10), 1)

    def reference():
        root = np.sqrt(h)
        mu, u = np.linalg.eigh(cov / np.outer(root, root))
        kappa = 2 / grid.slice_days * np.arcsinh(0.5 * grid.slice_days * np.sqrt(lam * np.maximum(mu, 0)))
        t = grid.times_days[:, None]
        ratio = np.sinh(kappa * (grid.horizon_days - t)) / np.sinh(kappa * grid.horizon_days)
        return ((ratio * (u.T @ (root * start))) @ u.T) / root

    t_reference, _ = best(reference, args.repeats)
    joint = plan.strategy("joint_ac")
    how = "per-order horizons (KKT)" if args.staggered else "one horizon (eigen)"
    print(f"basket of {args.orders} orders, {args.slices} slices, {how}; best of {args.repeats}")
    print(f"{'step':<58}{'seconds':>10}")
    rows = [
        ("parse the table (per-cell checks)", t_parse),
        ("resolve markets and shares", t_resolve),
        ("joint_ac solve alone (optexec.baskets.solve)", t_solve),
        ("numpy reference: one eigh + holdings product", t_reference),
        ("plan: joint_ac + independent_ac + twap, costs and risk", t_plan),
        ("costs, risk and joint_ac: parse + resolve + plan", t_parse + t_resolve + t_plan),
        ("frontier, 10 risk aversions x 2 strategies (on demand)", t_frontier),
    ]
    for label, seconds in rows:
        print(f"{label:<58}{seconds:>10.3f}")
    print(
        f"\njoint_ac: E ${joint.expected_usd:,.0f} ({plan.bps(joint.expected_usd):.1f} bps of gross "
        f"${plan.gross_notional_usd:,.0f}), std ${joint.risk.std_usd:,.0f} with the correlation, "
        f"${joint.risk.std_uncorrelated_usd:,.0f} without"
    )


if __name__ == "__main__":
    main()
