"""Calibrate page: estimate a symbol's parameters from the store, inspect the fits, accept them (issue 4).

A thin page: every computation is in optexec.calibration; this file reads widgets and draws.
"""

import datetime as dt

import streamlit as st

from optexec.calibration import data as cal_data
from optexec.calibration import run
from optexec.store import db
from optexec.ui import calibration_figures as figures
from optexec.ui import calibration_table, formats, universe_view
from optexec.ui.state import ensure_navigation, show_warnings

ensure_navigation()

st.title("Calibrate")


@st.cache_data(max_entries=8, show_spinner=False)
def stored_symbols(version: str) -> list[str]:
    """The store's symbols at ``version`` (``db.version()``, a file stat): read once for every session until the
    store changes."""
    with db.reading() as con:
        return db.list_symbols(con)


@st.cache_data(max_entries=32, show_spinner=False)
def stored_market(version: str, symbol: str) -> tuple:
    """``symbol``'s session and where it came from, its span of local dates and its accepted calibration, from one
    state of the store (``version``), read once for every session until the store changes."""
    with db.reading() as con:
        session, market_source = cal_data.instrument_market(con, symbol)
        return session, market_source, cal_data.local_span(con, symbol), run.latest_calibration(con, symbol)


try:
    symbols = stored_symbols(db.version())
except ValueError as exc:
    st.error(formats.message(exc))
    st.stop()
if not symbols:
    st.info("The store holds no market data yet: load bars (and trades, quotes) on the Data page first.")
    st.stop()

with st.expander("Many symbols at once (serial or on a local Dask cluster)"):
    universe_view.render(symbols)

c1, c2, c3 = st.columns([2, 1, 1])
ticket_symbol = st.session_state.get("symbol")  # default to the sidebar ticket's symbol
symbol = c1.selectbox(
    "Symbol",
    symbols,
    index=symbols.index(ticket_symbol) if ticket_symbol in symbols else 0,
    key="cal_symbol",
)
try:
    session, market_source, span, stored = stored_market(db.version(), symbol)
except ValueError as exc:
    st.error(formats.message(exc))
    st.stop()
first, last = span or (dt.date.today(), dt.date.today())
# one pair of date boxes per symbol: a new symbol shows its own span (a shared key kept the previous symbol's dates
# on the screen while the run used the new symbol's)
start = c2.date_input("From", value=first, key=f"cal_start_{symbol}")
end = c3.date_input("To", value=last, key=f"cal_end_{symbol}")
st.caption(formats.message(f"Market: {session.describe()} ({market_source}); dates are exchange-local."))

if stored is not None:
    window = f" on data {stored.window_start:%Y-%m-%d} to {stored.window_end:%Y-%m-%d}" if stored.window_start else ""
    despite = f" It was {stored.acceptance}." if stored.not_acceptable else ""
    st.caption(
        formats.message(f"Parameters in use for {symbol}: run of {stored.run_ts:%Y-%m-%d %H:%M} UTC{window}.{despite}")
    )
else:
    st.caption(formats.plain(f"{symbol} has no accepted calibration yet: the planner uses defaults for it."))

key = ("cal_result", symbol, str(start), str(end))
if st.button("Run calibration", type="primary", key="cal_run"):
    bar = st.progress(0.0, text="starting")
    try:
        with db.reading() as con:
            result = run.calibrate(
                con, symbol, start, end, progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text)
            )
    except ValueError as exc:
        bar.empty()
        st.session_state.pop("cal_result", None)
        st.error(formats.message(exc))
        st.stop()
    bar.empty()  # the run's own status (its heading and time) replaces the bar
    st.session_state["cal_result"] = (key, result)

saved = st.session_state.get("cal_result")
if not saved or saved[0] != key:
    st.info("Choose a symbol and a window, then run the calibration.")
    st.stop()
result = saved[1]

st.subheader(formats.plain(f"{result.symbol}: {result.days} days, {result.window_start} to {result.window_end}"))
st.caption(f"Calibration done: computed in {result.seconds:.2f} s.")
cov = result.coverage
st.markdown(
    f"**Data**: {formats.plain(cov.session.describe())}: {cov.bars_used:,} bars on {cov.days_used} full days"
    f"{f' and {len(cov.half_days)} half days (volatility only)' if cov.half_days else ''}; the median day has bars "
    f"in {cov.median_coverage:.0%} of its session minutes; no bar in the first hour on "
    f"{cov.share_days_without_first_hour:.0%} of days, in the last hour on {cov.share_days_without_last_hour:.0%}."
)
st.dataframe(
    calibration_table.readable(run.as_table(result)),
    hide_index=True,
    width="stretch",
    key="cal_table",
    column_config={
        "method": st.column_config.TextColumn(width="large"),
        "notes": st.column_config.TextColumn(width="large"),
    },  # fmt: skip
)
st.caption(calibration_table.DASH_NOTE)
with st.expander("Bars and days used and left out"):
    st.dataframe(cov.as_table(), hide_index=True, width="stretch", key="cal_data_table")
show_warnings([w for w in result.warnings if w not in result.not_acceptable], "warnings about the fit")

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
        st.caption(formats.plain(f"Best temporary-impact form by AIC: {result.impact.best_form}."))
with factor_tab:
    if result.factors is None:
        st.info("Too few days for the volatility factors.")
    else:
        st.plotly_chart(figures.factor_figure(result), width="stretch", key="cal_factor_chart")

reasons = result.not_acceptable
if reasons:
    st.warning(
        "Not acceptable as it stands:\n\n"
        + "\n".join(f"- {formats.message(r)}" for r in reasons)
        + "\n\nCheck the instrument's market on the Data page, or accept anyway (the override is recorded)."
    )
stretch = cov.longest_stretch
if stretch is not None:

    def use_stretch(first: dt.date = stretch[0], last: dt.date = stretch[1]) -> None:
        st.session_state[f"cal_start_{symbol}"], st.session_state[f"cal_end_{symbol}"] = first, last

    st.button(
        f"Use the window {stretch[0]:%Y-%m-%d} to {stretch[1]:%Y-%m-%d} (the longest stretch without a gap)",
        key="cal_use_stretch",
        on_click=use_stretch,
        help="sets From and To; then run the calibration again",
    )
a1, a2 = st.columns([2, 1])
insist = a2.checkbox("Accept anyway", key="cal_insist", disabled=not reasons, help="accept despite the reasons above")
if a1.button(formats.plain(f"Accept as {result.symbol}'s parameters"), key="cal_accept"):
    try:
        with db.writing() as con:
            accepted = run.save(con, result, accept=True, insist=insist)
    except ValueError as exc:
        st.error(formats.message(exc))
    else:
        st.session_state["cal_result"] = (key, accepted)
        note = " despite the reasons above (recorded with the run)" if reasons else ""
        st.success(formats.plain(f"Saved and accepted{note}: run {accepted.run_ts:%Y-%m-%d %H:%M:%S} UTC."))
