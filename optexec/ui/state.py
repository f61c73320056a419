"""The ticket drawn by app.py, handed to the page that runs in the same script run."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import gc
from collections.abc import Callable, Iterable

import streamlit as st

from optexec.store.sample import sample_symbols
from optexec.ui import formats, links, markets, sweep_jobs
from optexec.ui.settings import LIVE_VIEW_KEY, settings_url
from optexec.ui.ticket import Ticket, order_ticket, ticket_settings

_KEY = "_optexec_ticket"


def publish_ticket() -> Ticket:
    """Draw the sidebar ticket (app.py calls this once per run) and keep it for the page of this run."""
    st.session_state.pop(LIVE_VIEW_KEY, None)  # the page of this run registers its own live view, if any
    ticket = order_ticket()
    st.session_state[_KEY] = ticket
    return ticket


def retract_ticket() -> None:
    """Forget this run's ticket once the page has run, so that no later run can read a stale one."""
    st.session_state.pop(_KEY, None)


def ensure_navigation() -> None:
    """Make sure the page runs inside app.py's st.navigation.

    Streamlit treats an app whose folder holds ``pages/`` as a version-1 multipage app until
    ``st.navigation`` has run once in the process; a first visit straight to a page's link would then
    run the page file alone (no shared sidebar, wrong layout). Switch that off and run again.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


#: the pages' own inputs (value widgets, never buttons or file uploads: those take no value from the state) that a
#: visit to another page keeps. Streamlit forgets the value of a widget that a run does not draw, so a page came back
#: to through the navigation showed its defaults again and dropped the result asked for with other values (Simulate's
#: paths, the RL page's iterations, Calibrate's dates). A page that adds an input whose result is kept lists it here.
#: The symbol boxes of Calibrate, Post-trade and Data are not kept: they start from the ticket's symbol.
KEPT_INPUTS = frozenset(
    {"plan_panel", "compare_a", "compare_b", "sweep_param", "sweep_points", "sweep_simulate", "sweep_paths",
     "sweep_names", "sim_paths", "sim_seed", "sim_price_model", "sim_regimes", "sim_vnoise", "sim_snoise", "sim_fast",
     "sim_slow", "sim_finish", "sim_policies", "rl_kind", "rl_regime", "rl_iterations", "rl_name", "rl_paths",
     "data_days"}
)  # fmt: skip
KEPT_INPUT_PREFIXES = ("sweep_low_", "sweep_high_", "sweep_log_", "cal_start_", "cal_end_")


def keep_page_inputs() -> None:
    """Keep every page input of KEPT_INPUTS (and KEPT_INPUT_PREFIXES) the session has, whichever page this run
    draws (app.py calls this once per run, before the page): each is written back as its own value, which Streamlit
    keeps until a run draws the widget again and takes it from there."""
    for key in list(st.session_state):
        if isinstance(key, str) and (key in KEPT_INPUTS or key.startswith(KEPT_INPUT_PREFIXES)):
            st.session_state[key] = st.session_state[key]


def current_ticket() -> Ticket:
    """The ticket app.py drew in this run; drawn here when a page runs on its own (tests)."""
    ensure_navigation()
    ticket = st.session_state.get(_KEY)
    return ticket if ticket is not None else order_ticket()


def valid_ticket() -> Ticket:
    """This run's ticket; when the order or market is invalid, show why on the page and stop the page here."""
    ticket = current_ticket()
    if ticket.errors:
        for error in ticket.errors:
            st.error(formats.message(error), icon=":material/error:")
        st.stop()
    return ticket


def show_market_note(ticket: Ticket) -> None:
    """A caption saying where the market parameters come from and what the user typed over them."""
    st.caption(formats.message(ticket.market_note))


def show_warnings(messages: Iterable[str], what: str = "warnings", note: str = "") -> None:
    """Every warning of a page section in one place: one message as a warning box, two or more in one collapsed
    expander whose label counts them ("5 warnings about the fit"), each as a bullet; nothing when there are none.

    ``messages`` are the core's texts (shown with ``formats.message``: as text, without machine details); ``what``
    names them in the expander's label; ``note`` (the app's own words, shown as text) follows the list.
    """
    texts = [str(text) for text in messages if str(text).strip()]
    if not texts:
        return
    tail = f"\n\n{formats.plain(note)}" if note else ""
    if len(texts) == 1:
        st.warning(formats.message(texts[0]) + tail, icon=":material/warning:")
        return
    with st.expander(f"{len(texts)} {what}", icon=":material/warning:"):
        st.warning("\n".join(f"- {formats.message(text)}" for text in texts) + tail)


def _load_sample() -> None:
    """The empty-store button: load the bundled sample into the store, with a spinner."""
    with st.spinner("Loading the bundled sample into the store (a few seconds)…"):
        try:
            added = markets.load_bundled_sample()
        except ValueError as error:
            st.session_state["_optexec_sample_error"] = str(error)
            return
    first = sample_symbols()[0]
    st.session_state["_optexec_sample_loaded"] = (sum(added.values()), first)
    if st.session_state.get("symbol") in (None, markets.DEMO_SYMBOL):
        st.session_state["symbol"] = first


def show_notices(ticket: Ticket, data_page: st.Page | None = None) -> None:
    """At the top of every page: notes about the link, the store's state and the calibration run of the link.

    app.py calls this once per run, after the ticket and before the page (``data_page``: the Data page, linked
    from the empty-store message).
    """
    notes = links.notes()
    if notes:
        for note in notes:
            st.warning(formats.message(note), icon=":material/link_off:")
        st.button("Dismiss the link messages", key="dismiss_link_notes", on_click=links.dismiss_notes,
                  type="tertiary", icon=":material/close:")  # fmt: skip
    store = ticket.store
    loaded = st.session_state.pop("_optexec_sample_loaded", None)
    if loaded:
        rows, first = loaded
        now = f" (the first of them, {first})" if ticket.symbol == first else ""
        st.success(formats.plain(f"Loaded the bundled sample: {rows:,} rows. Its synthetic symbols are in the ticket, "
                                 f"which now plans {ticket.symbol}{now}."))  # fmt: skip
    failed = st.session_state.pop("_optexec_sample_error", None)
    if failed:
        st.error(formats.message(f"The bundled sample could not be loaded: {failed}"))
    if store is not None and store.problem:
        st.warning(
            formats.message(
                f"The market-data store cannot be read now: {store.problem}. The ticket keeps "
                f"{ticket.symbol}"
                + (" (DEMO, made-up parameters)" if ticket.symbol == markets.DEMO_SYMBOL else "")
                + "; stored symbols come back on the next run once the store can be read."
            ),
            icon=":material/database_off:",
        )
        st.button("Try again", key="store_retry", icon=":material/refresh:")
    elif store is not None and store.empty:
        with st.container(border=True, key="empty_store"):
            st.info(
                formats.plain(
                    "The market-data store is empty: no symbol to plan but DEMO, whose parameters "
                    "are made up (the Almgren–Chriss Table 1 example). Load the bundled sample (four synthetic "
                    "symbols, 62 days of minute bars) or your own files on the Data page."
                ),
                icon=":material/database:",
            )
            left, right = st.columns(2)
            left.button("Load the bundled sample", key="load_sample", type="primary", on_click=_load_sample,
                        icon=":material/download:")  # fmt: skip
            if data_page is not None:
                right.page_link(data_page, label="Load your own files on the Data page", icon=":material/upload:")
    if ticket.linked_run is not None and ticket.latest is not None:
        linked, latest = ticket.linked_run, ticket.latest
        st.warning(
            formats.plain(
                f"This link was priced with {ticket.symbol}'s calibration run of {_run(linked)}. A newer "
                f"calibration has been accepted since: the run of {_run(latest)}."
            ),
            icon=":material/history:",
        )
        labels = {
            "link": f"the link's run ({linked.run_ts:%Y-%m-%d %H:%M:%S} UTC, price ${linked.market.price_usd:,.2f})",
            "latest": f"the latest ({latest.run_ts:%Y-%m-%d %H:%M:%S} UTC, price ${latest.market.price_usd:,.2f})",
        }
        labels = {key: formats.markdown_safe(label) for key, label in labels.items()}
        st.radio("Price this plan with", list(labels), format_func=labels.get, horizontal=True, key="cal_choice")


def _run(params) -> str:
    """ "2026-01-02 03:04:05 UTC (data 2025-01-02 to 2025-03-28)" """
    window = f" (data {params.window})" if params.window else ""
    return f"{params.run_ts:%Y-%m-%d %H:%M:%S} UTC{window}"


#: what the model's arithmetic raises when the order's or market's numbers are beyond what it can compute
ARITHMETIC_ERRORS = (OverflowError, ZeroDivisionError, FloatingPointError)


def arithmetic_message(error: BaseException) -> str:
    """The page's message when the model cannot compute with the ticket's numbers (never an exception box)."""
    return formats.plain(
        f"These numbers are beyond what the cost model can compute ({type(error).__name__}: {error}): nothing is "
        "shown. Check the order size, the horizon and the market values in the sidebar."
    )


def live_view(key: str, view: Callable[[Ticket], None], ticket: Ticket) -> None:
    """Draw ``view(ticket)`` as a fragment that the model sliders (risk aversion, strategy settings) rerun alone.

    Moving such a slider then reruns only this view, not the ticket, the navigation and the rest of the page;
    the view reads the settings back from the widgets' state and writes them into the URL. The order and market
    still rerun everything, and so does a change of the store (a file stat, no read) seen by a view rerunning
    alone.
    """
    st.session_state[LIVE_VIEW_KEY] = key
    full_run = [True]  # the first call is part of the full run, which has just read the store

    @st.fragment(key=key)
    def fragment() -> None:
        alone = not full_run.pop() if full_run else True
        if alone and ticket.store is not None and markets.store_version() != ticket.store.version:
            st.rerun(scope="app")  # the store changed (a load, an accepted calibration): redraw the ticket too
        links.write(settings_url())
        try:
            with sweep_jobs.busy():  # a run of its own when alone: work computed ahead waits meanwhile
                view(dataclasses.replace(ticket, settings=ticket_settings()))
        except ARITHMETIC_ERRORS as error:
            st.error(arithmetic_message(error), icon=":material/error:")

    fragment()


def prefetch_sweep(ticket: Ticket, page_path: str) -> None:
    """After a page run of a valid ticket (app.py): the sweep this session's Sensitivity page would show first,
    and its figures, computed ahead in idle time (``sweep_jobs.prefetch``), so that the page opens on them;
    nothing on the Sensitivity page itself (it computes what it shows) or for a sweep it would not compute in
    closed form."""
    if ticket.errors or ticket.order is None or ticket.market is None or page_path == "sensitivity":
        return
    found = sweep_jobs.session_request(ticket.order, ticket.market, ticket_settings(), st.session_state)
    if found is None:
        return
    request, label, log_x = found

    def figures(result) -> None:
        from optexec.ui.plan_view import sweep_figures

        inputs = (request.order, request.market, request.settings_items, request.param, request.values,
                  request.names)  # fmt: skip
        sweep_figures(*inputs, label, log_x, result, result)

    sweep_jobs.prefetch(request, then=figures)


@functools.cache
def freeze_startup_objects() -> None:
    """Once per process, after the first run: collect, then keep what is left out of later garbage collections.

    What the first run built (Streamlit, numpy, pandas, plotly, scipy, their caches) lives as long as the server;
    Python's full collections walked all of it, ~80-130 ms each, now and then in the middle of a slider move.
    At exit the objects are unfrozen (``gc.unfreeze``), so the final collection frees them: frozen, DuckDB's objects
    among them outlived the interpreter and its bindings printed "nanobind: leaked ..." on shutdown (issue 16).
    """
    gc.collect()
    gc.freeze()
    _unfreeze_at_exit()


@functools.cache
def _unfreeze_at_exit() -> None:
    """Register ``gc.unfreeze`` to run at exit, once per process."""
    atexit.register(gc.unfreeze)
