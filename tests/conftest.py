"""Shared fixtures: a private sample database, and the Almgren–Chriss Table 1 example (MATH.md section 2)."""

import os

import pytest

from optexec.models import MarketParams, Order
from optexec.store.sample import build_sample_database


@pytest.fixture
def table1_order() -> Order:
    """Sell 10^6 shares over 5 days in 5 slices (MATH.md section 2, Table 1)."""
    return Order("DEMO", "sell", 1e6, 5.0, 5)


@pytest.fixture
def table1_market() -> MarketParams:
    """S0 = 50, sigma = 0.95 $/share/sqrt(day), spread 1/8, eta = 2.5e-6, gamma = 2.5e-7 (Table 1)."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)


@pytest.fixture(scope="session", autouse=True)
def _private_sample_database(tmp_path_factory):
    """Every test process works on its own copy of the bundled sample database, never on data/optexec.duckdb
    (which a running app may hold)."""
    path = tmp_path_factory.mktemp("store") / "optexec.duckdb"
    build_sample_database(path)
    previous = os.environ.get("OPTEXEC_DB")
    os.environ["OPTEXEC_DB"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("OPTEXEC_DB", None)
    else:
        os.environ["OPTEXEC_DB"] = previous
