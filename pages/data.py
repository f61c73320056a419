"""Data page: load market-data files into the store, each instrument's market, and what is loaded.

A thin page: every computation is in optexec.store; this file reads widgets and draws. Messages are shown in the
page's words (``reports.for_page``), never as command-line flags.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from optexec.store import db, instruments, loading, sample
from optexec.store.reports import for_page
from optexec.store.schema import LOADABLE_TABLES
from optexec.ui.state import ensure_navigation

ensure_navigation()
st.title("Market data")


def show_report(report) -> None:
    """The load report's sentences: market, time zones, rows outside the session and the calendar."""
    for note in report.notes():
        st.info(note)


try:
    if not db.resolve_path().exists():
        with st.spinner("Building the sample database from data/ (first use, a few seconds)..."):
            with db.writing():
                pass
    with db.reading() as con:
        summary = db.symbol_summary(con)
        markets = instruments.market_table(con)
        database = db.database_file(con)
except ValueError as exc:
    st.error(for_page(str(exc)))
    st.stop()

browse, market_tab, load = st.tabs(["Browse", "Markets", "Load a file"])

with browse:
    if summary.empty:
        st.info("No market data loaded yet. Use 'Load a file' to add bars, trades, quotes or fills.")
        if st.button("Load the bundled synthetic sample", key="data_load_sample"):
            try:
                with db.writing() as con:
                    added = sample.init_sample(con)
            except ValueError as exc:
                st.error(for_page(str(exc)))
            else:
                st.success("Loaded the bundled sample: " + ", ".join(f"{t} {n:,}" for t, n in added.items()))
    else:
        st.caption(f"Database: {database} — times shown in each instrument's time zone.")
        st.dataframe(summary, hide_index=True, width="stretch")
        symbols = summary["symbol"].tolist()
        col1, col2 = st.columns(2)
        symbol = col1.selectbox("Symbol", symbols, key="data_symbol")
        days = col2.number_input("Trading days shown", min_value=1, max_value=250, value=5, key="data_days")
        with db.reading() as con:
            bars = db.bars_local(con, symbol, int(days))
        if bars.empty:
            st.info(f"{symbol} has no bars.")
        else:
            fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
            fig.add_trace(
                go.Scatter(x=bars["ts_local"], y=bars["close"], name="close", hovertemplate="%{x}<br>$%{y:.4f}"),
                row=1,
                col=1,
            )
            fig.add_trace(
                go.Bar(x=bars["ts_local"], y=bars["volume"], name="volume", hovertemplate="%{x}<br>%{y:,.0f} shares"),
                row=2,
                col=1,
            )
            fig.update_yaxes(title_text="price ($)", row=1, col=1)
            fig.update_yaxes(title_text="volume (shares)", row=2, col=1)
            fig.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]}])
            fig.update_layout(height=480, showlegend=False, margin={"t": 20, "b": 20})
            st.plotly_chart(fig, width="stretch")

with market_tab:
    if markets.empty:
        st.info("No instruments yet: an instrument gets its market when its data is loaded.")
    else:
        st.caption(
            "Each instrument's exchange time zone, regular session (local time) and trading calendar, and where "
            "they came from. Calibration uses the regular session on the calendar's trading days."
        )
        shown = markets.rename(
            columns={
                "time_zone": "time zone",
                "session_open": "open",
                "session_close": "close",
                "market_source": "from",
            }
        )
        shown["calendar"] = shown["calendar"].fillna("none (every weekday)")
        st.dataframe(shown, hide_index=True, width="stretch")
        st.subheader("Correct a market")
        edit_symbol = st.selectbox("Instrument", markets["symbol"].tolist(), key="market_symbol")
        row = markets.set_index("symbol").loc[edit_symbol]
        m1, m2, m3 = st.columns(3)
        calendar_text = m1.text_input(
            "Calendar (exchange code, e.g. XNYS; blank: every weekday)",
            value=row["calendar"] or "",
            key=f"market_calendar_{edit_symbol}",
        )
        tz_text = m2.text_input("Time zone", value=row["time_zone"] or "", key=f"market_tz_{edit_symbol}")
        session_text = m3.text_input(
            "Session (HH:MM-HH:MM, local)",
            value=f"{row['session_open']}-{row['session_close']}",
            key=f"market_session_{edit_symbol}",
        )
        if st.button("Save the market", key="market_save"):
            try:
                with db.writing() as con:
                    result = instruments.set_market(
                        con,
                        edit_symbol,
                        calendar=calendar_text,
                        tz=tz_text,
                        session=session_text,
                        source="corrected on the Data page",
                    )
            except ValueError as exc:
                st.error(for_page(str(exc)))
            else:
                st.success(result["message"])

with load:
    uploaded = st.file_uploader("File (CSV, CSV.gz, Parquet, LOBSTER zip, LEAN zip)", key="data_upload")
    c1, c2 = st.columns(2)
    table = c1.selectbox("Table", ["detect", *LOADABLE_TABLES], key="data_table")
    fmt = c2.selectbox("Format", ["detect", *loading.FORMATS], key="data_format")
    symbol_text = st.text_input("Symbol (files without a symbol column)", key="data_load_symbol").strip()
    st.caption(
        "The market of a new symbol: leave these blank to infer it from the volume by time of day (the report "
        "says what was inferred), or say it. A symbol already stored keeps its market (correct it under Markets)."
    )
    c3, c4, c5 = st.columns(3)
    calendar_in = c3.text_input("Calendar (e.g. XNYS)", key="data_calendar")
    tz_in = c4.text_input("Time zone (of times without an offset)", key="data_tz")
    session_in = c5.text_input("Session (HH:MM-HH:MM)", key="data_session")
    skip = st.checkbox("Skip bad rows (load the good ones, report the rest)", key="data_skip")
    if uploaded is not None:
        # the upload lives in a temporary folder for this run only (a rerun writes it again)
        with tempfile.TemporaryDirectory(prefix="optexec-upload-") as folder:
            path = Path(folder) / Path(uploaded.name).name
            path.write_bytes(uploaded.getvalue())
            options = dict(
                table=None if table == "detect" else table,
                format=None if fmt == "detect" else fmt,
                symbol=symbol_text or None,
                tz=tz_in.strip() or None,
                calendar=calendar_in.strip() or None,
                session=session_in.strip() or None,
                skip_bad_rows=skip,
            )
            try:
                with db.writing() as con:
                    head = loading.preview_file(con, path, options["format"])
                    if head is not None:
                        st.subheader("Preview")
                        st.dataframe(head, hide_index=True)
                    check = loading.load_file(con, path, dry_run=True, **{**options, "skip_bad_rows": True})
            except ValueError as exc:
                st.error(for_page(str(exc)))
                check = None
            if check is not None:
                st.subheader("Validation")
                st.write(
                    f"{check.rows_read:,} rows into **{check.table}**: {check.rows_read - check.rows_rejected:,} good, "
                    f"{check.rows_rejected:,} rejected, {check.rows_already_present:,} already in the store."
                )
                show_report(check)
                for warning in check.warnings:
                    st.warning(for_page(warning))
                if check.rejects:
                    st.dataframe([r.to_json() for r in check.rejects], hide_index=True)
                if st.button("Load", type="primary", key="data_load_button"):
                    bar = st.progress(0.0, text="starting")
                    try:
                        with db.writing() as con:
                            report = loading.load_file(
                                con,
                                path,
                                progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text),
                                **options,
                            )
                    except ValueError as exc:
                        st.error(for_page(str(exc)))
                    else:
                        st.success(
                            f"Loaded {report.rows_loaded:,} rows into {report.table} "
                            f"({report.rows_already_present:,} were already there, {report.rows_rejected:,} rejected)."
                        )
                        show_report(report)
