"""Sensitivity: how every strategy's cost and risk move as one parameter moves (closed forms)."""

import numpy as np
import streamlit as st

from optexec.models import MarketParams
from optexec.monte_carlo import SimulationConfig
from optexec.sensitivity import ORDER_FRACTION_OF_ADV, setting_sweep_ranges, sweep
from optexec.strategies import registry
from optexec.ui import formats, links, sweep_words
from optexec.ui.plan_view import cached_sweep, sweep_figures
from optexec.ui.settings import setting_label
from optexec.ui.state import live_view, show_market_note, valid_ticket
from optexec.ui.ticket import Ticket

st.title("Sensitivity")
ticket = valid_ticket()
show_market_note(ticket)
st.markdown(ticket.heading)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def sweep_parameters(market: MarketParams, settings: dict) -> dict[str, tuple[str, float, float, bool]]:
    """Parameter -> (label, low, high, log scale) around the ticket's current values."""
    parameters = {
        "risk_aversion_per_usd": (_lower_first(setting_label("risk_aversion_per_usd")), 1e-8, 1e-4, True),
        ORDER_FRACTION_OF_ADV: ("order size (fraction of ADV)", 0.01, 0.5, False),
        "horizon_days": ("horizon (trading days)", 0.1, 5.0, False),
        "sigma_usd_per_sqrt_day": (
            "volatility σ ($/share/√day)", 0.25 * market.sigma_usd_per_sqrt_day, 2.5 * market.sigma_usd_per_sqrt_day,
            False,
        ),
        "eta_usd_day_per_share2": (
            "temporary impact η", 0.25 * market.eta_usd_day_per_share2, 4 * market.eta_usd_day_per_share2, True,
        ),
        "gamma_usd_per_share2": ("permanent impact γ", 0.0, 4 * market.gamma_usd_per_share2, False),
        "spread_usd": ("spread ($)", 0.0, 4 * market.spread_usd, False),
    }  # fmt: skip
    for name, spec in sorted(setting_sweep_ranges(settings).items()):
        parameters.setdefault(name, spec)
    return parameters


def sweep_view(ticket: Ticket) -> None:
    """The sweep and its controls; reruns alone when they or the model sliders move."""
    order, market, settings = ticket.order, ticket.market, ticket.settings
    parameters = sweep_parameters(market, settings)
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
    points = cols[2].slider("points", 3, 60, 15, key="sweep_points")
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
    values = np.geomspace(low, high, points) if log_x else np.linspace(low, high, points)
    if param == "slices":
        values = np.unique(np.maximum(1, values.round()))
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
            result = cached_sweep(*inputs)
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
    for name, messages in result.errors.items():
        st.warning(formats.message(f"{result.labels[name]}: no plan at {len(messages)} point(s): {messages[0]}"))


live_view("sensitivity_sweep", sweep_view, ticket)
