"""Expected cost and variance of any schedule under its market's cost model (docs/MATH.md sections 2, 8 and 11).

The formulas live in optexec.market (one cost model for the planner, the simulator, the RL environment and the
allocators); this module packages them for one schedule. The Almgren–Chriss optimum's closed forms and
efficient frontier are the strategy's own (optexec.strategies.almgren_chriss).
Under the linear model, for child orders n_k and holdings x_k after child order k, slices of tau days:

    E = 1/2 gamma X^2 + eps sum|n_k| + (eta~ / tau) sum n_k^2 + drift,  eta~ = eta - gamma tau / 2   (eq 8)
    V = sigma^2 tau sum_{k=1}^{N} x_k^2                                                           (eq 5)

Costs are in $ (positive = money lost, buys and sells alike) and in bps of the arrival notional X S_0.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from optexec import market as market_model
from optexec.market import value_at_risk_usd
from optexec.models import MarketParams, Schedule


@dataclass(frozen=True)
class CostEstimate:
    """Closed-form pre-trade cost of one schedule, in $ unless a name says otherwise."""

    strategy: str
    arrival_notional_usd: float
    spread_usd: float
    temporary_usd: float
    permanent_usd: float
    drift_usd: float
    variance_usd2: float
    transient_usd: float = 0.0

    @property
    def expected_usd(self) -> float:
        """Expected cost E: the sum of the components."""
        return self.spread_usd + self.temporary_usd + self.permanent_usd + self.transient_usd + self.drift_usd

    @property
    def std_usd(self) -> float:
        """Standard deviation sqrt(V) of the cost."""
        return math.sqrt(max(self.variance_usd2, 0.0))

    def to_bps(self, usd: float) -> float:
        """A $ amount in basis points of the arrival notional."""
        return 1e4 * usd / self.arrival_notional_usd

    def objective_usd(self, risk_aversion_per_usd: float) -> float:
        """Mean-variance objective E + lambda V (docs/MATH.md section 2)."""
        return self.expected_usd + risk_aversion_per_usd * self.variance_usd2

    def var_usd(self, confidence: float = 0.95) -> float:
        """Value at risk of the cost, E + z sqrt(V) (normal cost distribution)."""
        return value_at_risk_usd(self.expected_usd, self.variance_usd2, confidence)


def estimate(schedule: Schedule, market: MarketParams | None = None) -> CostEstimate:
    """Expected cost split by component, and variance, of any schedule under a market's cost model (the schedule's
    own market by default; docs/MATH.md sections 2, 8 and 11)."""
    if market is not None and market is not schedule.market:
        schedule = dataclasses.replace(schedule, market=market)
    cost = market_model.expected_cost(schedule)
    buckets = cost.buckets_usd
    return CostEstimate(
        strategy=schedule.strategy,
        arrival_notional_usd=schedule.order.shares * schedule.market.price_usd,
        spread_usd=float(buckets["spread"]),
        temporary_usd=float(buckets["temporary"]),
        permanent_usd=float(buckets["permanent"]),
        drift_usd=float(cost.drift_usd),
        variance_usd2=float(cost.variance_usd2),
        transient_usd=float(buckets["transient"]),
    )
