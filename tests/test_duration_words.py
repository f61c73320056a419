"""Durations in words (optexec.clock.duration_words, docs/MATH.md section 13) and the core messages that use them."""

from __future__ import annotations

import pytest

from optexec.clock import duration_words
from optexec.models import MarketParams, Order
from optexec.strategies.benchmarks import POVParams, pov


@pytest.mark.parametrize(
    "days, session_minutes, words",
    [
        (2 / 6.5, 390, "2 h"),  # two hours of a 6.5-hour session
        (45 / 390, 390, "45 min"),
        (1.5, 390, "1.5 trading days"),
        (1.0, 390, "1 trading day"),
        (0.5, 390, "3.25 h"),
        (10 / 390 / 60, 390, "10 s"),
        (30 / 390, 390, "30 min"),
        (2 / 6.5, 210, "1.08 h"),  # the same trading-day fraction of a shorter session is a shorter time
        (60 / 210, 210, "1 h"),
        (252.0, 390, "252 trading days"),
        (1234.5, 390, "1,230 trading days"),
    ],
)
def test_a_duration_reads_in_the_unit_a_trader_uses(days, session_minutes, words):
    assert duration_words(days, session_minutes) == words


def test_a_whole_session_is_a_trading_day_and_less_is_hours():
    assert duration_words(389.4 / 390) == "6.49 h"
    assert duration_words(1 - 1e-12) == "1 trading day"  # a rounding error below a session is the session


def test_pov_says_in_hours_that_it_cannot_finish_a_two_hour_order():
    market = MarketParams(50.0, 0.95, 0.125, 1e6, 2.5e-6, 2.5e-7)
    order = Order("D", "buy", 150_000, 2 / 6.5, 10)
    schedule = pov(order, market, POVParams(0.1, max_participation=1.0))
    assert schedule.warnings[0].startswith("POV at 10% of volume cannot finish within 2 h: ")
    assert "0.307692" not in schedule.warnings[0]
