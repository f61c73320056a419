"""The Calibrate page's "many symbols" section: pick symbols, an engine, run, watch each symbol, sort the results.

Every computation is optexec.calibration.universe's (the command line's ``calibrate --symbols``); this draws it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from optexec.calibration import universe
from optexec.engines import EngineChoice, machine_workers
from optexec.ui import formats
from optexec.ui.state import show_warnings

SERIAL, DASK = "Serial (one symbol after the other, here)", "Local Dask cluster (worker processes)"
#: the result table's columns, with their units
COLUMNS = {
    "symbol": "symbol",
    "status": "status",
    "accepted": "accepted",
    "days": "days",
    "price_usd": "price ($/share)",
    "sigma_daily": "σ (fraction of price/√day)",
    "adv_shares": "ADV (shares/day)",
    "spread_usd": "spread ($/share)",
    "eta": "η ($/share per share/day)",
    "gamma": "γ ($/share per share)",
    "warnings": "warnings",
    "not_acceptable": "not acceptable because",
    "error": "failed because",
    "seconds": "seconds (s)",
    "worker": "ran on",
}


def result_table(result: universe.UniverseResult) -> pd.DataFrame:
    """The page's table: one row per symbol, the columns named with their units."""
    frame = result.to_frame()
    return frame[[c for c in COLUMNS if c in frame]].rename(columns=COLUMNS)


def render(symbols: list[str], store_path: str | None = None) -> None:
    """The section: symbols (or all), engine, run with a per-symbol progress list, then the sortable results."""
    st.caption(
        "Calibrate several symbols at once, one task per symbol; each run is saved and accepted when its data "
        "support it (all of them in one write). On Dask each symbol runs in a worker process."
    )
    all_symbols = st.checkbox(f"All {len(symbols)} symbols", key="uni_all")
    chosen = symbols if all_symbols else st.multiselect("Symbols", symbols, key="uni_symbols")
    c1, c2 = st.columns([2, 1])
    engine = c1.radio("Engine", (SERIAL, DASK), key="uni_engine", horizontal=True)
    workers = c2.number_input(
        "Dask workers", min_value=1, max_value=64, value=machine_workers(), step=1, key="uni_workers",
        disabled=engine != DASK, help="worker processes of the local cluster (default: one per core)",
    )  # fmt: skip
    save = st.checkbox("Save the runs (accepted when the data support them)", value=True, key="uni_save")
    if st.button("Calibrate these symbols", key="uni_run", disabled=not chosen):
        choice = EngineChoice("dask", int(workers)) if engine == DASK else EngineChoice("serial")
        bar = st.progress(0.0, text=f"{len(chosen)} symbols on {choice.describe()}")
        listing = st.empty()
        done_rows: list[dict] = []

        def on_done(outcome: universe.SymbolOutcome, done: int, total: int) -> None:
            state = f"done in {outcome.seconds:.2f} s" if outcome.ok else f"failed: {outcome.error}"
            done_rows.append({"symbol": outcome.symbol, "state": state, "ran on": outcome.worker})
            bar.progress(done / total, text=f"{done} of {total} symbols done")
            listing.dataframe(pd.DataFrame(done_rows), hide_index=True, width="stretch")

        try:
            result = universe.calibrate_universe(list(chosen), choice, store_path=store_path, save=save,
                                                 on_done=on_done)  # fmt: skip
        except ValueError as exc:
            bar.empty()
            st.error(formats.message(exc))
            return
        bar.empty()  # the per-symbol list above and the result's own line below say what was done
        st.session_state["uni_result"] = result
    shown: universe.UniverseResult | None = st.session_state.get("uni_result")
    if shown is None:
        return
    result = shown
    ok = len(result.outcomes) - len(result.failed)
    saved = "saved" if result.saved else "not saved"
    st.markdown(
        formats.plain(
            f"{ok} of {len(result.outcomes)} symbols calibrated from {result.source} on {result.engine} in "
            f"{result.seconds:.1f} s ({saved})"
        )
    )
    st.dataframe(
        result_table(result),
        hide_index=True,
        width="stretch",
        key="uni_table",
        column_config={COLUMNS[name]: st.column_config.NumberColumn(format="%.3e") for name in ("eta", "gamma")},
    )
    show_warnings([f"{outcome.symbol} failed: {outcome.error}" for outcome in result.failed], "symbols failed")
