"""Data page: load market-data files into the store, each instrument's market, and what is loaded.

A thin page: every computation is in optexec.store; this file reads widgets and draws. Messages are shown in the
page's words (``reports.for_page``), never as command-line flags, and as text without anything of the machine
(``formats.message``: no paths, no process ids); files are named as the user uploaded them.

An uploaded file is validated once (a dry run of the load, and its preview), cached in the session under the
file's SHA-256 and the inputs that change the result; a rerun of the page (any widget) shows the cached result.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import streamlit as st

from optexec.store import db, instruments, lake, loading, reports, sample
from optexec.store.reports import for_page
from optexec.store.schema import LOADABLE_TABLES
from optexec.ui.formats import NO_VALUE, machine_free, message, plain
from optexec.ui.state import ensure_navigation, show_warnings

#: the load policies for rows already stored with other values (the first is the default)
ON_CONFLICT = reports.ON_CONFLICT
POLICY_WORDS = {
    "refuse": "refuse: load nothing, list the conflicts",
    "replace": "replace: store the file's values",
    "keep": "keep: keep the stored values, add only new rows",
}

ensure_navigation()
st.title("Market data")


def show_report(report) -> None:
    """The load report's sentences: market, time zones, rows outside the session and the calendar."""
    for note in report.notes():
        st.info(message(note))


def upload_name(uploaded) -> str:
    """The file's name as the user uploaded it (a folder upload's path within the folder loses its folders)."""
    return Path(uploaded.name.replace("\\", "/")).name or "upload"


def upload_digest(uploaded) -> str:
    """The upload's SHA-256, computed once per uploaded file (each upload has its own ``file_id``)."""
    memo = st.session_state.setdefault("data_upload_digest", {})
    if memo.get("file_id") != uploaded.file_id:
        with uploaded.getbuffer() as view:
            memo.update(file_id=uploaded.file_id, digest=hashlib.sha256(view).hexdigest())
    return memo["digest"]


@contextlib.contextmanager
def on_disk(uploaded) -> Iterator[Path]:
    """The upload written to a temporary folder under its own name, for as long as the block runs."""
    with tempfile.TemporaryDirectory(prefix="optexec-upload-") as folder:
        path = Path(folder) / upload_name(uploaded)
        with uploaded.getbuffer() as view:
            path.write_bytes(view)
        yield path


def failure(exc: Exception) -> str:
    """A failed validation or load for the page: the loader's message, or what an unexpected error was."""
    if isinstance(exc, ValueError):
        return message(for_page(str(exc)))
    return message(f"the file could not be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")


def validation(uploaded, options: dict) -> dict:
    """The upload's preview and dry-run report, worked out once per file content and inputs (see the module).

    Returns a dict with ``preview`` (a frame or None), ``check`` (the dry run's LoadReport or None), ``error``
    (the message when the file cannot be loaded) and, once this page loaded the file, ``loaded`` (its report).
    """
    key = (upload_digest(uploaded), upload_name(uploaded), tuple(sorted(options.items())))
    cache = st.session_state.setdefault("data_validation", {})
    if key not in cache:
        cache.clear()  # one file's result is kept: a session never holds more than the file it shows
        result = {"preview": None, "check": None, "error": None, "loaded": None}
        try:
            with st.spinner(f"Validating {plain(upload_name(uploaded))}..."), on_disk(uploaded) as path:
                with db.writing() as con:
                    result["preview"] = loading.preview_file(con, path, options["format"])
                    result["check"] = loading.load_file(con, path, dry_run=True, skip_bad_rows=True, **options)
        except Exception as exc:  # noqa: BLE001 - an uploaded file must never bring an exception box
            result["error"] = failure(exc)
        cache[key] = result
    return cache[key]


def show_check(check) -> None:
    """The dry run's counts, notes, warnings, rejected rows and conflicts with stored rows."""
    st.subheader("Validation")
    good = check.rows_read - check.rows_rejected
    text = (
        f"{check.rows_read:,} rows into **{check.table}**: {good:,} good, {check.rows_rejected:,} rejected, "
        f"{check.rows_already_present:,} already in the store"
    )
    conflicting = check.rows_conflicting
    if conflicting:
        text += f", {conflicting:,} stored with other values (conflicts)"
    st.write(text + ".")
    st.caption("Checked against the store once, when the file was uploaded; Load checks every row again.")
    show_report(check)
    show_warnings([for_page(warning) for warning in check.warnings], "warnings about the file")
    if check.rejects:  # a table shows its cells as text; a reader's reason could still quote a path
        rows = [{**r.to_json(), "reason": machine_free(r.reason)} for r in check.rejects]
        st.dataframe(rows, hide_index=True)
    if conflicting:
        st.caption("Rows whose key is already stored with other values:")
        st.dataframe([c.to_json() for c in check.conflicts], hide_index=True)


@st.cache_data(max_entries=8, show_spinner=False)
def stored_tables(version: str):
    """The store's symbol summary and market table at ``version`` (``db.version()``, a file stat): read once for
    every session until the store changes (a load, a calibration, the command line)."""
    with db.reading() as con:
        return db.symbol_summary(con), instruments.market_table(con)


@st.cache_resource(max_entries=16, show_spinner=False)
def stored_bars_figure(version: str, symbol: str, days: int):
    """The Browse tab's chart (``bars_figure``) of ``symbol``'s last ``days`` trading days of bars at store
    ``version``, or None when it has no bars: built once for every session (shared, read only)."""
    with db.reading() as con:
        return bars_figure(db.bars_local(con, symbol, days))


def bars_figure(bars):
    """Close price above, volume below, on one time axis with the weekends cut out (a Plotly figure built from
    plain dicts: plotly's subplot helpers take several times longer); None without bars."""
    if bars.empty:
        return None
    import plotly.graph_objects as go  # here: the page's other tabs draw no chart

    x = bars["ts_local"].astype(str).tolist()
    axis = {"rangebreaks": [{"bounds": ["sat", "mon"]}]}
    return go.Figure({
        "data": [
            {"type": "scatter", "x": x, "y": bars["close"].tolist(), "name": "close", "xaxis": "x", "yaxis": "y",
             "hovertemplate": "%{x}<br>$%{y:.4f}"},
            {"type": "bar", "x": x, "y": bars["volume"].tolist(), "name": "volume", "xaxis": "x2", "yaxis": "y2",
             "hovertemplate": "%{x}<br>%{y:,.0f} shares"},
        ],
        "layout": {
            "height": 480, "showlegend": False, "margin": {"t": 20, "b": 20},
            "xaxis": {**axis, "anchor": "y", "matches": "x2", "showticklabels": False},
            "xaxis2": {**axis, "anchor": "y2"},
            "yaxis": {"domain": [0.328, 1.0], "anchor": "x", "title": {"text": "price ($)"}},
            "yaxis2": {"domain": [0.0, 0.288], "anchor": "x2", "title": {"text": "volume (shares)"}},
        },
    })  # fmt: skip


def loaded_sentence(report) -> str:
    """What a load did, in one sentence."""
    parts = [f"{report.rows_already_present:,} were already there", f"{report.rows_rejected:,} rejected"]
    if report.rows_replaced:
        parts.append(f"{report.rows_replaced:,} stored rows replaced by the file's values")
    if report.rows_kept:
        parts.append(f"{report.rows_kept:,} conflicting rows kept as stored")
    return f"Loaded {report.rows_loaded:,} rows into {report.table} ({', '.join(parts)})."


try:
    if not db.resolve_path().exists():
        with st.spinner("Building the sample database from the bundled sample files (first use, a few seconds)..."):
            with db.writing():
                pass
    summary, markets = stored_tables(db.version())  # st.cache_data hands each run its own copy
except ValueError as exc:
    st.error(message(for_page(str(exc))))
    st.stop()
for notice in db.notices():  # e.g. a sample database rebuilt because the bundled sample changed
    st.info(message(notice))

browse, market_tab, load = st.tabs(["Browse", "Markets", "Load a file"])

with browse:
    lake_dir = st.text_input(
        "Browse a Parquet lake instead (its folder, written by optexec's export; empty: the store)", key="data_lake"
    ).strip()
    if lake_dir:
        try:
            with contextlib.closing(lake.open_lake(lake_dir)) as source:
                summary = db.symbol_summary(source)
        except ValueError as exc:
            st.error(message(str(exc)) + " Showing the store instead.")
            lake_dir = ""
    if summary.empty and lake_dir:
        st.info("The lake holds no market data.")
    elif summary.empty:
        st.info("No market data loaded yet. Use 'Load a file' to add bars, trades, quotes or fills.")
        if st.button("Load the bundled synthetic sample", key="data_load_sample"):
            try:
                with db.writing() as con:
                    added = sample.init_sample(con)
            except ValueError as exc:
                st.error(message(for_page(str(exc))))
            else:
                st.success("Loaded the bundled sample: " + ", ".join(f"{t} {n:,}" for t, n in added.items()))
    else:
        st.caption("Times shown in each instrument's time zone." + (" Read from the lake." if lake_dir else ""))
        st.dataframe(
            summary.fillna({"name": NO_VALUE}),
            hide_index=True,
            width="stretch",
            column_config={
                "symbol": st.column_config.TextColumn("Symbol"),
                "time_zone": st.column_config.TextColumn("Time zone"),
                "name": st.column_config.TextColumn("Name"),
                "bars": st.column_config.NumberColumn("Bars", format="localized"),
                "trades": st.column_config.NumberColumn("Trades", format="localized"),
                "quotes": st.column_config.NumberColumn("Quotes", format="localized"),
                "fills": st.column_config.NumberColumn("Fills", format="localized"),
                "first_bar_local": st.column_config.DatetimeColumn("First bar (local)", format="YYYY-MM-DD HH:mm"),
                "last_bar_local": st.column_config.DatetimeColumn("Last bar (local)", format="YYYY-MM-DD HH:mm"),
                "days": st.column_config.NumberColumn("Days with bars"),
            },
        )
        symbols = summary["symbol"].tolist()
        col1, col2 = st.columns(2)
        symbol = col1.selectbox("Symbol", symbols, key="data_symbol")
        days = col2.number_input("Trading days shown", min_value=1, max_value=250, value=5, key="data_days")
        if lake_dir:
            with contextlib.closing(lake.open_lake(lake_dir)) as con:
                figure = bars_figure(db.bars_local(con, symbol, int(days)))
        else:
            figure = stored_bars_figure(db.version(), symbol, int(days))
        if figure is None:
            st.info(f"{plain(symbol)} has no bars.")
        else:
            st.plotly_chart(figure, width="stretch")

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
                st.error(message(for_page(str(exc))))
            else:
                st.success(message(result["message"]))

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
        options = dict(
            table=None if table == "detect" else table,
            format=None if fmt == "detect" else fmt,
            symbol=symbol_text or None,
            tz=tz_in.strip() or None,
            calendar=calendar_in.strip() or None,
            session=session_in.strip() or None,
        )
        result = validation(uploaded, options)
        st.caption(f"File: {plain(upload_name(uploaded))} ({uploaded.size:,} bytes)")
        if result["preview"] is not None:
            st.subheader("Preview")
            st.dataframe(result["preview"], hide_index=True)
        if result["error"]:
            st.error(result["error"])
        check = result["check"]
        if check is not None and result["loaded"] is None:
            show_check(check)
            on_conflict = st.radio(
                "On conflict (a row whose key is already stored with other values)",
                ON_CONFLICT,
                index=ON_CONFLICT.index(check.on_conflict) if check.on_conflict in ON_CONFLICT else 0,
                format_func=lambda policy: POLICY_WORDS.get(policy, policy),
                horizontal=True,
                key=f"data_on_conflict_{check.table}",
            )
            if st.button("Load", type="primary", key="data_load_button"):
                bar = st.progress(0.0, text="starting")
                try:
                    with on_disk(uploaded) as path, db.writing() as con:
                        report = loading.load_file(
                            con,
                            path,
                            skip_bad_rows=skip,
                            progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text),
                            on_conflict=on_conflict,
                            **options,
                        )
                except Exception as exc:  # noqa: BLE001 - a load must never bring an exception box
                    st.error(failure(exc))
                else:
                    result["loaded"] = report
                    st.rerun()  # the Browse and Markets tabs show what is now stored
        if result["loaded"] is not None:
            st.success(loaded_sentence(result["loaded"]))
            show_report(result["loaded"])
            for change in result["loaded"].changes:
                st.info(message(change))
