"""Sensitivity: how every strategy's cost and risk move as one parameter moves (closed forms)."""

import streamlit as st

from optexec.monte_carlo import SimulationConfig
from optexec.sensitivity import sweep
from optexec.strategies import registry
from optexec.ui import formats, links, sweep_jobs, sweep_words
from optexec.ui.plan_view import sweep_figures
from optexec.ui.state import live_view, show_market_note, valid_ticket
from optexec.ui.ticket import Ticket

st.title("Sensitivity")
ticket = valid_ticket()
show_market_note(ticket)
st.markdown(ticket.heading)


def sweep_view(ticket: Ticket) -> None:
    """The sweep and its controls; reruns alone when they or the model sliders move."""
    order, market, settings = ticket.order, ticket.market, ticket.settings
    parameters = sweep_words.sweep_parameters(market, settings)
    names = list(parameters)
    links.page_choice("sweep_param", "swept parameter", names, names[0], lambda p: parameters[p][0])
    param = st.selectbox("Parameter", names, format_func=lambda p: parameters[p][0], key="sweep_param")
    links.write({"sweep_param": None if param == names[0] else param})
    label, low_default, high_default, log_default = parameters[param]
    horizon = None
    range_key = param
    if param == "horizon_days":  # swept in days (the model's unit), asked and drawn in the ticket's unit
        horizon = sweep_words.horizon_axis(ticket.horizon_unit, market.session_minutes, order.horizon_days)
        label, low_default, high_default, range_key = (
            horizon.label,
            horizon.low,
            horizon.high,
            f"{param}_{horizon.unit}",
        )
    cols = st.columns(4)
    low = cols[0].number_input("from", value=float(low_default), format="%g", key=f"sweep_low_{range_key}")
    high = cols[1].number_input("to", value=float(high_default), format="%g", key=f"sweep_high_{range_key}")
    points = cols[2].slider("points", 3, 60, sweep_words.DEFAULT_POINTS, key="sweep_points")
    log_x = cols[3].checkbox("log scale", value=log_default, key=f"sweep_log_{param}")
    simulated = cols[3].toggle(
        "Monte Carlo", key="sweep_simulate",
        help="Simulate every point (same seed at every point): feedback policies react to each path.",
    )  # fmt: skip
    paths = st.number_input("paths per point", 200, 20_000, 1000, 200, key="sweep_paths") if simulated else 0
    if not high > low:
        st.error("the sweep needs 'to' larger than 'from'")
        return
    if log_x and low <= 0:
        st.error("a log-scale sweep needs 'from' > 0")
        return
    labels = {name: strategy.label for name, strategy in registry.STRATEGIES.items()}
    chosen = st.multiselect("Strategies", list(labels), default=list(labels), format_func=labels.get, key="sweep_names")
    if not chosen:
        st.info("Pick at least one strategy.")
        return
    values = sweep_words.sweep_values(low, high, points, log_x, param)
    if horizon is not None:
        values = horizon.to_days(values)
    try:
        if simulated:
            bar = st.progress(0.0, text="Simulating…")
            result = sweep(order, market, settings, param, values, chosen, SimulationConfig(paths=int(paths)),
                           progress=lambda done: bar.progress(done, text=f"Simulating… {done:.0%}"))  # fmt: skip
            bar.empty()
        else:
            inputs = (order, market, tuple(sorted(settings.items())), param, tuple(values), tuple(chosen))
            progress = _ProgressBar(len(values))
            try:
                result = sweep_jobs.sweep_with_progress(sweep_jobs.Request(*inputs), progress)
            finally:
                progress.clear()
    except ValueError as error:
        st.error(formats.message(error))
        return
    shown = horizon.shown(result) if horizon is not None else result
    if simulated:
        figures = sweep_words.same_curve_figures(result, shown, label, log_x)
    else:
        figures = sweep_figures(*inputs, label, log_x, result, shown)
    st.plotly_chart(figures[0], width="stretch")
    same = sweep_words.same_curve_note(result, sweep_words.same_curve_groups(result))
    if same:
        st.caption(formats.markdown_safe(same))
    st.caption(
        formats.markdown_safe(
            (
                "Monte Carlo mean, std and 95% VaR of each strategy's shortfall"
                if simulated
                else "Closed-form expected cost, std and 95% VaR of each strategy's schedule"
            )
            + f" under the {market.cost_model} cost model, as on the Plan page; "
            + "every other input as in the sidebar ticket; "
            f"bps of each point's arrival notional (now {formats.usd(order.shares * market.price_usd)})."
            + (
                f" The ticket's horizon: {ticket.horizon_words}; the model counts trading days of "
                f"{market.session_minutes / 60:g} hours (one session)."
                if horizon is not None
                else ""
            )
        )
    )
    st.subheader("Cost–risk paths")
    st.plotly_chart(figures[1], width="stretch")
    for note in sweep_words.failure_notes(result, label, horizon):
        st.warning(formats.message(note))


class _ProgressBar:
    """``bar(fraction done)`` for a sweep being computed: a progress bar drawn at the first call (none for a sweep
    kept from before); ``clear()`` removes it once the sweep is done."""

    def __init__(self, points: int) -> None:
        self.points = points
        self.bar = None

    def __call__(self, done: float) -> None:
        text = f"Sweeping {self.points} points… {done:.0%}"
        if self.bar is None:
            self.bar = st.progress(min(done, 1.0), text=text)
        else:
            self.bar.progress(min(done, 1.0), text=text)

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.empty()


live_view("sensitivity_sweep", sweep_view, ticket)
