"""Where a symbol's default market parameters come from, for the app and the command line.

In order: the symbol's latest accepted calibration in the store (optexec.calibration), else, for the bundled
synthetic symbols, the parameters planted by the sample generator (optexec/sample_data/planted_params.json).
A calibration's MarketParams carry every fitted parameter with its stderr and source (``MarketParams.sources``), and
``multiscale_settings`` gives the multiscale strategy's settings fitted by the run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from optexec.calibration import StoredCalibration, latest_calibration
from optexec.calibration.market_model import multiscale_settings
from optexec.calibration.run import load_run
from optexec.models import MarketParams
from optexec.store import db, sample

CALIBRATION, PLANTED, DEMO = "calibration", "planted", "demo"
__all__ = [
    "SymbolParams",
    "calibration_params",
    "multiscale_settings",
    "plannable_symbols",
    "run_params",
    "stored_market",
    "symbol_params",
]


@dataclass(frozen=True)
class SymbolParams:
    """A symbol's default parameters, a sentence saying where they come from, and which calibration run it is.

    ``kind`` is "calibration" (``run_ts`` is the run, UTC), "planted" (bundled sample) or "demo".
    """

    market: MarketParams
    source: str
    kind: str = CALIBRATION
    run_ts: dt.datetime | None = None
    window: str = ""  # the calibration's data window, "2025-01-02 to 2025-03-28"


def calibration_params(stored: StoredCalibration, latest: bool = True) -> SymbolParams:
    """A stored calibration run's parameters with the sentence naming the run and its data window."""
    window = (
        f"{stored.window_start:%Y-%m-%d} to {stored.window_end:%Y-%m-%d}"
        if stored.window_start and stored.window_end
        else ""
    )
    which = (
        "latest accepted run" if latest else ("an earlier accepted run" if stored.accepted else "a run never accepted")
    )
    notes = ""
    if stored.not_acceptable and stored.acceptance:  # an acceptance insisted on against the data's checks
        notes += f" It was {stored.acceptance.rstrip('.')}."
    if stored.values.get("gamma", 0.0) < 0:
        notes += f" The fitted permanent impact γ was negative ({stored.values['gamma']:.3g}); 0 is used."
    return SymbolParams(
        stored.market_params(),
        f"Parameters: calibration of {stored.symbol} run {stored.run_ts:%Y-%m-%d %H:%M:%S} UTC"
        f"{f' on data from {window}' if window else ''} ({which}).{notes}",
        CALIBRATION,
        stored.run_ts,
        window,
    )


def symbol_params(con, symbol: str) -> SymbolParams:
    """The symbol's parameters: latest accepted calibration, else planted sample parameters, else ValueError."""
    stored = latest_calibration(con, symbol)
    if stored is not None:
        return calibration_params(stored)
    if symbol in sample.sample_symbols():
        return SymbolParams(
            sample.planted_market_params(symbol),
            f"Parameters: {symbol} is a synthetic symbol of the bundled sample, not yet calibrated; these are the "
            "parameters the sample's generator planted (synthetic values, not calibrated).",
            PLANTED,
        )
    raise ValueError(f"no parameters for {symbol} yet: calibrate it on the Calibrate page (or `calibrate --symbol`)")


def stored_market(con, symbol: str, cost_model: str | None = None, where: str = "") -> tuple[MarketParams, str, str]:
    """The symbol's stored parameters (``symbol_params``) under the chosen cost model, each value's source
    recorded, where they come from and why that model (``model_card.choose_cost_model``; ``where`` says where the
    model was chosen, e.g. "in the call")."""
    from optexec import model_card

    stored = symbol_params(con, symbol)
    market = model_card.stored_sources(stored.market, stored.kind, stored.run_ts)
    name, reason = model_card.choose_cost_model(cost_model, stored.kind == CALIBRATION, symbol, where)
    return model_card.with_cost_model(market, name), stored.source, reason


def run_params(con, symbol: str, run_ts: dt.datetime) -> SymbolParams | None:
    """The parameters of one calibration run of ``symbol`` (e.g. the run a shared link was priced with), or None
    when the store holds no such run."""
    try:
        stored = load_run(con, symbol, run_ts)
    except ValueError:
        return None
    latest = latest_calibration(con, symbol)
    return calibration_params(stored, latest=latest is not None and latest.run_ts == run_ts)


def plannable_symbols(con) -> list[str]:
    """Symbols in the store, the bundled sample's first, in the order a trader would pick them."""
    stored = db.list_symbols(con)
    first = [s for s in sample.sample_symbols() if s in stored]
    return first + [s for s in stored if s not in first]
