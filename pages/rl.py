"""RL agent: train on the simulator with a live learning curve, save the policy to the store, evaluate it."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from optexec.rl import evaluate as rl_eval
from optexec.rl import storage
from optexec.rl import training as rl_training
from optexec.strategies.base import SHARED_SETTINGS
from optexec.strategies.rl_agent import DEFAULT_PERIODS
from optexec.ui import formats
from optexec.ui.state import show_market_note, valid_ticket

st.title("Reinforcement-learning agent")
ticket = valid_ticket()
show_market_note(ticket)
order, market, settings = ticket.order, ticket.market, ticket.settings
risk_aversion = float(settings.get("risk_aversion_per_usd", SHARED_SETTINGS["risk_aversion_per_usd"].default))
periods = rl_training.decision_periods(order, DEFAULT_PERIODS)
st.caption(
    f"**{order.side.upper()} {order.shares:,.0f} {formats.plain(order.symbol)}** "
    + formats.markdown_safe(
        f"over {formats.days(order.horizon_days)}, "
        f"{periods} decision periods, risk aversion λ = {risk_aversion:g} per $. Each period the agent picks the share "
        "of the remaining order to trade; reward = −(shortfall increment) − λ·variance penalty; the simulator charges "
        "the costs, so the agent is comparable with every strategy on the Simulate page."
    )
)

with st.form("rl_train"):
    cols = st.columns(4)
    kind = cols[0].radio("Agent", ["cross_entropy", "q_learning"], key="rl_kind",
                         format_func=lambda k: {"cross_entropy": "Cross-entropy (continuous)",
                                                "q_learning": "Q-learning (0%, 10%, …, 100%)"}[k])  # fmt: skip
    regime_name = cols[1].selectbox("Train for the regime", rl_training.REGIMES, key="rl_regime",
                                    help="curriculum: calm market first, then (normal,) then this regime")  # fmt: skip
    iterations = cols[2].number_input("Training iterations", 2, 1000, 30, 5, key="rl_iterations",
                                      help="about 0.1 s each at 390 slices")  # fmt: skip
    name = cols[3].text_input("Save as", "default", key="rl_name")
    trained = st.form_submit_button("Train and save", icon=":material/model_training:", type="primary")

key = storage.problem_key(order, market, risk_aversion, periods)
if trained:
    bar = st.progress(0.0, text="Training…")
    chart = st.empty()
    points: list[dict] = []

    def show(done: float, point: dict) -> None:
        points.append(point)
        bar.progress(min(done, 1.0), text=f"{point['stage']}: iteration {point['iteration'] + 1}")
        if len(points) % 3 == 1 or done >= 1.0:
            curve = pd.DataFrame(points)
            figure = go.Figure(
                [go.Scatter(y=curve[col], name=label, mode="lines+markers") for col, label in
                 (("cost_bps", "shortfall (bps)"), ("objective_bps", "shortfall + λ·Var penalty (bps)"))],
            )  # fmt: skip
            figure.update_layout(xaxis_title="training iteration", yaxis_title="bps of notional (validation paths)",
                                 height=320, margin=dict(t=30, b=40))  # fmt: skip
            for start, stage in curve.groupby("stage", sort=False).head(1)["stage"].items():
                # the curriculum moves to a harder market here: costs jump because the market changed
                figure.add_vline(x=start - 0.5, line_dash="dot", line_color="#888", annotation_text=f"{stage} market")
            chart.plotly_chart(figure, width="stretch", key=f"rl_curve_{len(points)}")

    try:
        agent, curve = rl_training.train_for_regime(kind, order, market, regime_name, int(iterations), DEFAULT_PERIODS,
                                                risk_aversion, progress=show)  # fmt: skip
        summary = {"regime": regime_name, "iterations": int(iterations), "final_cost_bps": curve[-1]["cost_bps"]}
        if regime_name != "trending":  # the trending regime changes the market's drift: a different problem
            storage.save_policy(name, key, agent, summary)
            st.cache_data.clear()  # cached plans and sweeps still hold the quick default agent
            st.success(formats.plain(f"Saved as “{name}”: the RL agent strategy now uses it on every page."))
        else:
            st.info("Trained for the trending regime (a drift the ticket does not have): evaluated here, not saved.")
    except ValueError as error:
        st.error(formats.message(error))
        st.stop()
    bar.empty()
    st.session_state["rl_trained"] = (key, kind, regime_name, agent, curve)

stored = st.session_state.get("rl_trained")
if stored is not None and stored[0] == key:
    _, kind_done, regime_done, agent, curve = stored
    st.subheader("Evaluation on held-out paths")
    with st.form("rl_evaluate"):
        paths = st.number_input("Paths", 200, 50_000, 2_000, 500, key="rl_paths")
        run = st.form_submit_button("Evaluate against TWAP, VWAP, Almgren–Chriss and the DP optimum",
                                    icon=":material/play_arrow:")  # fmt: skip
    if run:
        with st.spinner("Simulating…"):
            table = rl_eval.evaluate(order, market, {f"RL {kind_done}": agent}, regime_done, int(paths),
                                     periods=DEFAULT_PERIODS, risk_aversion_per_usd=risk_aversion)  # fmt: skip
        for note in table.attrs.get("notes", ()):
            st.info(formats.message(note))
        st.dataframe(table.round(3), hide_index=True)
        st.caption("Improvement = −(mean paired difference to TWAP) / TWAP's mean shortfall, ± its standard error; "
                   "all strategies trade on the same paths (common random numbers), never seen in "
                   "training.")  # fmt: skip
else:
    st.info("Train an agent to evaluate it (the ticket's order, market and λ define what it is trained for).")

st.subheader("Stored policies")
try:
    policies = storage.list_policies()
except ValueError as error:
    st.warning(formats.message(f"Store unavailable: {error}"))
else:
    if policies.empty:
        st.caption("None yet: without one, the RL agent strategy trains a small default agent and says so.")
    else:
        policies["for this ticket"] = policies["problem_key"] == key
        st.dataframe(policies, hide_index=True)
