"""Simulate: Monte Carlo cost distribution of every strategy on the same market paths."""

import numpy as np
import streamlit as st

from optexec import report
from optexec.market import cost_model
from optexec.monte_carlo import SimulationConfig, simulate
from optexec.simulation.market import LiquidityRegimes, MarketModel
from optexec.ui import formats, links
from optexec.ui import simulation_figures as figures
from optexec.ui.state import ARITHMETIC_ERRORS, arithmetic_message, show_market_note, show_warnings, valid_ticket

#: the run's planned-schedule columns (``StrategyRun.closed_form_usd``, ``expected_usd``): empty when no schedule
PLANNED_COLUMNS = ("closed_form_usd", "closed_form_bps", "expected_usd", "expected_bps")

st.title("Monte Carlo simulation")
ticket = valid_ticket()
show_market_note(ticket)
order, market, settings = ticket.order, ticket.market, ticket.settings
PATHS, SEED = links.Number("Paths", 100, 100_000, integer=True), links.Number("Seed", 0, 2**31 - 1, integer=True)
links.page_number("sim_paths", PATHS, 2_000)
links.page_number("sim_seed", SEED, 0)

with st.form("simulation"):
    top = st.columns(3)
    st.session_state.setdefault("sim_paths", 2_000)
    st.session_state.setdefault("sim_seed", 0)
    paths = top[0].number_input("Paths", step=500, key="sim_paths", help="100 to 100,000")
    seed = top[1].number_input("Seed", step=1, key="sim_seed")
    price_model = top[2].selectbox("Mid price", ["arithmetic", "geometric"], key="sim_price_model")
    with st.expander("Market model"):
        cols = st.columns(3)
        regimes_on = cols[0].checkbox("Liquidity regimes (high / low)", True, key="sim_regimes")
        volume_noise = cols[0].slider("Volume noise (lognormal sd per slice)", 0.0, 1.0, 0.3, 0.05, key="sim_vnoise")
        spread_noise = cols[0].slider("Spread noise (lognormal sd per slice)", 0.0, 1.0, 0.1, 0.05, key="sim_snoise")
        fast_vov = cols[1].slider("Fast vol factor: vol of vol (per √day)", 0.0, 2.0, 0.0, 0.05, key="sim_fast")
        slow_vov = cols[1].slider("Slow vol factor: vol of vol (per √day)", 0.0, 1.0, 0.0, 0.05, key="sim_slow")
        force_finish = cols[2].checkbox(
            "Finish at the horizon", True, key="sim_finish",
            help="what a strategy has not done by the horizon goes as one block at the start of the last slice, "
            "as the plan prices it",
        )  # fmt: skip
        use_policies = cols[2].checkbox("Run feedback policies (else static schedules)", True, key="sim_policies")
    asked = st.form_submit_button("Run simulation", icon=":material/play_arrow:", type="primary", key="sim_run")

links.write({"sim_paths": None if paths == 2_000 else paths, "sim_seed": None if seed == 0 else seed})
for spec, value in ((PATHS, paths), (SEED, seed)):
    if spec.problem(value):
        st.error(formats.plain(links.input_error(spec.label, value, spec.problem(value)).replace("plan", "simulation")))
        st.stop()
try:
    model = MarketModel(
        price_model=price_model,
        regimes=LiquidityRegimes(enabled=regimes_on),
        volume_noise=volume_noise,
        spread_noise=spread_noise,
        fast_vol_of_vol_per_sqrt_day=fast_vov,
        slow_vol_of_vol_per_sqrt_day=slow_vov,
        initial_vol_ratio=float(settings.get("current_vol_ratio", 1.0)),
        fast_scale_epsilon=float(settings.get("fast_scale_epsilon", 0.1)),
        slow_scale_delta=float(settings.get("slow_scale_delta", 0.5)),
    )
    config = SimulationConfig(int(paths), int(seed), model, force_finish, use_policies=use_policies)
except ValueError as error:
    st.error(formats.message(error))
    st.stop()

st.markdown(
    f"**{order.side.upper()} {order.shares:,.0f} {formats.plain(order.symbol)}** "
    + formats.markdown_safe(
        f"{ticket.timing_words} · {config.paths:,} paths, seed "
        f"{config.seed} · every strategy trades on the same paths, so differences to TWAP are paired · costs "
        f"charged by the ticket's cost model: {cost_model(market).describe()}"
    )
)
key = (order, market, tuple(sorted(settings.items())), config)
stored = st.session_state.get("sim_result")
if stored is not None and stored[0] == key:
    result = stored[1]
elif asked:
    bar = st.progress(0.0, text="Drawing market paths…")
    try:
        result = simulate(order, market, settings, None, config,
                          lambda done, label: bar.progress(done, text=f"Simulated {label}"))  # fmt: skip
    except ValueError as error:
        bar.empty()
        st.error(formats.message(error))
        st.stop()
    except ARITHMETIC_ERRORS as error:
        bar.empty()
        st.error(arithmetic_message(error))
        st.stop()
    bar.empty()
    st.session_state["sim_result"] = (key, result)
else:  # a simulation runs when asked: the first view of the page and a changed input cost nothing until then
    changed = "The order, the market or the settings changed since the last run: " if stored is not None else ""
    st.info(
        formats.plain(
            f"{changed}press Run simulation to simulate every strategy on {config.paths:,} market paths "
            "(a progress bar shows how far it is)."
        ),
        icon=":material/play_arrow:",
    )
    st.stop()

show_warnings([f"{name}: not simulated. {error}" for name, error in result.errors.items()], "strategies not simulated")
for note in result.notes:  # how the run was done (e.g. in chunks of paths under the memory budget)
    st.info(formats.message(note), icon=":material/info:")
if not result.runs:
    st.stop()

table = result.table()
# the plan's closed form is undefined (empty) for a policy whose schedule cannot be built: not a failure of the run
numbers = table.select_dtypes("number").drop(columns=list(PLANNED_COLUMNS), errors="ignore")
not_finite = table.loc[~np.isfinite(numbers.to_numpy(dtype=float)).all(axis=1), "strategy"].tolist()
if not_finite:
    st.warning(
        formats.plain(
            f"Not a finite number in the statistics of {', '.join(not_finite)}: the simulation went beyond what it can "
            "compute for this order and market model, so these statistics cannot be trusted (inf or empty cells)."
        )
    )

st.subheader("Cost distributions")
st.plotly_chart(figures.distribution_figure(result), width="stretch")

st.subheader("Statistics")
money = [column for column in table.columns if column.endswith("_usd")]
st.dataframe(
    table.assign(**{column: table[column].round(0) for column in money}),
    hide_index=True,
    column_order=[
        "strategy",
        "kind",
        "mean_cost_bps",
        "mean_cost_usd",
        "stderr_mean_usd",
        "expected_bps",
        "closed_form_bps",
        "std_cost_bps",
        "var95_bps",
        "cvar95_bps",
        "vs_twap_usd",
        "vs_twap_stderr_usd",
        "mean_participation",
        "max_participation",
        "unfinished_share",
    ],  # fmt: skip
    column_config={
        "strategy": st.column_config.TextColumn("Strategy"),
        "kind": st.column_config.TextColumn("Run as", help="feedback policy or static schedule"),
        "mean_cost_bps": st.column_config.NumberColumn("Mean (bps)", format="%.2f"),
        "mean_cost_usd": st.column_config.NumberColumn("Mean ($)", format="localized"),
        "stderr_mean_usd": st.column_config.NumberColumn("± s.e. ($)", format="localized"),
        "expected_bps": st.column_config.NumberColumn(
            "Expected in this market (bps)",
            format="%.2f",
            help="the planned schedule's expected cost in this simulated market (random volume and spread)",
        ),
        "closed_form_bps": st.column_config.NumberColumn(
            "Plan's closed form (bps)", format="%.2f", help="the Plan page's expected cost: at the expected volume"
        ),
        "std_cost_bps": st.column_config.NumberColumn("Std (bps)", format="%.2f"),
        "var95_bps": st.column_config.NumberColumn("VaR95 (bps)", format="%.2f"),
        "cvar95_bps": st.column_config.NumberColumn("CVaR95 (bps)", format="%.2f"),
        "vs_twap_usd": st.column_config.NumberColumn(
            "vs TWAP ($)", format="localized", help="mean paired difference; < 0 = cheaper than TWAP"
        ),
        "vs_twap_stderr_usd": st.column_config.NumberColumn("± s.e. ($)", format="localized"),
        "mean_participation": st.column_config.NumberColumn("Mean participation", format="percent"),
        "max_participation": st.column_config.NumberColumn(
            "Max participation", format="percent", help="average over paths of each path's largest slice"
        ),
        "unfinished_share": st.column_config.NumberColumn("Unfinished", format="percent"),
    },  # fmt: skip
)
st.caption(
    "Implementation shortfall per path: what the order cost against the arrival price (the mid when it was sent); "
    "VaR/CVaR at 95% are the 95th percentile and the mean beyond it; bps of the arrival notional. "
    "The plan prices each schedule at the expected volume and spread. Here the volume is random, and a power-law "
    "impact costs more on thin slices than it saves on busy ones, so a fixed schedule's expected cost in this "
    'market is the plan\'s number plus that difference; its mean estimates "Expected in this market" within its '
    "standard error. A feedback strategy (POV, multiscale, limit ladder, regime-adaptive, RL agent, nonlinear) "
    "changes its trades on each path, so its mean can differ from both: that difference is what the strategy does."
)

st.subheader("Where the cost comes from")
st.plotly_chart(figures.components_figure(result), width="stretch")

st.subheader("Sample paths")
labels = {run.label: run.name for run in result.runs}
cheapest = [run.label for run in sorted(result.runs, key=lambda run: run.mean_usd)[:2]]
chosen = st.multiselect("Strategies", list(labels), default=cheapest, key="sim_paths_shown")
st.plotly_chart(figures.paths_figure(result, [labels[label] for label in chosen]), width="stretch")
st.download_button(
    "Statistics (CSV)",
    report.table_csv(table),
    file_name=formats.file_name(order.symbol, order.side, "simulation.csv"),
    mime="text/csv",
    key="sim_download",
    icon=":material/table_view:",
)
