"""Basket: a PM's list of orders, its costs, its joint risk and the schedule that trades it together (issue 15)."""

import datetime as dt

import pandas as pd
import streamlit as st

from optexec import clock
from optexec.baskets import spreadsheet, storage
from optexec.baskets.input import BasketError, read_table
from optexec.baskets.plan import DEFAULT_STRATEGIES, JOINT
from optexec.constants import DEFAULT_MAX_PARTICIPATION
from optexec.models import SESSION_MINUTES
from optexec.store import db
from optexec.ui import basket_view, formats, links, order_time
from optexec.ui.state import show_warnings

st.title("Basket pre-trade")
st.caption(
    "One row per order: symbol, side (buy/sell) and one of shares, notional_usd or pct_adv (percent of ADV); "
    "optional horizon_days, strategy, a grouping column (group, sector or account) and market columns over the "
    "store's (price, sigma in $/share/√day, spread, adv, eta, gamma)."
)

#: the basket's trading day: minutes and hours become the model's trading days at this session length
BASKET_SESSION_MINUTES = SESSION_MINUTES
HORIZON_KEYS = ("basket_horizon", "basket_horizon_unit")
WIDGETS = {"slices": "basket_slices", "risk_aversion_per_usd": "basket_lambda",
           "drop_bad_rows": "basket_drop", "extra_strategies": "basket_extra"}  # fmt: skip
token = st.query_params.get("basket")
if token and token != st.session_state.get("basket_link_seen"):  # a shared link, opened: its basket and settings
    st.session_state["basket_link_seen"] = token
    st.session_state.pop("basket_link_problem", None)
    try:
        saved = storage.load_basket(token)
    except storage.UnknownBasketError as error:
        st.session_state["basket_link_problem"] = ("error", formats.message(error))
    except ValueError as error:  # the store cannot be read now (busy, damaged): say so, the page still works
        st.session_state["basket_link_problem"] = ("warning", formats.message(error))
    else:
        try:
            link_matrix = storage.saved_correlation(saved.settings)
        except ValueError as error:
            st.session_state["basket_link_problem"] = ("warning", formats.message(error))
            link_matrix = None
        st.session_state["basket_link_table"] = saved.table
        st.session_state["basket_link_number"] = st.session_state.get("basket_link_number", 0) + 1
        st.session_state["basket_link_correlation"] = (saved.basket_id, *link_matrix) if link_matrix else None
        for name, key in WIDGETS.items():
            if name in saved.settings:
                st.session_state[key] = saved.settings[name]
        horizon_state, horizon_notes = order_time.saved_horizon(saved.settings, BASKET_SESSION_MINUTES)
        for name, key in zip(("horizon", "horizon_unit"), HORIZON_KEYS, strict=True):
            if name in horizon_state:
                st.session_state[key] = horizon_state[name]
        st.session_state["basket_link_horizon_notes"] = horizon_notes
        # saved as a fraction, typed as a percentage; a link without it used the default limit
        limit = saved.settings.get("max_participation", DEFAULT_MAX_PARTICIPATION)
        st.session_state["basket_max_participation"] = 100 * float(limit)
problem = st.session_state.get("basket_link_problem")
if token and problem and token == st.session_state.get("basket_link_seen"):
    (st.error if problem[0] == "error" else st.warning)(problem[1])
if token and token == st.session_state.get("basket_link_seen"):
    for note in st.session_state.get("basket_link_horizon_notes", []):
        st.warning(formats.plain(note))

upload = st.file_uploader("Basket file (CSV or Parquet)", type=["csv", "parquet"], key="basket_file")
if upload is not None:
    try:
        start, _ = read_table(upload.getvalue(), upload.name)
    except ValueError as error:
        st.error(formats.message(error))
        st.stop()
    start = start.replace("", None)
    source = f"upload_{upload.name}"
elif "basket_link_table" in st.session_state:
    start, source = st.session_state["basket_link_table"], f"link_{st.session_state['basket_link_number']}"
else:
    start, source = basket_view.EXAMPLE, ""
table = st.data_editor(start, num_rows="dynamic", width="stretch", key=f"basket_table_{source}")

settings = st.columns(5)
horizon, horizon_unit = order_time.horizon_inputs(
    settings[0], BASKET_SESSION_MINUTES, "every order of the basket", HORIZON_KEYS
)
slices = settings[1].number_input("Slices", 1, 2000, 26, 1, key="basket_slices")
risk_aversion = settings[2].number_input("Risk aversion λ (1/$)", 0.0, 1.0, 1e-6, 1e-7, format="%.2e",
                                         key="basket_lambda")  # fmt: skip
limit_percent = settings[3].number_input(
    "Max participation (%)", 0.1, 100.0, 100 * DEFAULT_MAX_PARTICIPATION, 1.0, key="basket_max_participation",
    help="largest child order / its slice's expected volume: orders above it are flagged, never capped",
)  # fmt: skip
drop = settings[4].toggle("Drop bad rows", key="basket_drop")
extra = st.multiselect("Also price every order with", ["vwap", "immediate", "pov", "ac_drift"], key="basket_extra")
horizon_spec = order_time.horizon_spec(horizon_unit, BASKET_SESSION_MINUTES)
horizon_rule = horizon_spec.problem(horizon)
if horizon_rule:
    st.error(formats.plain(links.input_error(horizon_spec.label, horizon, horizon_rule).replace("plan", "basket")))
    st.stop()
horizon_days = clock.to_days(float(horizon), horizon_unit, BASKET_SESSION_MINUTES)
if horizon_unit != "days":
    st.caption(
        formats.plain(
            f"Horizon: {order_time.horizon_text(float(horizon), horizon_unit, horizon_days)} for every order "
            f"without its own horizon_days ({order_time.hours_per_day_text(BASKET_SESSION_MINUTES)}: a "
            f"{BASKET_SESSION_MINUTES}-minute session)."
        )
    )
matrix = st.file_uploader("Correlation matrix (optional CSV, symbols as header and first column)", type=["csv"],
                          key="basket_correlation")  # fmt: skip
# the matrix the basket is priced with, and saved with its link: an upload, else the one saved with the opened link
link_matrix = st.session_state.get("basket_link_correlation")
try:
    if matrix is not None:
        correlation = storage.correlation_setting(matrix.name, matrix.getvalue())
        correlation_name = f"the uploaded correlation file {matrix.name}"
    elif link_matrix:
        correlation = storage.correlation_setting(link_matrix[1], link_matrix[2])
        correlation_name = f"the correlation matrix saved with basket {link_matrix[0]} (uploaded as {link_matrix[1]})"
    else:
        correlation, correlation_name = None, "the correlation file"
except ValueError as error:
    st.error(formats.message(error))
    st.stop()
if matrix is None and link_matrix:
    st.caption(formats.plain(f"Priced with {correlation_name}, not the store's correlation."))
    if st.button("Use the store's correlation instead", key="basket_forget_correlation"):
        st.session_state["basket_link_correlation"] = None
        st.rerun()

frame = pd.DataFrame(table).astype(object).where(pd.DataFrame(table).notna(), None)
plan_inputs = (
    frame.to_json(orient="split", index=False), horizon_days, int(slices), float(risk_aversion),
    correlation["csv"].encode() if correlation else None, bool(drop), (*DEFAULT_STRATEGIES, *extra),
    db.version(), float(limit_percent) / 100, correlation_name,
)  # fmt: skip


@st.cache_resource(max_entries=16, show_spinner=False)
def pictures(plan_inputs: tuple, shown: str, chosen: tuple[str, ...] | None, _plan) -> list:
    """The basket's pictures (``chosen``: its per-order schedules instead) for the plan priced from ``plan_inputs``
    (cached_plan's arguments) under ``shown``: built once for every session (plotly's figure objects take ~0.3 s to
    build), read only after."""
    if chosen is not None:
        return [basket_view.schedules_figure(_plan, list(chosen))]
    return [basket_view.bubble_figure(_plan, shown), basket_view.remaining_figure(_plan, shown),
            basket_view.risk_figure(_plan, shown)]  # fmt: skip


try:
    plan, dropped = basket_view.cached_plan(*plan_inputs)
except BasketError as error:
    st.error(formats.message(f"The basket has {len(error.problems)} problem(s); nothing is priced until it is valid "
                             "(or switch on Drop bad rows)."))  # fmt: skip
    st.dataframe(pd.DataFrame([p.to_json() for p in error.problems]), hide_index=True, key="basket_problems")
    st.stop()
except ValueError as error:
    st.error(formats.message(error))
    st.stop()
if dropped:
    st.warning(formats.message(f"{len(dropped)} bad cell(s) dropped: " + "; ".join(str(p) for p in dropped)))

shown = plan.shown
if shown is None:
    st.error(formats.message("No strategy could plan this basket: " + "; ".join(
        f"{r.label}: {r.error}" for r in plan.strategies)))  # fmt: skip
    st.stop()
top = basket_view.totals(plan, shown)
cols = st.columns(5)
cols[0].metric("Gross notional", formats.usd(top["gross_notional_usd"]), f"net {formats.usd(top['net_notional_usd'])}",
               delta_color="off", delta_arrow="off", help="net = buys − sells")  # fmt: skip
cols[1].metric("Expected cost", formats.bps(top["expected_cost_bps"]), formats.usd(top["expected_cost_usd"]),
               delta_color="off", delta_arrow="off")  # fmt: skip
cols[2].metric("Std with correlation", formats.usd(top["std_cost_usd"]), delta_color="off")
cols[3].metric("Std without correlation", formats.usd(top["std_cost_usd_uncorrelated"]))
cols[4].metric("VaR 95%", formats.usd(top["var95_usd"]))
st.caption(formats.markdown_safe(
    f"Totals under {plan.strategy(shown).label}; the joint optimum (multi-asset Almgren–Chriss) optimises "
    "the linear model (spread, η, γ) with the correlated risk; every order is priced under its symbol's own market "
    "model. " + plan.correlation.source
))  # fmt: skip
show_warnings(plan.warnings, "warnings about the basket")

st.subheader("Strategies")
st.dataframe(plan.strategy_table().drop(columns=["error"]), hide_index=True, key="basket_strategies",
             column_config=basket_view.TABLE_COLUMNS, column_order=basket_view.STRATEGY_COLUMN_ORDER)  # fmt: skip
show_warnings([f"{r.label}: not planned: {r.error}" for r in plan.strategies if r.error], "strategies not planned")
st.subheader("Orders")
st.dataframe(plan.order_table(shown).drop(columns=["cost_share"]), hide_index=True, key="basket_orders",
             column_config=basket_view.TABLE_COLUMNS, column_order=basket_view.ORDER_COLUMN_ORDER)  # fmt: skip
st.subheader("Roll-ups")
tabs = st.tabs(["By side", "By liquidity", "By group"])
tabs[0].dataframe(plan.rollup("side", shown), hide_index=True, column_config=basket_view.TABLE_COLUMNS)
tabs[1].dataframe(plan.rollup("liquidity", shown), hide_index=True, column_config=basket_view.TABLE_COLUMNS)
if plan.group_column:
    tabs[2].dataframe(plan.rollup("group", shown), hide_index=True, column_config=basket_view.TABLE_COLUMNS)
else:
    tabs[2].info("Add a group, sector or account column to roll up by it.")

st.subheader("Pictures")
figures = pictures(plan_inputs, shown, None, plan)
for figure in figures:
    st.plotly_chart(figure, width="stretch")
if shown == JOINT:
    key = (frame.to_json(orient="split", index=False), horizon_days, slices, risk_aversion, db.version())
    st.plotly_chart(basket_view.frontier_figure(basket_view.cached_frontier(plan, key), plan), width="stretch")


@st.fragment
def schedules() -> None:
    """Per-order schedules on demand: choosing orders reruns only this block."""
    chosen = st.multiselect("Schedules of", plan.symbols, default=plan.symbols[:2], key="basket_schedule_symbols")
    if chosen:
        st.plotly_chart(pictures(plan_inputs, shown, tuple(chosen), plan)[0], width="stretch")


schedules()

settings_now = storage.link_settings(horizon_days, slices, risk_aversion, drop, extra, float(limit_percent) / 100,
                                     correlation)  # fmt: skip
if horizon_unit != "days":  # saved only when not days, so that links saved before the unit keep their id
    settings_now["horizon_unit"] = horizon_unit
current_id = storage.basket_id(frame, settings_now)


def saved_report() -> str:
    """The HTML report, the basket saved first so that the id it names opens it."""
    try:
        ident, not_saved = storage.save_basket(frame, settings_now), None
    except ValueError as error:
        ident, not_saved = None, str(error)
    return basket_view.report_html(plan, figures, dt.datetime.now(dt.UTC), ident, not_saved)


st.subheader("Export")
left, middle, right = st.columns(3)
left.download_button("Basket report (HTML)", saved_report, file_name="basket_report.html", mime="text/html",
                     key="basket_report")  # fmt: skip
middle.download_button("Workbook (.xlsx)", lambda: spreadsheet.basket_xlsx(plan, current_id),
                       file_name="basket.xlsx", key="basket_xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
right.download_button("Orders (CSV for a spreadsheet)", lambda: basket_view.spreadsheet_csv(plan),
                      file_name="basket_orders.csv", mime="text/csv", key="basket_csv")  # fmt: skip

st.subheader("Share")
if st.button("Share: save the basket and show its link", key="basket_share"):
    try:
        shared_id = storage.save_basket(frame, settings_now)
    except ValueError as error:
        st.warning(formats.message(error))
    else:
        st.session_state["basket_link_seen"] = shared_id
        st.query_params["basket"] = shared_id
        token = shared_id
if token and token == current_id:
    base = st.context.url
    st.code(f"{base}?basket={current_id}" if base else f"?basket={current_id}", language=None)
    note = f"Basket {current_id} is saved in the store with its settings: this link reopens it on any browser using "
    kept = ("the correlation matrix it was priced with is saved with it" if correlation else
            "it has no correlation file: the link prices it with the store's correlation")  # fmt: skip
    st.caption(formats.plain(f"{note}the same store; {kept}."))
else:
    if token and token == st.session_state.get("basket_link_seen") and "basket_link_problem" not in st.session_state:
        del st.query_params["basket"]  # the basket changed since its link: the address no longer names it
    st.caption("Share saves the basket and its settings in the store under an id (?basket=ID) and shows the link.")
