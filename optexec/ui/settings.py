"""The strategy settings in the sidebar (model sliders and the "Strategy settings" expander) and their link values.

Every widget is generated from the registry's settings (optexec.strategies.registry.SETTINGS): each parameter
field's label, unit, range, step and help (base.param). A setting with a range and a step is a slider (at the top
of the sidebar when it says ``sidebar``), else it is drawn from its Literal choices or the type of its default. Its
value lives in ``st.session_state["set_<name>"]`` (what the widget holds, percent sliders in percent). The shared
settings (base.SHARED_SETTINGS: the risk aversion) have their own controls on the ticket.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from optexec.strategies import registry
from optexec.strategies.base import ParamSpec
from optexec.ui import links

#: a link's number for a setting without a range is taken between ± this (each strategy checks its own domain)
MAX_SETTING_MAGNITUDE = 1e12
RISK_AVERSION = "risk_aversion_per_usd"
DEFAULT_RISK_AVERSION_PER_USD = registry.shared_defaults()[RISK_AVERSION]


def setting_label(name: str) -> str:
    """A setting's label with its unit: "resilience_per_day" -> "Resilience (1/day)"."""
    return _spec(name).display_label


def _spec(name: str) -> ParamSpec:
    if name in registry.SETTINGS:
        return registry.SETTINGS[name].spec
    return registry.shared_settings()[name].spec


#: settings with their own control on the ticket (optexec.ui.ticket), not one per strategy here
TICKET_SETTINGS = {"max_participation"}


def _setting_defaults() -> dict[str, Any]:
    """Each strategy setting's one default (the registry refuses two different defaults for one name); the
    ticket's own controls (``TICKET_SETTINGS``) are left out."""
    return {
        name: setting.default for name, setting in registry.strategy_settings().items() if name not in TICKET_SETTINGS
    }


def _setting_choices(name: str) -> tuple | None:
    """The allowed values of a setting typed as a Literal (e.g. a solver method), else None."""
    return registry.SETTINGS[name].choices


def _slider_range(spec: ParamSpec) -> tuple[float, float]:
    """(min, max) of a slider in widget units (percent for a percent setting)."""
    if spec.min_value is None or spec.max_value is None:
        raise ValueError(f"the setting {spec.display_label} has no range for a slider")
    return round(spec.min_value * spec.scale, 12), round(spec.max_value * spec.scale, 12)


def _widget_default(name: str, default: Any) -> Any:
    """What a setting's widget holds by default (a percent slider in percent)."""
    spec = _spec(name)
    return float(default) * spec.scale if spec.is_slider else default


def _bounds(spec: ParamSpec) -> tuple[float, float]:
    """(low, high) a number box and a link take: the setting's range, ± MAX_SETTING_MAGNITUDE where it has none."""
    low = -MAX_SETTING_MAGNITUDE if spec.min_value is None else float(spec.min_value)
    high = MAX_SETTING_MAGNITUDE if spec.max_value is None else float(spec.max_value)
    return low, high


def _setting_widget(name: str, default: Any) -> None:
    """Draw one setting's widget: a slider from its range, else from its Literal choices or its default's type.

    The value lives in session state (seeded from the link, else the default), so the widget takes no default
    of its own. A setting whose default is None ("automatic") gets an empty number box: left empty it stays
    automatic. A change reruns only the page's live view when the page has one (see ``rerun_live_view``).
    """
    spec = _spec(name)
    key = f"set_{name}"
    st.session_state.setdefault(key, _widget_default(name, default))
    common: dict[str, Any] = {"key": key, "on_change": rerun_live_view, "help": spec.help or None}
    label = spec.display_label
    choices = _setting_choices(name)
    low, high = _bounds(spec)
    if spec.is_slider:
        st.slider(label, *_slider_range(spec), step=spec.step, **common)
    elif choices:
        st.selectbox(label, choices, **common)
    elif isinstance(default, bool):
        st.checkbox(label, **common)
    elif isinstance(default, int):
        st.number_input(label, int(low), int(high), step=1, **common)
    elif isinstance(default, float) or default is None:
        st.number_input(label, low, high, value=None, format="%g", placeholder="automatic", **common)
    else:
        st.text_input(label, **common)


def _setting_value(name: str, default: Any) -> Any:
    """A setting's value as its widget holds it now, in the strategy's units (percent sliders divided by 100)."""
    spec = _spec(name)
    key = f"set_{name}"
    if spec.is_slider:
        return float(st.session_state.get(key, float(default) * spec.scale)) / spec.scale
    value = st.session_state.get(key, default)
    if isinstance(default, (bool, int)) and value is not None:
        return type(default)(value)
    return value


def parse_link_setting(name: str, raw: str) -> tuple[Any, str | None]:
    """A link's ``set_<name>`` text as the widget value, or (None, note) saying why it is not used."""
    default = _setting_defaults()[name]
    spec = _spec(name)
    choices = _setting_choices(name)
    key = f"set_{name}"
    instead = f"using the default {links.url_text(_widget_default(name, default))}"
    low, high = _bounds(spec)
    if spec.is_slider:
        rule = links.Number(spec.display_label, *_slider_range(spec))
    elif choices:
        if raw in [str(c) for c in choices]:
            return next(c for c in choices if str(c) == raw), None
        return None, links.link_note(key, raw, f"one of {', '.join(map(str, choices))}", instead)
    elif isinstance(default, bool):
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true", None
        return None, links.link_note(key, raw, "true or false", instead)
    elif isinstance(default, int):
        rule = links.Number(spec.display_label, low, high, integer=True)
    elif isinstance(default, float) or default is None:
        if raw == "" and default is None:
            return None, None
        rule = links.Number(spec.display_label, low, high)
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
        held = st.session_state.get(f"set_{name}", _widget_default(name, default))
        values[f"set_{name}"] = None if held == _widget_default(name, default) else held
    return values


def setting_keys() -> set[str]:
    """Every strategy setting's widget key (and URL name); the shared risk aversion is ``risk_aversion``."""
    return {f"set_{name}" for name in _setting_defaults()}


def current_settings() -> dict[str, Any]:
    """Risk aversion and every strategy setting as the sidebar widgets hold them now.

    Read from the widgets' state, so a live view rerunning alone (a fragment) sees a slider's new value
    without drawing the ticket again.
    """
    settings: dict[str, Any] = {
        RISK_AVERSION: float(st.session_state.get("risk_aversion", DEFAULT_RISK_AVERSION_PER_USD))
    }
    for name, default in _setting_defaults().items():
        settings[name] = _setting_value(name, default)
    return settings


def strategy_settings() -> None:
    """Draw the model sliders in the sidebar and every other setting in its "Strategy settings" expander,
    grouped under the first strategy that uses it."""
    settings = {name: s for name, s in registry.strategy_settings().items() if name not in TICKET_SETTINGS}
    drawn = set()
    with st.sidebar:
        for name, setting in settings.items():
            if setting.spec.sidebar:
                _setting_widget(name, setting.default)
                drawn.add(name)
    with st.sidebar.expander("Strategy settings"):
        for strategy in registry.STRATEGIES.values():
            own = [name for name, setting in settings.items() if setting.strategies[0] == strategy.name
                   and name not in drawn]  # fmt: skip
            if own:
                st.markdown(f"**{strategy.label}**")
            for name in own:
                _setting_widget(name, settings[name].default)
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
