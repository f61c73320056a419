"""The ticket drawn by app.py, handed to the page that runs in the same script run."""

from __future__ import annotations

import streamlit as st

from optexec.ui.ticket import Ticket, order_ticket

_KEY = "_optexec_ticket"


def publish_ticket() -> Ticket:
    """Draw the sidebar ticket (app.py calls this once per run) and keep it for the page."""
    ticket = order_ticket()
    st.session_state[_KEY] = ticket
    return ticket


def current_ticket() -> Ticket:
    """The ticket of this run; drawn here when a page runs on its own (tests)."""
    ticket = st.session_state.get(_KEY)
    return ticket if ticket is not None else publish_ticket()
