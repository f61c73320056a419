"""Compare: the cost of every strategy split by component, and any two strategies side by side."""

import numpy as np
import pandas as pd
import streamlit as st

from optexec.clock import duration_words
from optexec.planning import Plan, next_best_row, ranked_rows, twin_rows
from optexec.strategies import registry
from optexec.ui import charts, formats, links
from optexec.ui.model_view import show_core_diagnostics
from optexec.ui.plan_view import cached_frontier, ticket_plan
from optexec.ui.state import live_view, show_market_note, valid_ticket
from optexec.ui.ticket import Ticket

st.title("Compare strategies")
ticket = valid_ticket()
show_market_note(ticket)
st.markdown(ticket.heading)
LABELS = [strategy.label for strategy in registry.STRATEGIES.values()]
links.page_choice("compare_a", "strategy A", LABELS, "the lowest E + λ·Var")
links.page_choice("compare_b", "strategy B", LABELS, "the next best with a different schedule")


def frontier_caption(plan: Plan) -> str:
    """What the frontier's curve is, in the words of the cost model that prices it and the rows."""
    curve = (
        f"Almgren–Chriss schedules over risk aversion λ (with the {plan.max_participation:.0%} participation limit), "
        f"each priced like the points under the {plan.market.cost_model} cost model."
    )
    if plan.market.cost_model == "linear" and plan.market.drift_usd_per_day == 0:
        return curve + (
            " Under this model, the one Almgren–Chriss optimises, no schedule lies below the curve unless the "
            "participation limit binds."
        )
    return curve + (
        " Almgren–Chriss optimises the linear model, so under this one other schedules can cost less at the same "
        "risk and lie below the curve."
    )


def half_done(plan: Plan, holdings_shares: np.ndarray) -> str:
    """When half of the order is done, from its start in words, and at which exchange-local time with a clock."""
    order = plan.order
    at_days = order.times_days[np.argmax(holdings_shares <= 0.5 * order.shares)]
    words = duration_words(at_days, plan.market.session_minutes)
    if plan.clock is None:
        return words
    stamp = plan.clock.timestamps([at_days], order.start_minutes_after_open, plan.market.session_minutes)[0]
    when = f"{stamp:%H:%M}" if stamp.date() == plan.clock.days[0] else f"{stamp:%a %Y-%m-%d %H:%M}"
    return f"{words} ({when} {plan.clock.time_zone})"


def comparison(ticket: Ticket) -> None:
    """Everything on the page follows the model sliders: reruns alone when one of them moves."""
    plan = ticket_plan(ticket.order, ticket.market, ticket.settings, ticket.model_reason, ticket.start_day)
    planned = {row.strategy.label: row for row in plan.planned}
    if not planned:
        st.error("No strategy could plan this order; see the Plan page for the reasons.")
        return

    st.subheader("Where the cost comes from")
    st.plotly_chart(charts.cost_breakdown_figure(plan), width="stretch")
    st.caption(
        "Stacked: spread, temporary and permanent impact, drift and transient impact; diamonds: "
        "E ± 1 std. A bar far longer than the others runs off the right edge, where its cost is written."
    )

    st.subheader("Efficient frontier")
    try:
        frontier = cached_frontier(plan.order, plan.market, tuple(sorted(ticket.settings.items())))
        st.plotly_chart(charts.frontier_figure(plan, frontier), width="stretch")
        st.caption(formats.plain(frontier_caption(plan)))
    except ValueError as error:
        st.info(formats.message(f"No frontier for this order: {error}"))

    st.subheader("Two strategies side by side")
    labels = list(planned)
    ranked = ranked_rows(plan)  # the recommended first: lowest E + λ·Var within the participation limit
    best_index = labels.index(ranked[0].strategy.label)
    # the best with a materially different schedule, as the recommendation says (when no row keeps the participation
    # limit, the best different one above it)
    twins = twin_rows(plan)
    runner_up = next_best_row(plan) or next((row for row in ranked[1:] if row not in twins), None)
    runner_up_index = labels.index(runner_up.strategy.label) if runner_up is not None else best_index
    left, right = st.columns(2)
    for key, index in (("compare_a", best_index), ("compare_b", runner_up_index)):
        held = st.session_state.get(key)
        if held is not None and held not in labels:
            st.warning(
                formats.plain(
                    f"{held} could not plan this order (see the Plan page): comparing {labels[index]} instead."
                )
            )
        if held not in labels:
            st.session_state[key] = labels[index]
    first = left.selectbox("Strategy A (default: lowest E + λ·Var)", labels, key="compare_a")
    second = right.selectbox("Strategy B (default: the next best with a different schedule)", labels, key="compare_b")
    links.write({"compare_a": None if first == labels[best_index] else first,
                 "compare_b": None if second == labels[runner_up_index] else second})  # fmt: skip
    a, b = planned[first], planned[second]
    rows = [
        ("expected cost", a.cost.expected_usd, b.cost.expected_usd),
        ("std of cost", a.cost.std_usd, b.cost.std_usd),
        ("VaR 95%", a.cost.var_usd(), b.cost.var_usd()),
        ("spread", a.cost.spread_usd, b.cost.spread_usd),
        ("temporary impact", a.cost.temporary_usd, b.cost.temporary_usd),
        ("permanent impact", a.cost.permanent_usd, b.cost.permanent_usd),
        ("drift", a.cost.drift_usd, b.cost.drift_usd),
    ]
    table = pd.DataFrame(
        {
            "": [name for name, _, _ in rows],
            f"{first} (bps)": [a.cost.to_bps(x) for _, x, _ in rows],
            f"{second} (bps)": [b.cost.to_bps(y) for _, _, y in rows],
            "B − A (bps)": [b.cost.to_bps(y - x) for _, x, y in rows],
            "B − A ($)": [round(y - x) for _, x, y in rows],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.1f") for c in table.columns if c.endswith("(bps)")}
        | {"B − A ($)": st.column_config.NumberColumn(format="localized")},
    )
    st.caption(
        formats.markdown_safe(
            f"Half of the order is done after {half_done(plan, a.schedule.holdings_shares)} with {first} and "
            f"{half_done(plan, b.schedule.holdings_shares)} with {second}."
        )
    )

    show_core_diagnostics(ticket.settings)


live_view("compare_results", comparison, ticket)
