"""Post-trade page: fills against the pre-trade estimate, the cost decomposition, the recalibration (issue 4).

A thin page: every computation is in optexec.calibration; this file reads widgets and draws.
"""

import streamlit as st

from optexec.calibration import posttrade, run
from optexec.store import db
from optexec.ui import calibration_figures as figures
from optexec.ui import formats, markets
from optexec.ui.posttrade_view import HISTORY_COLUMNS, WEEK_COLUMNS, on_exchange_clock, order_columns
from optexec.ui.state import ensure_navigation

ensure_navigation()

st.title("Post-trade")


@st.cache_data(max_entries=8, show_spinner=False)
def stored_symbols(version: str) -> list[str]:
    """The symbols with past orders at store ``version`` (``db.version()``, a file stat): read once for every
    session until the store changes."""
    with db.reading() as con:
        return posttrade.symbols_with_orders(con)


@st.cache_data(max_entries=32, show_spinner=False)
def stored_orders(version: str, symbol: str) -> tuple:
    """``symbol``'s orders against their estimates, its accepted calibration and its η history, from one state of
    the store (``version``), read once for every session until the store changes."""
    with db.reading() as con:
        return (posttrade.order_slippage(con, symbol), run.latest_calibration(con, symbol),
                run.parameter_history(con, symbol, "eta"))  # fmt: skip


try:
    symbols = stored_symbols(db.version())
except ValueError as exc:
    st.error(formats.message(exc))
    st.stop()
if not symbols:
    st.info("No past orders in the store: load orders and fills on the Data page to compare them with estimates.")
    st.stop()

ticket_symbol = st.session_state.get("symbol")  # default to the sidebar ticket's symbol
symbol = st.selectbox(
    "Symbol", symbols, index=symbols.index(ticket_symbol) if ticket_symbol in symbols else 0, key="pt_symbol"
)
if ticket_symbol is not None and ticket_symbol not in symbols:
    st.caption(
        formats.plain(
            f"{ticket_symbol}, the ticket's symbol, has no past orders in the store: showing {symbol}. Symbols with "
            f"past orders: {', '.join(symbols)}."
        )
    )
try:
    orders, stored, history = stored_orders(db.version(), symbol)  # one state of the store for the whole page
except ValueError as exc:
    st.error(formats.message(exc))
    st.stop()
if orders.empty:
    st.info(formats.plain(f"{symbol} has no orders with a usable arrival price."))
    st.stop()

session = markets.session_for(symbol)
zone = session.time_zone if session is not None else "UTC"
st.subheader("Realised against expected, per order")
st.dataframe(
    on_exchange_clock(orders, zone),
    hide_index=True,
    width="stretch",
    key="pt_orders",
    column_config=order_columns(zone),
)
st.plotly_chart(figures.decomposition_figure(orders), width="stretch", key="pt_decomposition")

st.subheader("Weekly recalibration of the temporary impact η")
if stored is None or "eta" not in stored.values:
    st.info(formats.plain(f"{symbol} has no accepted calibration: calibrate it on the Calibrate page first."))
    st.stop()
weeks = posttrade.weekly_recalibration(orders, stored.values["eta"])
st.caption(
    "η after = η before × the week's realised / expected cost, the factor clipped to 0.5–2; one step per week in "
    "which orders ended."
)
st.dataframe(weeks, hide_index=True, width="stretch", key="pt_weeks", column_config=WEEK_COLUMNS)
if not weeks.empty:
    new_eta = float(weeks["after"].iloc[-1])
    change = new_eta / stored.values["eta"]
    unit = "$/share per share/day"
    st.markdown(
        formats.markdown_safe(
            f"Temporary impact η now {formats.with_unit(stored.values['eta'], unit)}; after the updates "
            f"{formats.with_unit(new_eta, unit)} (×{change:.2f})."
        )
    )
    if change >= 2 or change <= 0.5:
        st.warning(
            "The update moves η by a factor of 2 or more: the weekly ratios hit their clip. With one or two orders "
            "a week the ratio is noisy; check the orders above before applying it."
        )
    if st.button("Apply the update to the symbol's parameters", key="pt_apply"):
        try:
            with db.writing() as con:
                ts = run.save_recalibrated(
                    con, symbol, "eta", new_eta, f"post-trade weekly update over {len(weeks)} week(s)"
                )
                history = run.parameter_history(con, symbol, "eta")
        except ValueError as exc:
            st.error(formats.message(exc))
        else:
            st.success(f"Saved and accepted as run {ts:%Y-%m-%d %H:%M:%S} UTC.")

st.subheader("History of the temporary impact η")
st.plotly_chart(figures.history_figure(history, "eta"), width="stretch", key="pt_history")
st.dataframe(history, hide_index=True, width="stretch", key="pt_history_table", column_config=HISTORY_COLUMNS)
