"""Plan: every registered strategy side by side for the order in the sidebar ticket."""

import datetime as dt

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from optexec import report
from optexec.planning import best_row, recommendation, whole_lot_plan, within_limit
from optexec.report_content import report_content
from optexec.report_xlsx import report_xlsx
from optexec.strategies import registry
from optexec.ui import charts, formats, links
from optexec.ui.model_view import show_cost_model, show_model_parameters
from optexec.ui.plan_view import prefetch_neighbouring_risk_aversions, show_cost_table, show_plan_notes, ticket_plan
from optexec.ui.state import live_view, show_market_note, valid_ticket
from optexec.ui.ticket import Ticket

st.title("Pre-trade plan")
# a metric's value is cut off with "…" where its column ends: the winning strategy's name wraps instead
st.html(
    "<style>[data-testid='stMetricValue'] > div {white-space: normal; overflow: visible; text-overflow: clip}</style>"
)
ticket = valid_ticket()
order, market = ticket.order, ticket.market
overridden = {o.key.split(".")[0] for o in ticket.overrides}
st.markdown(
    f"**{order.side.upper()} {order.shares:,.0f} {formats.plain(order.symbol)}** "
    + formats.markdown_safe(
        f"over {ticket.horizon_text or formats.days(order.horizon_days)} in "
        f"{order.slices} slices · arrival price ${market.price_usd:,.2f}{' (override)' * ('price' in overridden)} · "
        f"notional {formats.usd(order.shares * market.price_usd)} · {order.shares / market.adv_shares:.1%} of ADV"
        f"{' (ADV override)' * ('adv' in overridden)}" + (f" · {ticket.start_text}" if ticket.start_text else "")
    )
)
show_market_note(ticket)
PANELS = [*charts.SCHEDULE_PANELS, "all"]


def panel_label(name: str) -> str:
    return "All three, stacked" if name == "all" else charts.SCHEDULE_PANELS[name][0]


links.page_choice("plan_panel", "schedule panel", PANELS, "holdings", panel_label)


def results(ticket: Ticket) -> None:
    """Everything that follows the model sliders: reruns alone when one of them moves."""
    plan = ticket_plan(ticket.order, ticket.market, ticket.settings, ticket.model_reason, ticket.start_day)
    drawn = whole_lot_plan(plan)  # the charts' child orders in whole lots, as in the CSV and the report's table
    order = plan.order
    notional = order.shares * plan.market.price_usd
    best = best_row(plan)
    if best:
        cost = best.cost
        summary = st.columns([2, 1, 1, 1])  # room for a long strategy name
        summary[0].metric("Lowest E + λ·Var", best.strategy.label, help=best.strategy.label)
        for column, label, usd in zip(
            summary[1:],
            ("Expected cost", "Std of cost", "VaR 95%"),
            (cost.expected_usd, cost.std_usd, cost.var_usd()),
            strict=True,
        ):
            column.metric(label, formats.bps(cost.to_bps(usd)), formats.usd(usd), delta_color="off", delta_arrow="off")
    show_plan_notes(plan, recommendation(plan) if best else None)

    st.subheader("Expected cost and risk")
    show_cost_model(plan.market, plan.model_reason)
    show_cost_table(plan)
    st.caption(
        formats.markdown_safe(
            f"Every row priced under the {plan.market.cost_model} cost model (one market model prices every strategy); "
            f"bps of the arrival notional {formats.usd(notional)}; VaR95 = E + 1.645·std; ★ = lowest E + λ·Var at "
            f"λ = {plan.risk_aversion_per_usd:g} per $ among the strategies "
            + ("within" if best is not None and within_limit(best, plan.max_participation) else "closest to")
            + f" the ticket's {plan.max_participation:.0%} participation limit."
        )
    )
    st.subheader("Schedules")
    st.session_state.setdefault("plan_panel", "holdings")
    panel = st.segmented_control("Show", PANELS, required=True, format_func=panel_label, key="plan_panel")
    panel = panel if panel in PANELS else "holdings"
    links.write({"plan_panel": None if panel == "holdings" else panel})
    panels = list(charts.SCHEDULE_PANELS) if panel == "all" else [panel]
    st.plotly_chart(charts.schedule_figure(drawn, panels, charts.SCREEN_ERROR), width="stretch")
    st.subheader("Export")
    content = lambda: report_content(plan, ticket.market_note, dt.datetime.now(dt.UTC), links.plan_link())  # noqa: E731
    left, middle, right = st.columns(3)
    left.download_button(
        "Schedule (CSV)",
        lambda: report.schedule_csv(plan),
        file_name=formats.file_name(order.symbol, order.side, "schedule.csv"),
        mime="text/csv",
        key="download_csv",
        icon=":material/table_view:",
    )
    middle.download_button(
        "Pre-trade report (HTML)",
        lambda: report.report_html(
            plan, [charts.schedule_figure(drawn)], ticket.market_note, dt.datetime.now(dt.UTC), links.plan_link()
        ),
        file_name=formats.file_name(order.symbol, order.side, "pretrade_report.html"),
        mime="text/html",
        key="download_report",
        icon=":material/description:",
    )
    right.download_button(
        "Pre-trade report (Excel)",
        lambda: report_xlsx(content()),
        file_name=formats.file_name(order.symbol, order.side, "pretrade_report.xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="download_report_xlsx",
        icon=":material/grid_on:",
    )
    times = "exchange-local clock times" if plan.clock is not None else "times in trading days (no exchange calendar)"
    st.caption(
        f"The report is one file of about 2.4 MB with its chart library, compressed; it opens offline and prints on "
        f"A4 or Letter landscape. The CSV and the spreadsheet hold every slice in whole shares at {times}."
    )
    context = get_script_run_ctx()
    prefetch_neighbouring_risk_aversions(order, plan.market, ticket.settings, context.session_id if context else None)


live_view("plan_results", results, ticket)
# below the results and outside them: they do not change with the model sliders, so a slider move neither sends
# nor redraws them
st.subheader("The model and the strategies")
show_model_parameters(market)
with st.expander("What each strategy does"):
    descriptions = (f"- **{s.label}**: {s.description}" for s in registry.STRATEGIES.values())
    st.markdown(formats.markdown_safe("\n".join(descriptions)))
