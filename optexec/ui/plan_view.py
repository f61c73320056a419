"""Cached planning and the cost table as the pages show it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from optexec.models import MarketParams, Order
from optexec.planning import Plan, best_row, cost_table, make_plan, priced_frontier
from optexec.report_content import plan_notes
from optexec.sensitivity import Sweep
from optexec.strategies.almgren_chriss import Frontier
from optexec.ui import formats, markets, sweep_words
from optexec.ui.ticket import RISK_AVERSION_GRID


def _market_key(market: MarketParams) -> bytes:
    """What identifies a MarketParams for the caches below: its scalars and its volume profile's bytes.

    Streamlit's generic hashing walks the 390-float profile one value at a time (~3 ms per call, three calls
    per page run); this is exact and takes microseconds.
    """
    scalars = [getattr(market, f.name) for f in dataclasses.fields(market) if f.name != "volume_profile"]
    return repr(scalars).encode() + np.asarray(market.volume_profile, dtype=float).tobytes()


CACHE: dict[str, Any] = {"max_entries": 64, "show_spinner": False, "hash_funcs": {MarketParams: _market_key}}


@st.cache_data(**CACHE)
def cached_plan(order: Order, market: MarketParams, settings_items: tuple) -> Plan:
    """make_plan, cached on its inputs (settings as sorted items so they hash)."""
    return make_plan(order, market, dict(settings_items))


def ticket_plan(
    order: Order, market: MarketParams, settings: dict, model_reason: str, start_day: dt.date | None = None
) -> Plan:
    """The cached plan of a ticket with why its market's cost model (the cache and the prefetch share the plan) and
    the order's clock from the symbol's stored market from ``start_day`` (default the exchange's today or next
    trading day): exchange-local times and lots; none for DEMO."""
    plan = cached_plan(order, market, tuple(sorted(settings.items())))
    clock = markets.order_clock(order, start_day, market.session_minutes)
    return dataclasses.replace(plan, model_reason=model_reason, clock=clock)


@st.cache_data(**CACHE)
def cached_frontier(order: Order, market: MarketParams, settings_items: tuple) -> Frontier:
    """The Almgren–Chriss schedules over risk aversion, priced like the plan's rows (``planning.priced_frontier``),
    cached."""
    return priced_frontier(cached_plan(order, market, settings_items))


#: the cost table's columns in the order shown: the strategy, its participation against the limit and the costs in
#: bps first, so that a 1440 px desktop shows them without scrolling; the models and the $ split after them
#: a money column fits "-999,999,999" (the grid's automatic width cut the leading digits of large values)
MONEY_WIDTH_PX = 112
#: the participation column fits its short text ("above 100% limit · notes ↑", ~190 px); the notes themselves, up
#: to ~350 characters, were cut off at 1440 px (they are in full in the notes on the schedules above the table)
PARTICIPATION_WIDTH_PX = 200

COST_COLUMNS = {
    "best": st.column_config.TextColumn("", help="lowest E + λV at the chosen risk aversion", width=28),
    "strategy": st.column_config.TextColumn("Strategy", width="medium"),
    "max_participation": st.column_config.NumberColumn(
        "Max participation", format="percent", help="largest child order / its slice's expected market volume"
    ),
    "participation": st.column_config.TextColumn(
        "Participation",
        help="whether the max participation is above the ticket's limit; every participation note is in full in the "
        "notes on the schedules above the table",
        width=PARTICIPATION_WIDTH_PX,
    ),
    "expected_cost_bps": st.column_config.NumberColumn("E (bps)", format="%.1f"),
    "expected_cost_usd": st.column_config.NumberColumn("E ($)", format="localized", width=MONEY_WIDTH_PX),
    "std_cost_bps": st.column_config.NumberColumn("Std (bps)", format="%.1f"),
    "var95_bps": st.column_config.NumberColumn("VaR95 (bps)", format="%.1f"),
    "objective_usd": st.column_config.NumberColumn("E + λV ($)", format="localized", width=MONEY_WIDTH_PX),
    "optimises_under": st.column_config.TextColumn(
        "Optimises under", help="the model the strategy optimises (its own words); it is priced under the next column"
    ),
    "priced_under": st.column_config.TextColumn("Priced under", help="the one cost model every row is priced under"),
    "std_cost_usd": st.column_config.NumberColumn("Std ($)", format="localized", width=MONEY_WIDTH_PX),
    "var95_usd": st.column_config.NumberColumn("VaR95 ($)", format="localized", width=MONEY_WIDTH_PX),
    "spread_usd": st.column_config.NumberColumn("Spread ($)", format="localized", width=MONEY_WIDTH_PX),
    "temporary_usd": st.column_config.NumberColumn("Temporary ($)", format="localized", width=MONEY_WIDTH_PX),
    "permanent_usd": st.column_config.NumberColumn("Permanent ($)", format="localized", width=MONEY_WIDTH_PX),
    "transient_usd": st.column_config.NumberColumn("Transient ($)", format="localized", width=MONEY_WIDTH_PX),
    "drift_usd": st.column_config.NumberColumn("Drift ($)", format="localized", width=MONEY_WIDTH_PX),
    "shared_settings": st.column_config.TextColumn("Shared settings", help="the shared settings the strategy used"),
}


@st.cache_data(**CACHE)
def cost_frame(order: Order, market: MarketParams, settings_items: tuple) -> pd.DataFrame:
    """The cost table of the (cached) plan with the recommended row marked (lowest E + lambda V within the
    participation limit, ``planning.best_row``), cached too."""
    plan = cached_plan(order, market, settings_items)
    table = cost_table(plan)
    money = [c for c in table.columns if c.endswith("_usd")]
    table[money] = table[money].round(0)
    best = best_row(plan)
    if not table.empty:
        table.insert(0, "best", ["★" if best is not None and label == best.strategy.label else "" for label in
                                 table["strategy"]])  # fmt: skip
        warnings = {row.strategy.label: row.warnings for row in plan.rows}
        table["participation"] = [
            participation_text(peak, note, plan.max_participation, any(w in note for w in warnings.get(label, ())))
            for label, peak, note in zip(table["strategy"], table["max_participation"], table["participation_note"],
                                         strict=True)
        ]  # fmt: skip
    return table


def participation_text(peak: float, note: str, limit: float, from_warnings: bool) -> str:
    """The cost table's short participation cell for a row's ``planning.participation_note``: whether its peak (the
    column before) is above the limit, and, when the note holds the strategy's own warnings (``from_warnings``: the
    notes on the schedules above the table show them in full), a pointer to them; "" without a note."""
    if not note:
        return ""
    said = f"above {limit:.0%} limit" if peak > limit * (1 + 1e-9) else f"within {limit:.0%} limit"
    return said + " · notes ↑" * from_warnings


PREFETCH_DELAY_S = 0.25  # after the page's own messages (a busy thread holds the GIL) and most of its drawing
_PREFETCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optexec-prefetch")
_latest_request: dict[str, Any] = {"id": 0, "at": 0.0}
#: with requests from this many sessions within BUSY_WINDOW_S the server is shared by several desks: no prefetch
#: (it would spend the CPU the other desks' own moves need; issue 14, the many-desks benchmark)
BUSY_SESSIONS = 2
BUSY_WINDOW_S = 10.0
_recent_sessions: dict[str, float] = {}


def _busy(session_id: str | None, now: float) -> bool:
    """True when other sessions than ``session_id`` asked within BUSY_WINDOW_S (the last request time is kept)."""
    for key, at in list(_recent_sessions.items()):
        if now - at > BUSY_WINDOW_S:
            _recent_sessions.pop(key, None)
    _recent_sessions[session_id or ""] = now
    return len(_recent_sessions) >= BUSY_SESSIONS


def prefetch_neighbouring_risk_aversions(
    order: Order, market: MarketParams, settings: dict, session_id: str | None = None
) -> list[Future]:
    """Plan the risk-aversion slider's two neighbouring notches in the background, one after the other.

    A trader steps the slider notch by notch; the next notch's plan (the RL agent retrains, the nonlinear and
    multiscale problems are solved again) is then usually in the cache before the slider moves. The work starts
    PREFETCH_DELAY_S after the request, once the page that asked has been sent, and is dropped when a newer
    request has come meanwhile. A page run that needs a plan being computed waits for it instead of computing
    it twice (st.cache_data computes each value once). One worker for the whole process, and none at all while
    several sessions (``session_id``) share the server: then each desk's own moves come first.
    """
    risk_aversion = settings.get("risk_aversion_per_usd")
    now = time.monotonic()
    if _busy(session_id, now) or risk_aversion not in RISK_AVERSION_GRID:
        return []
    _latest_request.update(id=_latest_request["id"] + 1, at=now)
    notch = RISK_AVERSION_GRID.index(risk_aversion)
    futures = []
    for neighbour in (notch + 1, notch - 1):
        if 0 <= neighbour < len(RISK_AVERSION_GRID):
            items = tuple(sorted({**settings, "risk_aversion_per_usd": RISK_AVERSION_GRID[neighbour]}.items()))
            futures.append(_PREFETCH.submit(_prefetch, _latest_request["id"], order, market, items))
    return futures


def _prefetch(request_id: int, order: Order, market: MarketParams, settings_items: tuple) -> bool:
    """Compute one prefetched plan and its cost table unless a newer request has come; True if computed."""
    time.sleep(max(0.0, _latest_request["at"] + PREFETCH_DELAY_S - time.monotonic()))
    if request_id != _latest_request["id"]:
        return False
    cost_frame(order, market, settings_items)
    return True


def _bullets(lines) -> str:
    return "\n".join(f"- {line}" for line in lines)


def show_plan_notes(plan: Plan, advice: str | None) -> None:
    """The plan's warnings above its numbers: the order's (outside the model's range) first, then the
    recommendation (a warning, not a success, when the model calls the plan or the order absurd), the strategies
    that could not plan, and the schedules' warnings, each text once with every strategy that has it."""
    notes = plan_notes(plan)
    if notes.order:
        st.warning(
            "**This order is outside the model's range**\n\n" + _bullets(formats.message(w) for w in notes.order),
            icon=":material/warning:",
        )
    if advice:
        best = best_row(plan)
        if notes.order or (best is not None and best.outside_model):
            st.warning(formats.message(advice), icon=":material/recommend:")
        else:
            st.success(formats.message(advice), icon=":material/recommend:")
    if notes.not_planned:
        st.warning(
            f"**Not planned** ({len(notes.not_planned)} of {len(plan.rows)} strategies)\n\n"
            + _bullets(
                f"**{formats.plain(label)}**: not planned. {formats.message(reason)}"
                for label, reason in notes.not_planned
            )
        )
    if notes.schedules:
        lines = _bullets(
            f"**{formats.plain(', '.join(labels))}**: {formats.message(warning)}" for labels, warning in notes.schedules
        )
        named = {label for labels, _ in notes.schedules for label in labels}
        count = f"{len(notes.schedules)} note{'s' if len(notes.schedules) > 1 else ''} on {len(named)} " + (
            "strategies" if len(named) > 1 else "strategy"
        )
        # one collapsed box with a count: on a phone the notes took two screens above the cost table
        if notes.outside_model:
            with st.expander(f"Schedules outside the model's range: {count}", icon=":material/warning:"):
                st.warning(lines)
        else:
            with st.expander(f"Notes on the schedules: {count}", icon=":material/info:"):
                st.info(lines)


def show_cost_table(plan: Plan) -> None:
    """The cost table, one row per strategy, in $ and bps."""
    frame = cost_frame(plan.order, plan.market, tuple(sorted(plan.settings.items())))
    st.dataframe(
        frame,
        hide_index=True,
        column_config=COST_COLUMNS,
        column_order=list(COST_COLUMNS),
        height=38 + 35 * len(frame),  # every strategy visible, no inner scroll
    )


@st.cache_resource(max_entries=32, show_spinner=False, hash_funcs={MarketParams: _market_key})
def sweep_figures(
    order: Order,
    market: MarketParams,
    settings_items: tuple,
    param: str,
    values: tuple,
    names: tuple,
    label: str,
    log_x: bool,
    _result: Sweep,
    _shown: Sweep,
) -> tuple[Any, Any]:
    """The Sensitivity page's two figures (``sweep_words.same_curve_figures``) of the sweep of the same inputs
    (``sweep_jobs.sweep_with_progress``: ``_result``; ``_shown`` is it in the axis's unit, which ``label`` names),
    built once for every session: plotly's figure objects take longer to build than the sweep takes to read.
    Shared: read only, never changed after."""
    return sweep_words.same_curve_figures(_result, _shown, label, log_x)
