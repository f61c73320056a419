"""Calibrate page: estimate a symbol's parameters from the store, inspect the fits, accept them (issue 4).

A thin page: every computation is in optexec.calibrate; this file reads widgets and draws.
"""

import datetime as dt

import streamlit as st

from optexec.calibrate import figures, run
from optexec.store import db
from optexec.ui.state import ensure_navigation

ensure_navigation()

st.title("Calibrate")

try:
    con = db.connect()
    symbols = db.list_symbols(con)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
if not symbols:
    st.info("The store holds no market data yet: load bars (and trades, quotes) on the Data page first.")
    st.stop()

c1, c2, c3 = st.columns([2, 1, 1])
ticket_symbol = st.session_state.get("symbol")  # default to the sidebar ticket's symbol
symbol = c1.selectbox(
    "Symbol", symbols, index=symbols.index(ticket_symbol) if ticket_symbol in symbols else 0, key="cal_symbol"
)
span = (
    con.cursor()
    .execute("SELECT CAST(min(ts) AS DATE), CAST(max(ts) AS DATE) FROM bars WHERE symbol = ?", [symbol])
    .fetchone()
)
first, last = span if span and span[0] else (dt.date.today(), dt.date.today())
start = c2.date_input("From", value=first, key="cal_start")
end = c3.date_input("To", value=last, key="cal_end")

stored = run.latest_calibration(con, symbol)
if stored is not None:
    st.caption(
        f"Parameters in use for {symbol}: run of {stored.run_ts:%Y-%m-%d %H:%M} UTC on data "
        f"{stored.window_start:%Y-%m-%d} to {stored.window_end:%Y-%m-%d}."
        if stored.window_start
        else f"Parameters in use for {symbol}: run of {stored.run_ts:%Y-%m-%d %H:%M} UTC."
    )
else:
    st.caption(f"{symbol} has no accepted calibration yet: the planner uses defaults for it.")

key = ("cal_result", symbol, str(start), str(end))
if st.button("Run calibration", type="primary", key="cal_run"):
    bar = st.progress(0.0, text="starting")
    try:
        result = run.calibrate(
            con, symbol, start, end, progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text)
        )
    except ValueError as exc:
        st.session_state.pop("cal_result", None)
        st.error(str(exc))
        st.stop()
    st.session_state["cal_result"] = (key, result)

saved = st.session_state.get("cal_result")
if not saved or saved[0] != key:
    st.info("Choose a symbol and a window, then run the calibration.")
    st.stop()
result = saved[1]

st.subheader(f"{result.symbol}: {result.days} days, {result.window_start} to {result.window_end}")
st.caption(f"computed in {result.seconds:.2f} s")
table = run.as_table(result)
st.dataframe(table, hide_index=True, width="stretch", key="cal_table")
for warning in result.warnings:
    st.warning(warning.replace("$", "\\$"))

vol_tab, profile_tab, impact_tab, factor_tab = st.tabs(["Volatility", "Volume profile", "Impact", "Vol factors"])
with vol_tab:
    st.plotly_chart(figures.volatility_figure(result), width="stretch", key="cal_vol_chart")
with profile_tab:
    st.plotly_chart(figures.profile_figure(result), width="stretch", key="cal_profile_chart")
with impact_tab:
    if result.impact is None:
        st.info("No signed trades in the window: impact comes from published laws (see the table).")
    else:
        st.plotly_chart(figures.impact_figure(result), width="stretch", key="cal_impact_chart")
        st.caption(f"Best temporary-impact form by AIC: {result.impact.best_form}.")
with factor_tab:
    if result.factors is None:
        st.info("Too few days for the volatility factors.")
    else:
        st.plotly_chart(figures.factor_figure(result), width="stretch", key="cal_factor_chart")

if st.button(f"Accept as {result.symbol}'s parameters", key="cal_accept"):
    try:
        accepted = run.save(con, result, accept=True)
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.session_state["cal_result"] = (key, accepted)
        st.success(f"Saved and accepted: run {accepted.run_ts:%Y-%m-%d %H:%M:%S} UTC.")
