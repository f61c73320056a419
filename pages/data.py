"""Data page: load market-data files into the store and browse what is loaded (issue 3).

A thin page: every computation is in optexec.store; this file reads widgets and draws.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from optexec.store import db, loading
from optexec.store.schema import LOADABLE_TABLES
from optexec.ui.state import ensure_navigation

ensure_navigation()
st.title("Market data")

try:
    if not db.resolve_path().exists():
        with st.spinner("Building the sample database from data/ (first use, a few seconds)..."):
            con = db.connect()
    else:
        con = db.connect()
except ValueError as exc:
    st.error(str(exc))
    st.stop()

browse, load = st.tabs(["Browse", "Load a file"])

with browse:
    summary = db.symbol_summary(con)
    if summary.empty:
        st.info("No market data loaded yet. Use 'Load a file' to add bars, trades, quotes or fills.")
    else:
        st.caption(f"Database: {db.database_file(con)} — times shown in each instrument's time zone.")
        st.dataframe(summary, hide_index=True, width="stretch")
        symbols = summary["symbol"].tolist()
        col1, col2 = st.columns(2)
        symbol = col1.selectbox("Symbol", symbols, key="data_symbol")
        days = col2.number_input("Trading days shown", min_value=1, max_value=250, value=5, key="data_days")
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
            fig.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]}, {"bounds": [16, 9.5], "pattern": "hour"}])
            fig.update_layout(height=480, showlegend=False, margin={"t": 20, "b": 20})
            st.plotly_chart(fig, width="stretch")

with load:
    uploaded = st.file_uploader("File (CSV, CSV.gz, Parquet, LOBSTER zip, LEAN zip)", key="data_upload")
    c1, c2 = st.columns(2)
    table = c1.selectbox("Table", ["detect", *LOADABLE_TABLES], key="data_table")
    fmt = c2.selectbox("Format", ["detect", *loading.FORMATS], key="data_format")
    c3, c4 = st.columns(2)
    symbol_text = c3.text_input("Symbol (files without a symbol column)", key="data_load_symbol").strip()
    tz_text = c4.text_input("Time zone of times without an offset (blank: the symbol's, else UTC)", key="data_tz")
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
                tz=tz_text.strip() or None,
                skip_bad_rows=skip,
            )
            try:
                head = loading.preview_file(con, path, options["format"])
                if head is not None:
                    st.subheader("Preview")
                    st.dataframe(head, hide_index=True)
                check = loading.load_file(con, path, dry_run=True, **{**options, "skip_bad_rows": True})
            except loading.LoadError as exc:
                st.error(str(exc))
                check = None
            if check is not None:
                st.subheader("Validation")
                st.write(
                    f"{check.rows_read:,} rows into **{check.table}**: {check.rows_read - check.rows_rejected:,} good, "
                    f"{check.rows_rejected:,} rejected, {check.rows_already_present:,} already in the store."
                )
                for warning in check.warnings:
                    st.warning(warning)
                if check.rejects:
                    st.dataframe([r.to_json() for r in check.rejects], hide_index=True)
                if st.button("Load", type="primary", key="data_load_button"):
                    bar = st.progress(0.0, text="starting")
                    try:
                        report = loading.load_file(
                            con,
                            path,
                            progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text),
                            **options,
                        )
                    except loading.LoadError as exc:
                        st.error(str(exc))
                    else:
                        st.success(
                            f"Loaded {report.rows_loaded:,} rows into {report.table} "
                            f"({report.rows_already_present:,} were already there, {report.rows_rejected:,} rejected)."
                        )
