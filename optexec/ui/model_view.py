"""The model beside the plans: the cost model a plan is priced with (each parameter, its unit and source) and the
multiscale Riccati core, exact against its expansion."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from optexec.model_card import MODEL_WORDS, components, model_parameters
from optexec.models import MarketParams
from optexec.strategies.multiscale import MultiscaleModel, solve_core
from optexec.ui import formats


def parameter_frame(market: MarketParams) -> pd.DataFrame:
    """Every parameter of the market's cost model: what it is, value (scientific notation where small or large),
    unit, standard error (a dash where none was estimated), source; as text, so no cell reads "None"."""
    return pd.DataFrame(
        [
            (p.words, formats.number(p.value), p.unit, formats.number(p.stderr, 3), p.source or formats.NO_VALUE)
            for p in model_parameters(market)
        ],  # fmt: skip
        columns=["parameter", "value", "unit", "std error", "source"],
    )


def show_cost_model(market: MarketParams, reason: str) -> None:
    """Which cost model prices the plan and why, in one line (its parameters: ``show_model_parameters``)."""
    why = f" {reason[:1].upper()}{reason[1:]}." if reason else ""  # it may quote a symbol: shown as plain text
    words = f"{MODEL_WORDS[market.cost_model]}: {' + '.join(components(market))}.{why}"
    st.markdown(f"**Priced under the {market.cost_model} cost model** — {formats.plain(words)}")


def show_model_parameters(market: MarketParams) -> None:
    """The cost model's parameters with their units, standard errors and sources, in an expander."""
    with st.expander(f"The {market.cost_model} model's parameters and where they come from"):
        st.dataframe(
            parameter_frame(market),
            hide_index=True,
            column_config={"source": st.column_config.TextColumn(width="large")},
        )
        st.caption(f"{formats.NO_VALUE} in std error: set by hand, a default or a published value, not estimated.")


@st.cache_data(show_spinner=False)
def core_table(small_impact_theta: float, fast_scale_epsilon: float, slow_scale_delta: float) -> pd.DataFrame:
    """Riccati coefficients of the multiscale model's dimensionless core (docs/MATH.md section 1.3) at
    (theta lambda, theta beta) beside the first-order small-impact expansion A0 + theta A1 (section 1.5) and its
    error."""
    model = MultiscaleModel(
        small_impact_theta=small_impact_theta, fast_scale_epsilon=fast_scale_epsilon, slow_scale_delta=slow_scale_delta
    )
    expansion = solve_core(model).expansion
    return pd.DataFrame(
        {
            "coefficient": list(expansion.exact),
            "exact (Riccati)": list(expansion.exact.values()),
            "expansion A0 + θA1": list(expansion.expansion.values()),
            "error": list(expansion.error.values()),
        }
    )


def show_core_diagnostics(settings: dict) -> None:
    """The multiscale core at the sidebar's θ, ε, δ: how good the small-impact expansion is."""
    theta = float(settings.get("small_impact_theta", 0.1))
    with st.expander("Multiscale model core: exact Riccati solution against the small-impact expansion"):
        try:
            table = core_table(theta, float(settings.get("fast_scale_epsilon", 0.1)),
                               float(settings.get("slow_scale_delta", 0.5)))  # fmt: skip
        except ValueError as error:
            st.error(formats.message(error))
            return
        st.dataframe(table, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.6f") for c in table.columns[1:]})  # fmt: skip
        st.caption(
            "The multiscale model's core in dimensionless units, at its reference values (capacity K = 1, "
            "persistent impact gain λ and decay β = 0.1, risk aversion γ = 5, discount rate ρ = 0.2, signal "
            f"reversion κ and temporary impact η = 1, variance σ² = 0.04) and the sidebar's θ = {theta:g}. The "
            "expansion's error shrinks with the square of θ: halve θ and it falls about fourfold."
        )
