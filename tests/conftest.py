"""Shared fixtures: the Almgren–Chriss Table 1 example (MATH.md section 2)."""

import pytest

from optexec.models import MarketParams, Order


@pytest.fixture
def table1_order() -> Order:
    """Sell 10^6 shares over 5 days in 5 slices (MATH.md section 2, Table 1)."""
    return Order("DEMO", "sell", 1e6, 5.0, 5)


@pytest.fixture
def table1_market() -> MarketParams:
    """S0 = 50, sigma = 0.95 $/share/sqrt(day), spread 1/8, eta = 2.5e-6, gamma = 2.5e-7 (Table 1)."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
