"""Where the app's market parameters come from: the symbols it offers and each one's parameters."""

from __future__ import annotations

from optexec.models import MarketParams, u_shaped_volume_profile

DEMO_SYMBOL = "DEMO"


def demo_market() -> MarketParams:
    """The Almgren–Chriss Table 1 stock (MATH.md section 2) with a U-shaped intraday volume profile."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())


def symbols() -> list[str]:
    """Symbols the ticket offers."""
    return [DEMO_SYMBOL]


def market_for(symbol: str) -> MarketParams:
    """The default market parameters of a symbol."""
    return demo_market()


def parameter_source(symbol: str) -> str:
    """Where the symbol's default parameters come from, for reports."""
    return "Parameters: the Almgren–Chriss (2000) Table 1 example stock with a stylised U-shaped volume profile."
