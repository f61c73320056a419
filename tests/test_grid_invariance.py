"""Grid invariance (issue 13 item 4): every registered strategy's expected cost on the same order at 24, 78 and 390
slices, under each cost model, changes by less than its discretisation error, which shrinks as the grid is refined.

The order is the issue's: a 2%-of-ADV buy over 2 hours (benchmarks/bench_grid.py prints the table). Tolerances,
as a share of the 390-slice cost, per strategy (docs/MATH.md section 11):

* immediate: one block that sweeps the order book, the same on any grid: 1e-12.
* TWAP, VWAP, the ladder (TWAP), Almgren–Chriss (three), the nonlinear allocator, multiscale, regime-adaptive: a
  rate in time; what depends on the grid is the discrete permanent part -gamma sum n_k^2 / 2 (about
  gamma X^2 / (2N), 0.06% of the cost at N = 24 here under the linear model, 0.2% under the calibrated one where
  the cost is smaller), AC's discrete urgency (O(tau^2)) and the regime rule's speed path (O(1/N)): 12/N percent
  (0.5% at 24 slices, 0.15% at 78).
* POV: the slice in which it finishes is partly filled, an O(1/N) error of one slice's share: 48/N percent.
* Obizhaeva–Wang: its horizon ends at the start of the last slice (T' = T - tau, an error rho tau / (rho T + 2) of
  the transient cost, rho tau = 0.12 at 24 slices) and the participation limit moves its first slice's worked part
  by a grid-dependent amount: 2.5%.

With the participation limit off (max participation 1, pure discretisation) the error must also shrink: the
78-slice cost is closer to the 390-slice cost than the 24-slice one.
"""

import math

import pytest

from optexec import costs
from optexec.models import COST_MODELS, MarketParams, Order, u_shaped_volume_profile
from optexec.planning import resolve_inputs
from optexec.strategies import registry

#: the RL agent's build is resolved by its caller (a trained agent, the own-parts work) and its schedule is a
#: trained policy's mean, not a discretisation; it is not covered here
NOT_COVERED = {"rl_agent"}
GRIDS = (24, 78, 390)
ONE_OVER_N = {
    "twap": 12, "vwap": 12, "limit_ladder": 12, "ac_discrete": 12, "ac_continuous": 12, "ac_drift": 12,
    "nonlinear": 12, "multiscale": 12, "regime_adaptive": 12, "pov": 48,
}  # fmt: skip
FLAT = {"immediate": 1e-12, "obizhaeva_wang": 0.025}
COVERED = [name for name in registry.STRATEGIES if name not in NOT_COVERED]


def tolerance(name: str, slices: int) -> float:
    """The relative discretisation error allowed at ``slices`` (module docstring)."""
    return FLAT[name] if name in FLAT else ONE_OVER_N[name] / slices / 100


def market(cost_model: str) -> MarketParams:
    return MarketParams.from_rules_of_thumb(
        50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile(), cost_model=cost_model
    )


def expected_usd(name: str, cost_model: str, settings=None) -> list[float]:
    strategy, settings = registry.get(name), dict(settings or {})
    costs_usd = []
    for n in GRIDS:
        order, priced_market = Order("GRID", "buy", 100_000, 120 / 390, n), market(cost_model)
        resolved = resolve_inputs(order, priced_market, settings, [strategy])  # the regime's liquidity model
        costs_usd.append(costs.estimate(strategy.schedule(order, priced_market, {**settings, **resolved})).expected_usd)
    return costs_usd


def test_every_strategy_but_the_named_ones_has_a_tolerance():
    assert set(COVERED) == set(ONE_OVER_N) | set(FLAT)
    assert set(registry.STRATEGIES) - set(COVERED) == NOT_COVERED


@pytest.mark.parametrize("cost_model", COST_MODELS)
@pytest.mark.parametrize("name", COVERED)
def test_expected_cost_does_not_depend_on_the_grid(name, cost_model):
    at_24, at_78, at_390 = expected_usd(name, cost_model)
    assert abs(at_24 - at_390) <= tolerance(name, 24) * abs(at_390)
    assert abs(at_78 - at_390) <= tolerance(name, 78) * abs(at_390)
    free = expected_usd(name, cost_model, {"max_participation": 1.0})
    assert abs(free[1] - free[2]) <= abs(free[0] - free[2]) + 1e-9 * abs(free[2])


def test_immediate_was_the_issues_worst_case():
    """The issue measured Immediate at 510.7 bps on 390 slices and 34.9 bps on 24 (eta X^2 / tau of one slice);
    as one block it sweeps the book: eps X + (kappa + gamma) X^2 / 2 with kappa = rho eta, on every grid."""
    for cost_model in COST_MODELS:
        at_24, at_78, at_390 = expected_usd("immediate", cost_model)
        assert at_24 == at_78 == at_390
    kappa = math.log(2) * 390 / 30 * (0.02 / (0.01 * 5e6))  # rho eta: half-life 30 minutes, eta by the rule of thumb
    block = 0.01 * 1e5 + 0.5 * (kappa + 0.02 / (0.1 * 5e6)) * 1e5**2  # and its own permanent impact gamma X^2 / 2
    assert expected_usd("immediate", "linear")[0] == pytest.approx(block, rel=1e-12)
