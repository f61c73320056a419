"""The strategy settings in the sidebar (model sliders and the "Strategy settings" expander) and their link values.

Each setting is drawn from SETTING_WIDGETS, else from its Literal choices or the type of its default; its value
lives in ``st.session_state["set_<name>"]`` (what the widget holds, percent sliders in percent).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optexec.planning import DEFAULT_RISK_AVERSION_PER_USD
from optexec.strategies import registry
from optexec.ui import links


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


#: a link's number for a setting without a slider is taken between ± this (each strategy checks its own domain)
MAX_SETTING_MAGNITUDE = 1e12
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
        "Fast-vol scale ε",
        0.01,
        1.0,
        0.01,
        "Time scale of the fast vol factor: how fast a current vol away from its long-run level relaxes. Moves the "
        "multiscale plan only when 'Current vol / long-run vol' is not 1.",
    ),
    "slow_scale_delta": SettingWidget(
        "Slow-vol scale δ",
        0.0,
        1.0,
        0.05,
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


#: settings with their own control on the ticket (optexec.ui.ticket), not one per strategy here
TICKET_SETTINGS = {"max_participation"}


@functools.cache
def _setting_defaults() -> dict[str, Any]:
    """Each setting name's default (first strategy that declares it wins); the ticket's own controls
    (``TICKET_SETTINGS``) are left out."""
    defaults = {}
    for strategy in registry.STRATEGIES.values():
        for field in dataclasses.fields(strategy.params_type):
            if field.default is not dataclasses.MISSING and field.name not in TICKET_SETTINGS:
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


def _widget_default(name: str, default: Any) -> Any:
    """What a setting's widget holds by default (a percent slider in percent)."""
    spec = SETTING_WIDGETS.get(name)
    return float(default) * spec.scale if spec is not None else default


def _setting_widget(name: str, default: Any) -> None:
    """Draw one setting's widget: from SETTING_WIDGETS, else from its Literal choices or the type of its default.

    The value lives in session state (seeded from the link, else the default), so the widget takes no default
    of its own. A setting whose default is None ("automatic") gets an empty number box: left empty it stays
    automatic. A change reruns only the page's live view when the page has one (see ``rerun_live_view``).
    """
    spec = SETTING_WIDGETS.get(name)
    key = f"set_{name}"
    st.session_state.setdefault(key, _widget_default(name, default))
    common = {"key": key, "on_change": rerun_live_view}
    label = setting_label(name)
    choices = _setting_choices(name)
    if spec is not None:
        st.slider(spec.label, spec.min_value, spec.max_value, step=spec.step, help=spec.help, **common)
    elif choices:
        st.selectbox(label, choices, **common)
    elif isinstance(default, bool):
        st.checkbox(label, **common)
    elif isinstance(default, int):
        bound = int(MAX_SETTING_MAGNITUDE)
        st.number_input(label, -bound, bound, step=1, **common)
    elif isinstance(default, float) or default is None:
        st.number_input(label, -MAX_SETTING_MAGNITUDE, MAX_SETTING_MAGNITUDE, value=None, format="%g",
                        placeholder="automatic", **common)  # fmt: skip
    else:
        st.text_input(label, **common)


def _setting_value(name: str, default: Any) -> Any:
    """A setting's value as its widget holds it now, in the strategy's units (percent sliders divided by 100)."""
    spec = SETTING_WIDGETS.get(name)
    key = f"set_{name}"
    if spec is not None:
        return float(st.session_state.get(key, float(default) * spec.scale)) / spec.scale
    value = st.session_state.get(key, default)
    if isinstance(default, (bool, int)) and value is not None:
        return type(default)(value)
    return value


def parse_link_setting(name: str, raw: str) -> tuple[Any, str | None]:
    """A link's ``set_<name>`` text as the widget value, or (None, note) saying why it is not used."""
    default = _setting_defaults()[name]
    spec = SETTING_WIDGETS.get(name)
    choices = _setting_choices(name)
    key = f"set_{name}"
    instead = f"using the default {links.url_text(_widget_default(name, default))}"
    if spec is not None:
        rule = links.Number(spec.label, spec.min_value, spec.max_value)
    elif choices:
        if raw in [str(c) for c in choices]:
            return next(c for c in choices if str(c) == raw), None
        return None, links.link_note(key, raw, f"one of {', '.join(map(str, choices))}", instead)
    elif isinstance(default, bool):
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true", None
        return None, links.link_note(key, raw, "true or false", instead)
    elif isinstance(default, int):
        rule = links.Number(setting_label(name), -MAX_SETTING_MAGNITUDE, MAX_SETTING_MAGNITUDE, integer=True)
    elif isinstance(default, float) or default is None:
        if raw == "" and default is None:
            return None, None
        rule = links.Number(setting_label(name), -MAX_SETTING_MAGNITUDE, MAX_SETTING_MAGNITUDE)
        instead = "using automatic" if default is None else instead
    else:
        return raw, None
    try:
        value = rule.parse(raw)
    except ValueError:
        value = None
    problem = rule.problem(value)
    if problem:
        return None, links.link_note(key, raw, problem, instead)
    return value, None


def settings_url() -> dict[str, Any]:
    """The URL values of risk aversion and every setting: the widget's value, None where it is the default."""
    values: dict[str, Any] = {}
    risk_aversion = st.session_state.get("risk_aversion", DEFAULT_RISK_AVERSION_PER_USD)
    values["risk_aversion"] = None if risk_aversion == DEFAULT_RISK_AVERSION_PER_USD else risk_aversion
    for name, default in _setting_defaults().items():
        if name != "risk_aversion_per_usd":
            held = st.session_state.get(f"set_{name}", _widget_default(name, default))
            values[f"set_{name}"] = None if held == _widget_default(name, default) else held
    return values


def setting_keys() -> set[str]:
    """Every setting's widget key (and URL name)."""
    return {f"set_{name}" for name in _setting_defaults() if name != "risk_aversion_per_usd"}


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


def strategy_settings() -> None:
    """Draw the model sliders in the sidebar and every other setting in its "Strategy settings" expander."""
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
