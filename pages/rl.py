"""RL agent: train on the simulator with a live learning curve, save the policy to the store, evaluate it."""

import streamlit as st

from optexec.rl import evaluate as rl_eval
from optexec.rl import storage
from optexec.rl import training as rl_training
from optexec.strategies.base import SHARED_SETTINGS
from optexec.strategies.rl_agent import DEFAULT_PERIODS
from optexec.ui import formats, rl_view
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
        f"{ticket.timing_words}, "
        f"{periods} decision periods, risk aversion λ = {formats.number(risk_aversion)} per $. Each period the agent "
        "picks the share of the remaining order to trade; reward = −(shortfall increment) − λ·variance penalty; the "
        "simulator charges the costs, so the agent is comparable with every strategy on the Simulate page."
    )
)

with st.form("rl_train"):
    cols = st.columns(4)
    kind = cols[0].radio("Agent", list(rl_view.AGENT_WORDS), key="rl_kind", format_func=rl_view.AGENT_WORDS.get)
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
        bar.progress(min(done, 1.0), text=f"{point['stage']} market: iteration {point['iteration'] + 1}")
        if len(points) % 3 == 1 or done >= 1.0:
            chart.plotly_chart(rl_view.curve_figure(points), width="stretch", key=f"rl_curve_{len(points)}")

    try:
        agent, curve = rl_training.train_for_regime(kind, order, market, regime_name, int(iterations), DEFAULT_PERIODS,
                                                risk_aversion, progress=show)  # fmt: skip
        summary = {"regime": regime_name, "iterations": int(iterations), "final_cost_bps": curve[-1]["cost_bps"]}
        if regime_name != "trending":  # the trending regime changes the market's drift: a different problem
            storage.save_policy(name, key, agent, summary)
            st.cache_data.clear()  # cached plans and sweeps still hold the quick default agent
            outcome = ("success", f"Saved as “{name}”: the RL agent strategy now uses it on every page.")
        else:
            trending = "Trained for the trending regime (a drift the ticket does not have): evaluated here, not saved."
            outcome = ("info", trending)
    except ValueError as error:
        bar.empty()
        st.error(formats.message(error))
        st.stop()
    bar.empty()
    chart.empty()  # drawn again below, with the rest of the result, on every run until the inputs change
    run_number = st.session_state.get("rl_runs", 0) + 1
    st.session_state["rl_runs"] = run_number
    st.session_state["rl_trained"] = {"key": key, "kind": kind, "regime": regime_name, "agent": agent,
                                      "curve": curve, "outcome": outcome, "run": run_number}  # fmt: skip

stored = st.session_state.get("rl_trained")
if stored is not None and stored["key"] == key:
    level, text = stored["outcome"]
    (st.success if level == "success" else st.info)(formats.plain(text))
    st.subheader("Learning curve")
    st.caption(
        formats.plain(
            f"{rl_view.AGENT_WORDS.get(stored['kind'], stored['kind'])} trained for the {stored['regime']} market, "
            f"{len(stored['curve'])} iterations; costs on validation paths."
        )
    )
    st.plotly_chart(rl_view.curve_figure(stored["curve"]), width="stretch", key="rl_curve")
    st.subheader("Evaluation on held-out paths")
    with st.form("rl_evaluate"):
        paths = st.number_input("Paths", 200, 50_000, 2_000, 500, key="rl_paths")
        run = st.form_submit_button("Evaluate against TWAP, VWAP, Almgren–Chriss and the DP optimum",
                                    icon=":material/play_arrow:")  # fmt: skip
    evaluation_key = (stored["run"], key, int(paths))
    if run:
        bar = st.progress(0.0, text=f"Simulating {int(paths):,} held-out paths…")

        def step(done: float, what: str) -> None:
            bar.progress(min(max(done, 0.0), 1.0), text=f"Simulating {int(paths):,} held-out paths: {what}")

        try:
            table = rl_eval.evaluate(order, market, {f"RL {stored['kind']}": stored["agent"]}, stored["regime"],
                                     int(paths), periods=DEFAULT_PERIODS, risk_aversion_per_usd=risk_aversion,
                                     progress=step)  # fmt: skip
        except ValueError as error:
            bar.empty()
            st.error(formats.message(error))
            st.stop()
        bar.empty()
        st.session_state["rl_evaluation"] = (evaluation_key, table)
    evaluated = st.session_state.get("rl_evaluation")
    if evaluated is not None and evaluated[0] == evaluation_key:
        table = evaluated[1]
        for note in table.attrs.get("notes", ()):
            st.info(formats.message(note))
        st.dataframe(rl_view.evaluation_table(table), hide_index=True, key="rl_evaluation_table")
        st.caption(
            "Mean cost vs TWAP: the mean paired difference to TWAP over TWAP's mean shortfall (cheaper is better), "
            "± its standard error; all strategies trade on the same paths (common random numbers), never seen in "
            "training. E + λ·Var: the mean shortfall plus the risk penalty, in dollars."
        )
else:
    st.info("Train an agent to evaluate it (the ticket's order, market and λ define what it is trained for).")

st.subheader("Stored policies")
try:
    policies = storage.list_policies()
except ValueError as error:
    st.warning(formats.message(f"Store unavailable: {error}"))
else:
    if policies.empty:
        st.caption("No stored policy yet: without one, the RL agent strategy trains a small default agent and says so.")
    else:
        st.dataframe(rl_view.policies_table(policies, key), hide_index=True, key="rl_policies_table")
