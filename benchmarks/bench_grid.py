"""Grid invariance (issue 13 item 4): every registered strategy's expected cost at 24, 78 and 390 slices under each
cost model, for the issue's order (a 2%-of-ADV buy over 2 hours), and the build time; then the participation limit
(item 5): each strategy's largest child order as a share of its slice's expected volume on the issue's 25%-of-ADV
sell over 3 days (3 x 78 five-minute slices), without and with the 25% limit, and what the
row says; and what each strategy optimises.

    python benchmarks/bench_grid.py            # the tables (costs in bps of the arrival notional)
    python benchmarks/bench_grid.py --no-rl    # without the RL agent (it trains an agent per grid)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optexec import costs  # noqa: E402
from optexec.models import COST_MODELS, MarketParams, Order, u_shaped_volume_profile  # noqa: E402
from optexec.planning import resolve_inputs
from optexec.strategies import registry  # noqa: E402

GRIDS = (24, 78, 390)


def market(cost_model: str) -> MarketParams:
    """A $50 stock, 2% daily vol, 2-cent spread, 5M ADV, rules-of-thumb impact, U-shaped volume."""
    return MarketParams.from_rules_of_thumb(
        50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile(), cost_model=cost_model
    )


def order(slices: int) -> Order:
    """The issue's order: 2% of ADV, a buy over 2 hours."""
    return Order("GRID", "buy", 100_000, 120 / 390, slices)


def table(names: list[str]) -> list[tuple[str, str, list[float], float]]:
    """(strategy, cost model, expected cost in bps at each grid, build seconds) rows."""
    rows = []
    for cost_model in COST_MODELS:
        m = market(cost_model)
        for name in names:
            strategy = registry.get(name)
            start = time.perf_counter()
            bps = []
            for slices in GRIDS:
                o = order(slices)
                estimate = costs.estimate(strategy.schedule(o, m, resolve_inputs(o, m, {}, [strategy])))
                bps.append(estimate.to_bps(estimate.expected_usd))
            rows.append((name, cost_model, bps, time.perf_counter() - start))
    return rows


def participation_table(names: list[str]) -> None:
    """Largest participation without and with the 25% limit (lambda = 1e-6 and 5e-6) and the row's verdict."""
    m = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    big = Order("BIG", "sell", 0.25 * 5e6, 3.0, 3 * 78)
    print()
    print("25%-of-ADV sell over 3 days, 234 slices: largest child order / its slice's expected volume")
    print(f"{'strategy':<16} {'lambda':>7} {'no limit':>9} {'at 25%':>8}  row says")
    for name in names:
        strategy = registry.get(name)
        for lam in (1e-6, 5e-6):
            resolved = resolve_inputs(big, m, {"risk_aversion_per_usd": lam}, [strategy])
            free = strategy.schedule(big, m, {"risk_aversion_per_usd": lam, "max_participation": 1.0, **resolved})
            capped = strategy.schedule(big, m, {"risk_aversion_per_usd": lam, **resolved})
            notes = [w for w in capped.warnings if "max participation" in w]
            says = next((w for w in notes if w.startswith("cannot")), notes[0] if notes else "")
            verdict = "cannot: " + says.split(": ", 1)[1] if says.startswith("cannot") else ("capped" if says else "")
            print(
                f"{name:<16} {lam:7.0e} {free.participation.max():9.0%} {capped.participation.max():8.0%}  "
                f"{verdict[:110]}"
            )


def optimises_table(names: list[str]) -> None:
    """What each strategy optimises, per cost model."""
    print()
    for cost_model in COST_MODELS:
        m = market(cost_model)
        print(f"optimises under, for a market priced under the {cost_model!r} model:")
        for name in names:
            print(f"  {name:<16} {registry.get(name).optimises_under(m)}")


def main() -> None:
    names = [n for n in registry.STRATEGIES if not ("--no-rl" in sys.argv and n == "rl_agent")]
    print(f"{'strategy':<16} {'cost model':<17}" + "".join(f"{n:>10}" for n in GRIDS) + f"{'24->390':>10}"
          f"{'78->390':>10}{'build s':>9}")  # fmt: skip
    for name, cost_model, bps, seconds in table(names):
        change = [abs(b - bps[-1]) / abs(bps[-1]) if bps[-1] else 0.0 for b in bps[:-1]]
        print(f"{name:<16} {cost_model:<17}" + "".join(f"{b:10.2f}" for b in bps)
              + "".join(f"{c:10.2%}" for c in change) + f"{seconds:9.2f}")  # fmt: skip
    participation_table(names)
    optimises_table(names)


if __name__ == "__main__":
    main()
