"""The sidebar order ticket shared by every page: order, market parameters and strategy settings.

Every widget is bound to the URL (``bind="query-params"``), so a plan is a link.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optexec.models import MarketParams, Order
from optexec.planning import DEFAULT_RISK_AVERSION_PER_USD
from optexec.strategies import registry
from optexec.ui import markets

TRADING_DAYS_PER_YEAR = 252
MAX_UI_SLICES = 5_000
RISK_AVERSION_GRID = [0.0] + [m * 10.0**e for e in range(-9, -3) for m in (1, 2, 5)] + [1e-3]
IMPACT_MULTIPLIERS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]


@dataclass(frozen=True)
class SettingWidget:
    """How to show one strategy setting: label, range and help (shared by every strategy using it)."""

    label: str
    min_value: float
    max_value: float
    step: float
    help: str
    percent: bool = False

    @property
    def scale(self) -> float:
        """Widget units per strategy unit: 100 for a percent slider, else 1."""
        return 100.0 if self.percent else 1.0


SETTING_WIDGETS = {
    "participation_rate": SettingWidget(
        "POV participation (%)", 1.0, 100.0, 1.0, "Share of expected market volume per slice.", percent=True
    ),
    "randomize_fraction": SettingWidget(
        "TWAP randomisation (%)", 0.0, 90.0, 5.0, "Slice sizes drawn within ± this share of X/N.", percent=True
    ),
    "ladder_touch_fill_probability": SettingWidget(
        "Ladder fill probability at the touch (%)",
        0.0,
        100.0,
        5.0,
        "Chance a slice posted at the touch fills.",
        percent=True,
    ),
    "regime_high_fraction": SettingWidget(
        "Regime: share of remainder per period, high liquidity (%)", 1.0, 100.0, 1.0, "", percent=True
    ),
    "regime_low_fraction": SettingWidget(
        "Regime: share of remainder per period, low liquidity (%)", 1.0, 100.0, 1.0, "", percent=True
    ),
    "small_impact_theta": SettingWidget(
        "Small-impact θ", 0.0, 0.3, 0.01, "Scales persistent impact λ and decay β (multiscale); must stay below 0.2."
    ),
    "fast_scale_epsilon": SettingWidget(
        "Fast-vol scale ε", 0.01, 1.0, 0.01,
        "Time scale of the fast vol factor: how fast a current vol away from its long-run level relaxes. Moves the "
        "multiscale plan only when 'Current vol / long-run vol' is not 1.",
    ),
    "slow_scale_delta": SettingWidget(
        "Slow-vol scale δ", 0.0, 1.0, 0.05,
        "Time scale of the slow vol factor. Moves the multiscale plan only with a return signal correlated with "
        "slow vol (Strategy settings: slow correlation, signal vol).",
    ),
    "half_step_threshold": SettingWidget(
        "Half-step threshold h", 1.0, 3.0, 0.05, "Trading speed halves while current vol > h × long-run vol."
    ),
    "current_vol_ratio": SettingWidget(
        "Current vol / long-run vol", 0.25, 3.0, 0.05, "Where the fast vol factor starts (1 = normal)."
    ),
}
UNIT_SUFFIXES = (  # setting-name suffix -> unit shown in its label, longest first
    ("_usd_per_day_per_sqrt_day", "$/day/√day"), ("_usd_per_share2", "$/share²"), ("_usd_per_share", "$/share"),
    ("_usd_per_day", "$/day"), ("_per_sqrt_day", "1/√day"), ("_per_day", "1/day"), ("_minutes", "minutes"),
    ("_spreads", "spreads"), ("_shares", "shares"), ("_usd", "$"),
)  # fmt: skip
NAMED_SETTINGS = {
    "rl_agent": "RL agent", "seed": "Random seed", "method": "Solver", "cost_model": "Cost model",
    "exponent": "Impact exponent p", "impact_coefficient": "Impact coefficient Y (dimensionless)",
    "max_participation": "Max participation (fraction of slice volume)", "var_limit_usd": "95% VaR limit ($)",
    "linear_usd_per_share": "Linear cost ε ($/share; empty = half spread)",
}  # fmt: skip


def setting_label(name: str) -> str:
    """A setting's label with its unit, from its name: "resilience_per_day" -> "Resilience (1/day)"."""
    if name in NAMED_SETTINGS:
        return NAMED_SETTINGS[name]
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return f"{name.removesuffix(suffix).replace('_', ' ').capitalize()} ({unit})"
    return name.replace("_", " ").capitalize()


MODEL_SLIDERS = ("small_impact_theta", "fast_scale_epsilon", "slow_scale_delta", "half_step_threshold",
                 "current_vol_ratio")  # fmt: skip


@dataclass(frozen=True)
class Ticket:
    """What the sidebar holds: the order, the market and the strategy settings, or why they are invalid."""

    order: Order | None
    market: MarketParams | None
    settings: dict[str, Any]
    base_market: MarketParams
    parameter_source: str
    errors: tuple[str, ...]


@functools.cache
def _setting_defaults() -> dict[str, Any]:
    """Each setting name's default (first strategy that declares it wins)."""
    defaults = {}
    for strategy in registry.STRATEGIES.values():
        for field in dataclasses.fields(strategy.params_type):
            if field.default is not dataclasses.MISSING:
                defaults.setdefault(field.name, field.default)
    return defaults


@functools.cache
def _setting_choices(name: str) -> tuple | None:
    """The allowed values of a setting typed as a Literal (e.g. a solver method), else None."""
    for strategy in registry.STRATEGIES.values():
        hint = typing.get_type_hints(strategy.params_type).get(name)
        if typing.get_origin(hint) is typing.Literal:
            return typing.get_args(hint)
    return None


def _setting_widget(name: str, default: Any) -> None:
    """Draw one setting's widget: from SETTING_WIDGETS, else from its Literal choices or the type of its default.

    A setting whose default is None ("automatic") gets an empty number box: left empty it stays automatic.
    A change reruns only the page's live view when the page has one (see ``rerun_live_view``).
    """
    spec = SETTING_WIDGETS.get(name)
    common = {"key": f"set_{name}", "bind": "query-params", "on_change": rerun_live_view}
    label = setting_label(name)
    choices = _setting_choices(name)
    if spec is not None:
        st.slider(spec.label, spec.min_value, spec.max_value, float(default) * spec.scale, spec.step, help=spec.help,
                  **common)  # fmt: skip
    elif choices:
        st.selectbox(label, choices, index=choices.index(default), **common)
    elif isinstance(default, bool):
        st.checkbox(label, default, **common)
    elif isinstance(default, int):
        st.number_input(label, value=default, step=1, **common)
    elif isinstance(default, float) or default is None:
        st.number_input(label, value=default, format="%g", placeholder="automatic", **common)
    else:
        st.text_input(label, str(default), **common)


def _setting_value(name: str, default: Any) -> Any:
    """A setting's value as its widget holds it now, in the strategy's units (percent sliders divided by 100)."""
    spec = SETTING_WIDGETS.get(name)
    key = f"set_{name}"
    if spec is not None:
        return float(st.session_state.get(key, float(default) * spec.scale)) / spec.scale
    value = st.session_state.get(key, default)
    if isinstance(default, (bool, int)):
        return type(default)(value)
    return value


def current_settings() -> dict[str, Any]:
    """Risk aversion and every strategy setting as the sidebar widgets hold them now.

    Read from the widgets' state, so a live view rerunning alone (a fragment) sees a slider's new value
    without drawing the ticket again.
    """
    settings: dict[str, Any] = {
        "risk_aversion_per_usd": float(st.session_state.get("risk_aversion", DEFAULT_RISK_AVERSION_PER_USD))
    }
    for name, default in _setting_defaults().items():
        if name != "risk_aversion_per_usd":
            settings[name] = _setting_value(name, default)
    return settings


def _strategy_settings() -> None:
    defaults = _setting_defaults()
    drawn = set()
    with st.sidebar:
        for name in MODEL_SLIDERS:
            if name in defaults:
                _setting_widget(name, defaults[name])
                drawn.add(name)
    with st.sidebar.expander("Strategy settings"):
        for strategy in registry.STRATEGIES.values():  # grouped under the first strategy that uses each setting
            own = [f.name for f in dataclasses.fields(strategy.params_type)
                   if f.name in defaults and f.name not in drawn and f.name != "risk_aversion_per_usd"]  # fmt: skip
            if own:
                st.markdown(f"**{strategy.label}**")
            for name in own:
                _setting_widget(name, defaults[name])
                drawn.add(name)


LIVE_VIEW_KEY = "_optexec_live_view"


def rerun_live_view() -> None:
    """Callback of the model sliders: rerun only the current page's live view (a fragment), if it has one.

    The page registers its view under LIVE_VIEW_KEY during the full run (``state.live_view``); without one
    the callback returns and the whole app reruns as usual.
    """
    key = st.session_state.get(LIVE_VIEW_KEY)
    if key:
        st.rerun(key)


def symbol_key(name: str, symbol: str) -> str:
    """Widget key (and URL parameter) of a value whose default depends on the symbol, e.g. "price.SYN-MID": a new
    symbol starts from its own defaults instead of keeping the previous symbol's values."""
    return f"{name}.{symbol}"


def _reset() -> None:
    """Forget every ticket and setting widget value (and so the URL parameters they are bound to)."""
    for key in list(st.session_state):
        if str(key).split(".")[0] in _TICKET_KEYS or str(key).startswith("set_"):
            del st.session_state[key]


_TICKET_KEYS = {"side", "size_mode", "shares", "pct_adv", "horizon_days", "slices", "start_minutes", "risk_aversion",
                "price", "vol_pct", "spread_bps", "adv", "eta_x", "gamma_x", "drift_bps"}  # fmt: skip


def order_ticket() -> Ticket:
    """Draw the sidebar ticket and return what it holds; invalid input is reported, never raised."""
    sidebar = st.sidebar
    sidebar.header("Order ticket")
    sidebar.button("Reset to defaults", on_click=_reset, icon=":material/restart_alt:", key="reset_ticket")
    symbols = markets.symbols()
    symbol = sidebar.selectbox("Symbol", symbols, key="symbol", bind="query-params")
    try:
        source = markets.params_for(symbol)
    except ValueError as error:
        source = markets.params_for(markets.DEMO_SYMBOL)
        symbol_error = f"{error} (the ticket shows the DEMO parameters meanwhile)"
    else:
        symbol_error = None
    base = source.market
    side = sidebar.segmented_control("Side", ["buy", "sell"], default="sell", key="side", bind="query-params")
    size_mode = sidebar.radio("Size in", ["shares", "% of ADV"], horizontal=True, key="size_mode", bind="query-params")
    if size_mode == "shares":
        shares = sidebar.number_input(
            "Shares",
            min_value=0.0,
            value=float(round(0.05 * base.adv_shares, -3)),
            step=10_000.0,
            format="%.0f",
            key=symbol_key("shares", symbol),
            bind="query-params",
        )
    else:
        pct = sidebar.number_input(
            "Order size (% of ADV)", min_value=0.0, value=5.0, step=1.0, key="pct_adv", bind="query-params"
        )
        shares = pct / 100 * base.adv_shares
        sidebar.caption(f"= {shares:,.0f} shares")
    horizon_days = sidebar.number_input(
        "Horizon (trading days)", min_value=0.0, value=1.0, step=0.25, key="horizon_days", bind="query-params"
    )
    slices = sidebar.number_input(
        "Slices",
        min_value=1,
        max_value=MAX_UI_SLICES,
        value=390,
        step=1,
        key="slices",
        bind="query-params",
        help=f"At most {MAX_UI_SLICES:,} here (the command line takes more).",
    )
    start_minutes = sidebar.slider(
        "Start (minutes after the open)", 0, base.session_minutes - 1, 0, 5, key="start_minutes", bind="query-params"
    )

    sidebar.header("Model")
    sidebar.select_slider(
        "Risk aversion λ (1/$)",
        RISK_AVERSION_GRID,
        value=DEFAULT_RISK_AVERSION_PER_USD,
        format_func=lambda v: f"{v:g}",
        key="risk_aversion",
        bind="query-params",
        help="λ in E + λ·Var: 0 is risk neutral (TWAP); larger trades faster.",
        on_change=rerun_live_view,
    )
    _strategy_settings()
    settings = current_settings()
    with sidebar.expander("Market parameters", expanded=False):
        price = st.number_input(
            "Price ($)",
            min_value=0.0,
            value=base.price_usd,
            format="%.2f",
            key=symbol_key("price", symbol),
            bind="query-params",
        )
        base_vol_pct = 100 * base.sigma_daily_fraction * math.sqrt(TRADING_DAYS_PER_YEAR)
        vol_pct = st.number_input(
            "Volatility (% a year)",
            min_value=0.0,
            value=base_vol_pct,
            step=1.0,
            format="%.2f",
            key=symbol_key("vol_pct", symbol),
            bind="query-params",
        )
        spread_bps = st.number_input(
            "Spread (bps)",
            min_value=0.0,
            value=1e4 * base.spread_usd / base.price_usd,
            step=0.5,
            format="%.2f",
            key=symbol_key("spread_bps", symbol),
            bind="query-params",
        )
        adv = st.number_input(
            "ADV (shares/day)",
            min_value=0.0,
            value=base.adv_shares,
            step=100_000.0,
            format="%.0f",
            key=symbol_key("adv", symbol),
            bind="query-params",
        )
        eta_x = st.select_slider(
            "Temporary impact η (× symbol's)", IMPACT_MULTIPLIERS, value=1.0, key="eta_x", bind="query-params"
        )
        gamma_x = st.select_slider(
            "Permanent impact γ (× symbol's)", IMPACT_MULTIPLIERS, value=1.0, key="gamma_x", bind="query-params"
        )
        drift_bps = st.number_input(
            "Expected drift (bps/day)", value=0.0, step=1.0, key="drift_bps", bind="query-params"
        )

    errors = [symbol_error] if symbol_error else []
    order = market = None
    try:
        order = Order(symbol, side or "sell", shares, horizon_days, int(slices), float(start_minutes))
    except ValueError as error:
        errors.append(str(error))
    try:
        sigma = vol_pct / 100 / math.sqrt(TRADING_DAYS_PER_YEAR) * price
        market = MarketParams(
            price_usd=price,
            sigma_usd_per_sqrt_day=sigma,
            spread_usd=spread_bps / 1e4 * price,
            adv_shares=adv,
            eta_usd_day_per_share2=base.eta_usd_day_per_share2 * eta_x,
            gamma_usd_per_share2=base.gamma_usd_per_share2 * gamma_x,
            drift_usd_per_day=drift_bps / 1e4 * price,
            volume_profile=base.volume_profile,
        )
    except ValueError as error:
        errors.append(str(error))
    return Ticket(order, market, settings, base, source.source, tuple(errors))
