"""The sidebar order ticket shared by every page: the order, the symbol's market and the strategy settings.

The market is the symbol's latest accepted calibration (or the bundled sample's planted parameters, or DEMO's
made-up ones) unless the user typed an override: each market box is empty (its placeholder shows the calibrated
value) until a value is typed; a typed value is marked as an override with a button to clear it. One
MarketParams is built per run, and the header, the sidebar, the tables, the report and the link use it.

The link is read once per session: every value is checked (``links``); one that cannot be used gives a note at
the top of the page. The URL is then written back from what the ticket holds: the order and settings that are
not the defaults, the overrides, and ``cal=`` the calibration run the plan is priced with.

The cost model (``cost_model``: linear, linear+transient or calibrated) prices every strategy; until the user
chooses one it is the symbol's default (calibrated for a symbol with an accepted calibration, else linear:
optexec.model_card), and the plan says which and why. The participation limit ("Max participation (% of expected
volume)", 25% by default) reaches every strategy as the setting ``max_participation`` (a fraction).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optexec import clock, model_card, models
from optexec.market_source import CALIBRATION, DEMO, PLANTED, SymbolParams
from optexec.models import COST_MODELS, MarketParams, Order
from optexec.planning import DEFAULT_MAX_PARTICIPATION, DEFAULT_RISK_AVERSION_PER_USD
from optexec.ui import formats, links, markets, order_time, settings
from optexec.ui.settings import current_settings, rerun_live_view

TRADING_DAYS_PER_YEAR = 252
MAX_UI_SLICES = 5_000
RISK_AVERSION_GRID = [0.0] + [m * 10.0**e for e in range(-9, -3) for m in (1, 2, 5)] + [1e-3]
IMPACT_MULTIPLIERS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
SIDES = ("buy", "sell")
SIZE_MODES = ("shares", "% of ADV")
DEFAULTS: dict[str, Any] = {"side": "sell", "size_mode": "shares", "pct_adv": 5.0, "horizon": 1.0,
                            "horizon_unit": order_time.DEFAULT_UNIT, "slices": 390, "start_minutes": 0,
                            "start_mode": "time", "risk_aversion": DEFAULT_RISK_AVERSION_PER_USD,
                            "eta_x": 1.0, "gamma_x": 1.0, "drift_bps": 0.0,
                            "max_participation": 100 * DEFAULT_MAX_PARTICIPATION}  # fmt: skip
#: the bounds of what the ticket takes are the model's own (optexec.models: beyond any real order or market, and
#: every product of the cost model stays finite inside them); a link or typed value outside is refused by its rule
MAX_SHARES = models.MAX_ORDER_SHARES
MAX_PCT_ADV = 10_000.0  # 100 × ADV
MAX_PRICE_USD = models.MAX_PRICE_USD
MAX_ADV_SHARES = models.MAX_ADV_SHARES
NUMBERS = {
    "pct_adv": links.Number("Order size (% of ADV)", 0.0, MAX_PCT_ADV, low_open=True),
    "slices": links.Number("Slices", 1, MAX_UI_SLICES, integer=True),
    "drift_bps": links.Number("Expected drift (bps/day)", -10_000.0, 10_000.0),
    "max_participation": links.Number("Max participation (% of expected volume)", 0.0, 100.0, low_open=True),
}
SHARES = links.Number("Shares", 0.0, MAX_SHARES, low_open=True)
NO_SOURCE_SHARES = 100_000.0  # the size box of a symbol without parameters (no ADV to take 5% of)
CHOICES: dict[str, Sequence[Any]] = {"side": SIDES, "size_mode": SIZE_MODES, "risk_aversion": RISK_AVERSION_GRID,
           "eta_x": IMPACT_MULTIPLIERS, "gamma_x": IMPACT_MULTIPLIERS}  # fmt: skip
TIME_LINK_KEYS = ("horizon", "horizon_unit", "horizon_days", "start", "start_minutes")  # order_time reads them
PAGE_KEYS = ("plan_panel", "compare_a", "compare_b", "sweep_param", "sim_paths", "sim_seed", "basket")
SEEDED_KEY, LINK_CAL_KEY, LAST_RUN_KEY, SIDE_KEY = "_optexec_seeded", "_optexec_link_cal", "_optexec_run", "_side"
MODEL_KEY, MODEL_CHOSEN_KEY = "cost_model", "_optexec_cost_model_chosen"  # the choice; True once the user made one


@dataclass(frozen=True)
class MarketField:
    """One market box: label, the calibrated value it overrides, its valid range and how values read."""

    label: str
    spec: links.Number
    text: str  # format of a value, e.g. "${:,.2f}"
    widget_format: str
    step: float

    def calibrated(self, name: str, base: MarketParams) -> float:
        """The value of this field in the symbol's own parameters."""
        return {
            "price": base.price_usd,
            "vol_pct": 100 * base.sigma_daily_fraction * math.sqrt(TRADING_DAYS_PER_YEAR),
            "spread_bps": 1e4 * base.spread_usd / base.price_usd,
            "adv": base.adv_shares,
        }[name]


MARKET_FIELDS = {
    "price": MarketField(
        "Price ($)", links.Number("Price ($)", 0.0, MAX_PRICE_USD, low_open=True), "${:,.2f}", "%.2f", 1.0
    ),
    "vol_pct": MarketField(
        "Volatility (% a year)", links.Number("Volatility (% a year)", 0.0, 1_000.0), "{:.2f}% a year", "%.2f", 1.0
    ),
    "spread_bps": MarketField("Spread (bps)", links.Number("Spread (bps)", 0.0, 10_000.0), "{:.2f} bps", "%.2f", 0.5),
    "adv": MarketField(
        "ADV (shares/day)",
        links.Number("ADV (shares/day)", 0.0, MAX_ADV_SHARES, low_open=True),
        "{:,.0f} sh/day",
        "%.0f",
        1e5,
    ),
}
PER_SYMBOL = ("shares", *MARKET_FIELDS)
OVERRIDE_NAMES = {"price": "price", "vol_pct": "volatility", "spread_bps": "spread", "adv": "ADV"}
SOURCE_WORD = {CALIBRATION: "calibrated", PLANTED: "planted", DEMO: "DEMO"}


@dataclass(frozen=True)
class Override:
    """A market value the user typed (or an impact multiplier or drift set) instead of the symbol's own."""

    key: str
    label: str
    value_text: str
    own_text: str


@dataclass(frozen=True)
class Ticket:
    """What the sidebar holds: the order, the market and the strategy settings, or why they are invalid.

    ``parameter_source`` says where the symbol's own parameters come from; ``overrides`` are what the user typed
    over them; ``linked_run`` and ``latest`` are set when the link was priced with an older calibration run than
    the latest accepted one (``store``: what the store offered this run).
    """

    order: Order | None
    market: MarketParams | None
    settings: dict[str, Any]
    parameter_source: str
    errors: tuple[str, ...]
    symbol: str = markets.DEMO_SYMBOL
    overrides: tuple[Override, ...] = ()
    store: markets.Store | None = None
    linked_run: SymbolParams | None = None
    latest: SymbolParams | None = None
    model_reason: str = ""  # why the market is priced under its cost model (model_card.choose_cost_model)
    start_day: dt.date | None = None  # the trading day the order starts on (None: today's, or the next)
    start_text: str = ""  # the start in words: "starts 10:30 America/New_York", "market closed: starts at ..."
    horizon_text: str = ""  # the horizon as typed: "2 hours (0.308 trading days)"
    horizon_unit: str = order_time.DEFAULT_UNIT  # the unit the horizon was typed in (order_time.UNITS)

    @property
    def horizon_words(self) -> str:
        """The horizon as the ticket holds it ("2 hours (0.308 trading days)"), or in trading days without one."""
        if self.horizon_text or self.order is None:
            return self.horizon_text
        return formats.days(self.order.horizon_days)

    @property
    def timing_words(self) -> str:
        """The order's time as every page's header says it: "over 2 hours (0.308 trading days) in 26 slices ·
        starts 14:00 America/New_York" (the start left out when the ticket says none)."""
        if self.order is None:
            return ""
        start = f" · {self.start_text}" if self.start_text else ""
        return f"over {self.horizon_words} in {self.order.slices} slices{start}"

    @property
    def heading(self) -> str:
        """The order in one markdown line, as the pages head their results: "**SELL 50,000 SYN-MID** over 2 hours
        (0.308 trading days) in 26 slices · starts 14:00 America/New_York"."""
        if self.order is None:
            return ""
        order = self.order
        return f"**{order.side.upper()} {order.shares:,.0f} {formats.plain(order.symbol)}** " + formats.markdown_safe(
            self.timing_words
        )

    @property
    def market_note(self) -> str:
        """Where the parameters come from and what was typed over them, in one paragraph (page captions, report)."""
        if not self.overrides:
            return self.parameter_source
        typed = "; ".join(f"{o.label} {o.value_text} (own value {o.own_text})" for o in self.overrides)
        return f"{self.parameter_source} Overrides typed in the ticket: {typed}."


def symbol_key(name: str, symbol: str) -> str:
    """Widget key (and URL parameter) of a value that belongs to one symbol, e.g. "price.SYN-MID": a new
    symbol starts from its own parameters instead of keeping the previous symbol's values."""
    return f"{name}.{symbol}"


def _is_ticket_key(key: str) -> bool:
    name = str(key).split(".")[0]
    return (
        name in DEFAULTS
        or name in PER_SYMBOL
        or str(key).startswith("set_")
        or str(key).startswith("clear_")
        or key in ("symbol", "cal_choice", "start_time", MODEL_KEY, *PAGE_KEYS)
    )


def _reset() -> None:
    """Forget the order, the settings, the overrides, the link's calibration run and notes: all back to defaults
    (the URL is written from them at the end of the run)."""
    for key in list(st.session_state):
        own = (LINK_CAL_KEY, LAST_RUN_KEY, SIDE_KEY, MODEL_CHOSEN_KEY, links.PAGE_RAW_KEY)
        if (isinstance(key, str) and _is_ticket_key(key)) or key in own:
            del st.session_state[key]
    links.dismiss_notes()


def _clear(keys: list[str]) -> None:
    """Clear overrides: market boxes back to empty (the symbol's own value), multipliers to 1, drift to 0."""
    for key in keys:
        st.session_state[key] = DEFAULTS.get(key)


def _keep_side() -> None:
    """The side is always buy or sell: clicking the selected side again keeps it selected."""
    if st.session_state.get("side") not in SIDES:
        st.session_state["side"] = st.session_state.get(SIDE_KEY, DEFAULTS["side"])


def _parse_run_ts(text: str) -> dt.datetime:
    """An ISO 8601 run time as naive UTC (how the store keeps it); ValueError when it is not one."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _choice_from_link(key: str, raw: str) -> tuple[Any, str | None]:
    options = CHOICES[key]
    if key in ("side", "size_mode"):
        if raw in options:
            return raw, None
        return None, links.link_note(key, raw, " or ".join(options), f"using {DEFAULTS[key]}")
    try:
        value = float(raw)
        match = next(o for o in options if math.isclose(o, value, rel_tol=1e-9, abs_tol=1e-15))
    except (ValueError, StopIteration):
        notches = f"{', '.join(f'{o:g}' for o in options[:4])} … {options[-1]:g}"
        return None, links.link_note(key, raw, f"a notch of the slider: {notches}", f"using {DEFAULTS[key]:g}")
    return match, None


def _number_from_link(key: str, raw: str, spec: links.Number, default: Any) -> tuple[Any, str | None]:
    try:
        value = spec.parse(raw)
    except ValueError:
        value = None
    rule = spec.problem(value)
    if rule:
        return None, links.link_note(key, raw, rule, default)
    return value, None


def _seed_from_link(store: markets.Store) -> None:
    """Once per session: take the link's values into the ticket's state, each checked; note what is not used."""
    raw = links.raw_params()
    symbol = raw.get("symbol")
    if symbol is not None:
        st.session_state["symbol"] = symbol
    symbol = symbol or _default_symbol(store)
    try:
        own = markets.params_for(symbol, store.version)
    except ValueError:
        own = None
    session_minutes = own.market.session_minutes if own else 390
    session = markets.session_for(symbol, store.version)
    horizon, horizon_notes = order_time.seed_horizon(raw, session_minutes)
    start, start_notes = order_time.seed_start(raw, session, session_minutes)
    st.session_state.update({**horizon, **start})
    for note in (*horizon_notes, *start_notes):
        links.add_note(note)
    page_raw = {}
    for key, text in raw.items():
        name, _, key_symbol = key.partition(".")
        value, note = None, None
        if key in ("symbol", *TIME_LINK_KEYS):
            continue
        if key == "cal":
            _seed_calibration_run(symbol, text, own)
            continue
        if key == MODEL_KEY:
            if text in COST_MODELS:
                st.session_state[MODEL_KEY], st.session_state[MODEL_CHOSEN_KEY] = text, True
            else:
                default = _default_model(symbol, own)[0]
                links.add_note(links.link_note(key, text, " or ".join(COST_MODELS),
                                               f"using {default} (the default for {symbol})"))  # fmt: skip
            continue
        if key in NUMBERS:
            value, note = _number_from_link(key, text, NUMBERS[key], f"using {links.number_text(DEFAULTS[key])}")
        elif key in CHOICES:
            value, note = _choice_from_link(key, text)
        elif key in settings.setting_keys():
            value, note = settings.parse_link_setting(key.removeprefix("set_"), text)
        elif key_symbol and name in PER_SYMBOL:
            if key_symbol != symbol:
                note = f"Link value {key}={text} is for {key_symbol}, not the link's symbol {symbol}: ignored."
            else:
                spec = SHARES if name == "shares" else MARKET_FIELDS[name].spec
                instead = "using 5% of ADV" if name == "shares" else f"using {symbol}'s own value"
                value, note = _number_from_link(key, text, spec, instead)
        elif key in PAGE_KEYS:
            page_raw[key] = text
            continue
        else:
            note = f"Link parameter {key}={text} is not one optexec knows: ignored."
        if note:
            links.add_note(note)
        elif value is not None:
            st.session_state[key] = value
    st.session_state[links.PAGE_RAW_KEY] = page_raw
    st.session_state[SEEDED_KEY] = True


def _seed_calibration_run(symbol: str, text: str, own: SymbolParams | None) -> None:
    """The link's ``cal=``: pin the plan to that run when it is older than the latest accepted one."""
    try:
        run_ts = _parse_run_ts(text)
    except ValueError:
        links.add_note(links.link_note("cal", text, "a calibration run time such as 2026-01-02T03:04:05.678901",
                                       "using the latest accepted calibration"))  # fmt: skip
        return
    if own is not None and own.kind == CALIBRATION and own.run_ts == run_ts:
        return  # priced with what is still the latest run
    st.session_state[LINK_CAL_KEY] = (symbol, run_ts)


def ticket_settings() -> dict[str, Any]:
    """The settings the strategies get, as the widgets hold them now: risk aversion, every strategy setting, and
    the ticket's participation limit as the fraction ``max_participation`` (when the box holds a valid value)."""
    held = current_settings()
    limit = st.session_state.get("max_participation", DEFAULTS["max_participation"])
    if NUMBERS["max_participation"].problem(limit) is None:
        held["max_participation"] = limit / 100
    return held


def _default_model(symbol: str, source: SymbolParams | None) -> tuple[str, str]:
    """(the symbol's default cost model, why): calibrated for an accepted calibration, else linear."""
    return model_card.choose_cost_model(None, source is not None and source.kind == CALIBRATION, symbol, "")


def _choose_model() -> None:
    """The cost model selectbox's callback: from now on the model is the user's choice, not the symbol's default."""
    st.session_state[MODEL_CHOSEN_KEY] = True


def _cost_model(sidebar, symbol: str, source: SymbolParams | None) -> tuple[str, str]:
    """The cost model selectbox (the symbol's default until the user chooses) and (the model, why)."""
    default, why = _default_model(symbol, source)
    chosen = bool(st.session_state.get(MODEL_CHOSEN_KEY))
    if not chosen or st.session_state.get(MODEL_KEY) not in COST_MODELS:
        st.session_state[MODEL_KEY], chosen = default, False
    model = sidebar.selectbox(
        "Cost model", COST_MODELS, key=MODEL_KEY, on_change=_choose_model,
        format_func=lambda name: f"{name} · default for {symbol}" if name == default else name,
        help="The one model every strategy is costed and ranked under: " + "; ".join(
            f"{name}: {words}" for name, words in model_card.MODEL_WORDS.items()) + ".",
    )  # fmt: skip
    if not chosen:
        return default, why
    return model_card.choose_cost_model(model, False, symbol, "on the ticket")


def _market_sources(base: MarketParams, market: MarketParams, values: dict[str, Any], symbol: str) -> MarketParams:
    """The market with the source of each value typed (or scaled, or multiplied) on the ticket."""
    typed = {"sigma_usd_per_sqrt_day": "vol_pct", "spread_usd": "spread_bps", "adv_shares": "adv"}
    sources = {}
    for name, key in typed.items():
        if values[key] is not None:
            sources[name] = f"set on the ticket ({MARKET_FIELDS[key].label})"
        elif getattr(market, name) != getattr(base, name):
            sources[name] = f"{symbol}'s own, scaled to the price set on the ticket (same % of the price)"
    for name, key in (("eta_usd_day_per_share2", "eta_x"), ("gamma_usd_per_share2", "gamma_x")):
        if values[key] != 1.0:
            sources[name] = f"{values[key]:g} × {symbol}'s own (set on the ticket)"
    if values["drift_bps"] != 0:
        sources["drift_usd_per_day"] = "set on the ticket (Expected drift, bps/day)"
    return model_card.with_sources(market, sources)


def _default_symbol(store: markets.Store) -> str:
    return store.symbols[0] if store.symbols else markets.DEMO_SYMBOL


def _symbol_options(store: markets.Store) -> list[str]:
    """The store's symbols and DEMO, plus the ticket's symbol when the store cannot say (busy) or lacks it."""
    options = [*store.symbols, markets.DEMO_SYMBOL]
    held = st.session_state.get("symbol")
    if held is not None and held not in options:
        options.insert(0, held)
    return options


def _symbol_label(store: markets.Store):
    def label(symbol: str) -> str:
        if symbol == markets.DEMO_SYMBOL:
            return markets.DEMO_LABEL
        if store.problem is None and symbol not in store.symbols:
            return f"{symbol} · not in this store"
        return symbol

    return label


def _resolve_source(symbol: str, store: markets.Store) -> tuple[SymbolParams | None, SymbolParams | None, str | None]:
    """(parameters used, the link's older calibration run if it has one, error) for the ticket's symbol.

    When the link pins an older run than the latest accepted one, the ``cal_choice`` radio at the top of the
    page says which of the two is used (the link's by default)."""
    if store.problem is None and symbol != markets.DEMO_SYMBOL and symbol not in store.symbols:
        known = ", ".join([*store.symbols, markets.DEMO_SYMBOL])
        return None, None, (f"Symbol {symbol} is not in this store (symbols: {known}): no plan is shown until you "
                            "choose one in the sidebar.")  # fmt: skip
    try:
        latest = markets.params_for(symbol, store.version)
    except ValueError as error:
        if store.problem:
            return None, None, f"Cannot read {symbol}'s parameters now: {store.problem}. Try again in a moment."
        return None, None, str(error)
    pinned = st.session_state.get(LINK_CAL_KEY)
    if not pinned or pinned[0] != symbol:
        return latest, None, None
    run_ts = pinned[1]
    try:
        linked = markets.params_of_run(symbol, run_ts, store.version)
    except ValueError as error:
        return None, None, f"Cannot read {symbol}'s calibration run of {run_ts:%Y-%m-%d %H:%M:%S} UTC: {error}"
    if linked is None or (latest.kind == CALIBRATION and latest.run_ts == run_ts):
        if linked is None:
            current = latest.source.removeprefix("Parameters: ")
            links.add_note(
                f"The link was priced with {symbol}'s calibration run of {run_ts:%Y-%m-%d %H:%M:%S} UTC, which this "
                f"store does not hold (any more): using its current parameters ({current})"
            )
        del st.session_state[LINK_CAL_KEY]
        return latest, None, None
    use_link = st.session_state.get("cal_choice", "link") == "link"
    return (linked if use_link else latest), linked, None


def _note_new_calibration(symbol: str, source: SymbolParams) -> None:
    """Say so when the symbol's parameters changed since this session's last run (accepted elsewhere)."""
    used = (symbol, source.kind, source.run_ts)
    last = st.session_state.get(LAST_RUN_KEY)
    st.session_state[LAST_RUN_KEY] = used
    if last and last[0] == symbol and last[1:] != used[1:] and st.session_state.get(LINK_CAL_KEY) is None:
        st.toast(
            formats.plain(f"{symbol}: new parameters since the last run. {source.source}"), icon=":material/update:"
        )


def _size(sidebar, symbol: str, base: MarketParams | None) -> tuple[str, float | None]:
    """The size box (shares or % of ADV) and what it holds."""
    size_mode = sidebar.radio("Size in", SIZE_MODES, horizontal=True, key="size_mode")
    if size_mode == "shares":
        key = symbol_key("shares", symbol)
        st.session_state.setdefault(key, float(round(0.05 * base.adv_shares, -3)) if base else NO_SOURCE_SHARES)
        return size_mode, sidebar.number_input("Shares", step=10_000.0, format="%.0f", key=key)
    return size_mode, sidebar.number_input("Order size (% of ADV)", step=1.0, key="pct_adv")


def _market_boxes(symbol: str, source: SymbolParams | None) -> tuple[dict[str, Any], list[Override]]:
    """The market expander: one override box per market value, the impact multipliers and the drift."""
    base = source.market if source else None
    word = SOURCE_WORD.get(source.kind, "own") if source else "own"
    keys = {name: symbol_key(name, symbol) for name in MARKET_FIELDS}
    typed = {name: st.session_state.get(key) for name, key in keys.items()}
    changed = [k for k in ("eta_x", "gamma_x", "drift_bps") if st.session_state.get(k, DEFAULTS[k]) != DEFAULTS[k]]
    count = sum(v is not None for v in typed.values()) + len(changed)
    title = f"Market parameters · {count} override{'s' * (count != 1)}" if count else "Market parameters"
    overrides: list[Override] = []
    with st.sidebar.expander(title, expanded=bool(count), icon=":material/edit_note:" if count else None):
        if source:
            st.caption(
                formats.plain(f"Empty boxes use {symbol}'s {word} values (shown greyed); a typed value overrides them.")
            )
        values: dict[str, Any] = {}
        for name, field in MARKET_FIELDS.items():
            own = field.calibrated(name, base) if base else None
            own_text = field.text.format(own) if own is not None else "unknown"
            label = f":orange[{field.label} · override]" if typed[name] is not None else field.label
            values[name] = st.number_input(
                label, value=None, step=field.step, format=field.widget_format, key=keys[name],
                placeholder=f"{own:,.{field.widget_format[2]}f} · {word}" if own is not None else "no value",
            )  # fmt: skip
            if values[name] is not None:
                value_text = field.text.format(values[name]) if field.spec.problem(values[name]) is None else "invalid"
                overrides.append(Override(keys[name], OVERRIDE_NAMES[name], value_text, own_text))
                st.caption(f":orange-badge[override] {word} {own_text}".replace("$", "\\$"))
                st.button(f"Clear: back to {own_text}".replace("$", "\\$"), key=f"clear_{keys[name]}", on_click=_clear,
                          args=([keys[name]],), type="tertiary", icon=":material/close:")  # fmt: skip
        for key, label, own_label in (("eta_x", "Temporary impact η (× symbol's)", "η"),
                                      ("gamma_x", "Permanent impact γ (× symbol's)", "γ")):  # fmt: skip
            st.session_state.setdefault(key, DEFAULTS[key])
            values[key] = st.select_slider(label, IMPACT_MULTIPLIERS, key=key)
            if values[key] != DEFAULTS[key]:
                overrides.append(Override(key, f"{own_label} multiplier", f"× {values[key]:g}", "× 1"))
        st.session_state.setdefault("drift_bps", DEFAULTS["drift_bps"])
        values["drift_bps"] = st.number_input("Expected drift (bps/day)", step=1.0, key="drift_bps")
        if values["drift_bps"] != DEFAULTS["drift_bps"]:
            overrides.append(Override("drift_bps", "drift", f"{values['drift_bps']:g} bps/day", "0 bps/day"))
        if overrides:
            st.button("Clear all overrides", key="clear_all_overrides", icon=":material/backspace:",
                      on_click=_clear, args=([o.key for o in overrides],))  # fmt: skip
    return values, overrides


def _build_market(base: MarketParams, values: dict[str, Any]) -> MarketParams:
    """The symbol's own market with the typed overrides: σ and the spread keep their % and bps when only the
    price is overridden."""
    price = values["price"] if values["price"] is not None else base.price_usd
    scale = price / base.price_usd
    sigma = (values["vol_pct"] / 100 / math.sqrt(TRADING_DAYS_PER_YEAR) * price if values["vol_pct"] is not None
             else base.sigma_usd_per_sqrt_day * scale)  # fmt: skip
    spread = values["spread_bps"] / 1e4 * price if values["spread_bps"] is not None else base.spread_usd * scale
    changes = {
        "price_usd": price,
        "sigma_usd_per_sqrt_day": sigma,
        "spread_usd": spread,
        "adv_shares": values["adv"] if values["adv"] is not None else base.adv_shares,
        "eta_usd_day_per_share2": base.eta_usd_day_per_share2 * values["eta_x"],
        "gamma_usd_per_share2": base.gamma_usd_per_share2 * values["gamma_x"],
        "drift_usd_per_day": values["drift_bps"] / 1e4 * price,
    }
    if all(getattr(base, name) == value for name, value in changes.items()):
        return base
    return dataclasses.replace(base, **changes)


def _check(errors: list[str], spec: links.Number, value: Any) -> bool:
    rule = spec.problem(value)
    if rule:
        errors.append(links.input_error(spec.label, value, rule))
    return rule is None


def _hold_inputs(symbol: str) -> None:
    """Write each of the ticket's inputs the session holds back as its own value, before the boxes are drawn.

    Streamlit tells the browser a box's value only in the run in which the value was set through the session
    state (the link's, a reset's, a default's); later runs send the box with its bare default (the first symbol,
    0 slices, an empty override) and trust the browser to keep what it was told. A browser that had not drawn that
    first run's box yet (its script still loading on a busy machine: a user, or a test, pressing Run simulation as
    soon as the button shows) mounted the box from the later run and showed the default: the sidebar said SYN-LARGE
    while the results were for the link's symbol, and the next run sent SYN-LARGE back, changing the order without
    a word. Held, every run's box carries the value the results are for (tests/e2e/test_ticket_browser.py).
    The keys are the ticket's own value boxes (never a button); the symbol's per-symbol boxes are the held symbol's.
    """
    state = st.session_state
    keys = ("symbol", *DEFAULTS, "start_time", MODEL_KEY, *(symbol_key(name, symbol) for name in PER_SYMBOL),
            *sorted(settings.setting_keys()))  # fmt: skip
    for key in keys:
        if key in state:
            state[key] = state[key]


def order_ticket() -> Ticket:
    """Draw the sidebar ticket and return what it holds; invalid input is reported, never raised or repaired."""
    store = markets.store()
    if not st.session_state.get(SEEDED_KEY):
        _seed_from_link(store)
    sidebar = st.sidebar
    sidebar.header("Order ticket")
    sidebar.button("Reset to defaults", on_click=_reset, icon=":material/restart_alt:", key="reset_ticket",
                   help="Order, model settings, overrides and the link back to their defaults")  # fmt: skip
    st.session_state.setdefault("symbol", _default_symbol(store))
    _hold_inputs(st.session_state["symbol"])
    symbol = sidebar.selectbox("Symbol", _symbol_options(store), key="symbol", format_func=_symbol_label(store))
    source, linked, symbol_error = _resolve_source(symbol, store)
    base = source.market if source else None
    if source:
        _note_new_calibration(symbol, source)
    for key, default in DEFAULTS.items():
        st.session_state.setdefault(key, default)
    side = sidebar.segmented_control("Side", SIDES, required=True, key="side", on_change=_keep_side)
    st.session_state[SIDE_KEY] = side if side in SIDES else st.session_state.get(SIDE_KEY, DEFAULTS["side"])
    side = st.session_state[SIDE_KEY]
    size_mode, size = _size(sidebar, symbol, base)
    size_caption = sidebar.empty()
    session_minutes = base.session_minutes if base else 390
    session = markets.session_for(symbol, store.version)
    where = order_time.session_where(session) if session else f"{symbol} (no exchange clock)"
    horizon, unit = order_time.horizon_inputs(sidebar, session_minutes, where)
    horizon_spec = order_time.horizon_spec(unit, session_minutes)
    horizon_days = (
        None if horizon is None or horizon_spec.problem(horizon) else clock.to_days(horizon, unit, session_minutes)
    )
    slices = sidebar.number_input("Slices", step=1, key="slices",
                                  help=f"1 to {MAX_UI_SLICES:,} here (the command line takes more).")  # fmt: skip
    if horizon_days is not None and NUMBERS["slices"].problem(slices) is None:
        _slice_hint(sidebar, int(slices), horizon_days, session_minutes)
    start = order_time.start_inputs(sidebar, session, session_minutes, symbol)

    values, overrides = _market_boxes(symbol, source)

    sidebar.header("Model")
    sidebar.select_slider("Risk aversion λ (1/$)", RISK_AVERSION_GRID, format_func=lambda v: f"{v:g}",
                          key="risk_aversion", on_change=rerun_live_view,
                          help="λ in E + λ·Var: 0 is risk neutral (TWAP); larger trades faster.")  # fmt: skip
    model, model_reason = _cost_model(sidebar, symbol, source)
    st.session_state.setdefault("max_participation", DEFAULTS["max_participation"])
    max_participation = sidebar.number_input(
        "Max participation (% of expected volume)", step=5.0, format="%g", key="max_participation",
        help="The largest child order as a share of its slice's expected market volume; every strategy that can "
        "keeps within it, and the table says when one does not.",
    )  # fmt: skip
    settings.strategy_settings()
    held_settings = ticket_settings()

    errors = [symbol_error] if symbol_error else []
    valid = all(
        [
            _check(errors, SHARES if size_mode == "shares" else NUMBERS["pct_adv"], size),
            _check(errors, horizon_spec, horizon),
            _check(errors, NUMBERS["slices"], slices),
            _check(errors, NUMBERS["drift_bps"], values["drift_bps"]),
            _check(errors, NUMBERS["max_participation"], max_participation),
            *(_check(errors, MARKET_FIELDS[n].spec, values[n]) for n in MARKET_FIELDS if values[n] is not None),
        ]
    )
    if start.error:
        errors.append(start.error)
        valid = False
    order = market = None
    # valid: every number is given (not None)
    if base is not None and source is not None and valid and size is not None and horizon_days is not None:
        try:
            market = _build_market(base, values)
            market = model_card.stored_sources(market, source.kind, source.run_ts)
            market = model_card.with_cost_model(_market_sources(base, market, values, symbol), model)
            shares = size if size_mode == "shares" else size / 100 * market.adv_shares
            order = Order(symbol, side, shares, horizon_days, int(slices), float(start.minutes_after_open))
        except ValueError as error:
            errors.append(f"{str(error)[:1].upper()}{str(error)[1:]}: the plan is not updated until it is fixed.")
            order = None
    if market is not None and size is not None:
        shares = size if size_mode == "shares" else size / 100 * market.adv_shares
        size_caption.caption(
            f"= {shares / market.adv_shares:.1%} of ADV ({market.adv_shares:,.0f} sh/day)" if size_mode == "shares"
            else f"= {shares:,.0f} shares (ADV {market.adv_shares:,.0f} sh/day)"
        )  # fmt: skip
    _write_url(symbol, source, store, size_mode, session)
    latest = markets.params_for(symbol, store.version) if linked else None
    horizon_text = order_time.horizon_text(horizon, unit, horizon_days) if horizon and horizon_days else ""
    return Ticket(order, market if order else None, held_settings, source.source if source else "",
                  tuple(errors), symbol, tuple(overrides), store, linked, latest, model_reason, start.day,
                  start.text, horizon_text, unit if unit in order_time.UNITS else order_time.DEFAULT_UNIT)  # fmt: skip


def _set_slices(count: int) -> None:
    st.session_state["slices"] = count


def _slice_hint(sidebar, slices: int, horizon_days: float, session_minutes: int) -> None:
    """Say so when the slices are shorter than a minute, with a button for one slice a minute."""
    hint = order_time.slice_hint(slices, horizon_days, session_minutes)
    if hint is None:
        return
    text, suggested = hint
    sidebar.caption(text)
    sidebar.button(f"One slice a minute: {suggested:,} slices", key="one_slice_a_minute", on_click=_set_slices,
                   args=(suggested,), type="tertiary", icon=":material/timer:")  # fmt: skip


def _write_url(symbol: str, source: SymbolParams | None, store: markets.Store, size_mode: str, session) -> None:
    """The URL from what the ticket holds: what differs from the defaults, the overrides, the calibration run."""
    state = st.session_state
    values: dict[str, Any] = {"symbol": None if symbol == _default_symbol(store) else symbol}
    for key, default in DEFAULTS.items():
        if key not in ("risk_aversion", "pct_adv", "start_mode", "start_minutes"):
            values[key] = None if state.get(key) == default else state.get(key)
    values.update(order_time.start_url(session))
    if size_mode == "shares":
        key = symbol_key("shares", symbol)
        default = round(0.05 * source.market.adv_shares, -3) if source else NO_SOURCE_SHARES
        values[key] = None if state.get(key) == default else state.get(key)
    else:
        values["pct_adv"] = None if state.get("pct_adv") == DEFAULTS["pct_adv"] else state.get("pct_adv")
    for name in MARKET_FIELDS:
        values[symbol_key(name, symbol)] = state.get(symbol_key(name, symbol))
    default_model = _default_model(symbol, source)[0]
    held_model = state.get(MODEL_KEY)
    values[MODEL_KEY] = held_model if state.get(MODEL_CHOSEN_KEY) and held_model != default_model else None
    values["cal"] = source.run_ts.isoformat() if source and source.kind == CALIBRATION and source.run_ts else None
    if source is None and store.problem:  # the store cannot be read now: keep the link's calibration run as it is
        values.pop("cal")
    values.update(settings.settings_url())
    links.write(values, keep=(*PAGE_KEYS, *(["cal"] if "cal" not in values else [])))
