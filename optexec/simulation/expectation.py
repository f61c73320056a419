"""What a static schedule is expected to cost in the simulated market, beside the planner's closed form.

The planner prices a schedule at the expected market volume and spread and at the market's constant drift
(``optexec.market.expected_cost``, docs/MATH.md section 11). The simulated market (``MarketModel``) is richer: its
volume is random, and the power-law temporary impact, charged against the realised volume, is convex in 1 / v, so
its mean is the closed form times E[(v / vbar)^-p] (``MarketModel.inverse_volume_moment``, Jensen). Every other
charge is linear in the spread or does not see the volume (the spread's noise and regimes average to the
MarketParams spread; the linear temporary, permanent and transient charges and the block sweep do not depend on
the volume), and the market move's mean follows the signal's mean path, x0 e^{-kappa t}. So for a static schedule

    E[simulated cost] = closed form + (M - 1) x its power-law temporary cost + (mean market move - closed drift)

exactly, whatever the volatility factors do (they move the variance, not the mean). A feedback policy trades
differently on every path; for it the numbers are those of the schedule its plan prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optexec.market import PowerTemporary, StaticTrades, cost_model, expected_cost
from optexec.models import Schedule
from optexec.simulation.market import MarketModel


@dataclass(frozen=True)
class MarketExpectation:
    """A static schedule's expected cost, $: the planner's closed form and the simulated market's expectation.

    closed_form_usd : the planner's expected cost (at the expected volume and spread, constant drift).
    volume_noise_usd : the Jensen term, (E[(v / vbar)^-p] - 1) x the schedule's power-law temporary cost.
    drift_usd : the simulated market move's mean minus the closed form's drift term (0 with a constant drift).
    """

    closed_form_usd: float
    volume_noise_usd: float
    drift_usd: float

    @property
    def expected_usd(self) -> float:
        """The mean cost of the schedule in the simulated market, $ (module docstring)."""
        return self.closed_form_usd + self.volume_noise_usd + self.drift_usd


def mean_mid_move_usd(schedule: Schedule, model: MarketModel) -> np.ndarray:
    """E[M_k] - P0 at the start of each slice k = 0..N-1, $/share (optexec.simulation.market: the OU signal's mean
    x0 e^{-kappa t}, integrated exactly over each slice; arithmetic or geometric mid)."""
    order, market = schedule.order, schedule.market
    tau, kappa = order.slice_days, model.signal_mean_reversion_per_day
    hold = tau if kappa == 0 else -math.expm1(-kappa * tau) / kappa
    steps = market.drift_usd_per_day * np.exp(-kappa * tau * np.arange(order.slices)) * hold
    before = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    if model.price_model == "geometric":  # E[exp(sum of normal steps with the -var/2 correction)] = exp(drift sum)
        return market.price_usd * np.expm1(before / market.price_usd)
    return before


def market_expectation(schedule: Schedule, model: MarketModel) -> MarketExpectation:
    """The schedule's closed form and its expectation in the simulated market (module docstring)."""
    closed = expected_cost(schedule)
    trades = StaticTrades.of(schedule)
    power = sum(
        float(c.expected_usd(trades)) for c in cost_model(schedule.market).components if isinstance(c, PowerTemporary)
    )
    multiplier = model.inverse_volume_moment(schedule.market.power_exponent) if power else 1.0
    move = schedule.order.side_sign * float(np.dot(schedule.trades_shares, mean_mid_move_usd(schedule, model)))
    return MarketExpectation(float(closed.expected_usd), (multiplier - 1.0) * power, move - float(closed.drift_usd))
