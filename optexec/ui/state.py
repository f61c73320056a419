"""The ticket drawn by app.py, handed to the page that runs in the same script run."""

from __future__ import annotations

import dataclasses
import functools
import gc
from collections.abc import Callable

import streamlit as st

from optexec.ui.ticket import LIVE_VIEW_KEY, Ticket, current_settings, order_ticket

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
            st.error(error.replace("$", "\\$"))
        st.stop()
    return ticket


def live_view(key: str, view: Callable[[Ticket], None], ticket: Ticket) -> None:
    """Draw ``view(ticket)`` as a fragment that the model sliders (risk aversion, strategy settings) rerun alone.

    Moving such a slider then reruns only this view, not the ticket, the navigation and the rest of the page;
    the view reads the settings back from the widgets' state. The order and market still rerun everything.
    """
    st.session_state[LIVE_VIEW_KEY] = key

    @st.fragment(key=key)
    def fragment() -> None:
        view(dataclasses.replace(ticket, settings=current_settings()))

    fragment()


@functools.cache
def freeze_startup_objects() -> None:
    """Once per process, after the first run: collect, then keep what is left out of later garbage collections.

    What the first run built (Streamlit, numpy, pandas, plotly, scipy, their caches) lives as long as the server;
    Python's full collections walked all of it, ~80-130 ms each, now and then in the middle of a slider move.
    """
    gc.collect()
    gc.freeze()
