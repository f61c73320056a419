"""Where a symbol's default market parameters come from, for the app and the command line.

In order: the symbol's latest accepted calibration in the store (optexec.calibrate), else, for the bundled
synthetic symbols, the parameters planted by the sample generator (data/planted_params.json).
"""

from __future__ import annotations

from dataclasses import dataclass

from optexec.calibrate import latest_calibration
from optexec.models import MarketParams
from optexec.store import db, sample


@dataclass(frozen=True)
class SymbolParams:
    """A symbol's default parameters and a sentence saying where they come from (for reports)."""

    market: MarketParams
    source: str


def symbol_params(con, symbol: str) -> SymbolParams:
    """The symbol's parameters: latest accepted calibration, else planted sample parameters, else ValueError."""
    stored = latest_calibration(con, symbol)
    if stored is not None:
        return SymbolParams(
            stored.market_params(),
            f"Parameters: calibration of {symbol} run {stored.run_ts:%Y-%m-%d %H:%M} UTC on data from "
            f"{stored.window_start} to {stored.window_end} (latest accepted run).",
        )
    if symbol in sample.sample_symbols():
        return SymbolParams(
            sample.planted_market_params(symbol),
            f"Parameters: {symbol} is a synthetic symbol of the bundled sample, not yet calibrated; these are the "
            "parameters planted by the sample generator (data/planted_params.json).",
        )
    raise ValueError(f"no parameters for {symbol} yet: calibrate it on the Calibrate page (or `calibrate --symbol`)")


def plannable_symbols(con) -> list[str]:
    """Symbols in the store, the bundled sample's first, in the order a trader would pick them."""
    stored = db.list_symbols(con)
    first = [s for s in sample.sample_symbols() if s in stored]
    return first + [s for s in stored if s not in first]
