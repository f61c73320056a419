"""What every strategy module uses: ``Strategy``, the feedback-policy interface, typed parameters, shared settings.

* ``Strategy``: a registered strategy (see registry.py for how they are used); a module declares its own feedback
  policy in ``Strategy(..., policy=...)``.
* The policy interface the simulator runs (optexec.simulation.engine): ``StepState`` (what a policy sees at a slice),
  ``Decision`` (its child order) and the ``Policy`` protocol.
* Typed parameters: each field of a strategy's parameter dataclass carries its label, unit and range
  (``param``), read back with ``param_spec``; the sidebar, the Sensitivity page and the command line are generated
  from them. A field without them gets a label and unit from its name (``label_from_name``).
* Shared settings (``SHARED_SETTINGS``): the settings one control sets for every strategy that declares it uses
  it (``shared``); each has one default, label, unit and range here. A strategy field whose name is a shared
  setting's but is not declared shared is refused by the registry, so no strategy default is overridden silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from optexec import constants
from optexec.models import MarketParams, Order, Schedule

# --------------------------------------------------------------------------------------------------------------
# Typed parameters
# --------------------------------------------------------------------------------------------------------------

SPEC_KEY = "optexec_param"  # dataclasses field metadata key of a ParamSpec
SETTING_KEY = "optexec_setting"  # metadata key: the setting's public name when it is not the field's
SHARED_KEY = "optexec_shared"  # metadata key: the name of the shared setting the field takes
RESOLVED_KEY = "optexec_resolved"  # metadata key: a field the caller resolves (e.g. a trained agent), not a setting
RESOLVED_PREFIX = "_resolved_"  # the settings key of a resolved field: this prefix + its kind


@dataclass(frozen=True)
class ParamSpec:
    """How a setting is shown and bounded: label, unit, range, slider step, help.

    min_value, max_value : the range of the slider (in the strategy's units, not percent); None = a number box.
    step : slider step in the widget's units (percent for a percent setting).
    percent : shown in percent (the strategy's value is a fraction).
    sidebar : drawn among the model sliders at the top of the sidebar (else in "Strategy settings").
    """

    label: str
    unit: str = ""
    min_value: float | None = None
    max_value: float | None = None
    step: float | None = None
    help: str = ""
    percent: bool = False
    sidebar: bool = False

    @property
    def scale(self) -> float:
        """Widget units per strategy unit: 100 for a percent setting, else 1."""
        return 100.0 if self.percent else 1.0

    @property
    def is_slider(self) -> bool:
        """True when the range and step are given (the setting is drawn as a slider)."""
        return self.min_value is not None and self.max_value is not None and self.step is not None

    @property
    def display_label(self) -> str:
        """The label with its unit: "POV participation (%)"."""
        unit = "%" if self.percent else self.unit
        return f"{self.label} ({unit})" if unit else self.label


def param(default: Any, label: str, unit: str = "", *, min_value: float | None = None,
          max_value: float | None = None, step: float | None = None, help: str = "", percent: bool = False,
          sidebar: bool = False, setting: str | None = None) -> Any:  # fmt: skip
    """A parameter field with its label, unit and range (``dataclasses.field(metadata=...)``).

    ``setting`` : the setting's public name (links, ``--set``, sweeps) when it differs from the field's name.
    """
    spec = ParamSpec(label, unit, min_value, max_value, step, help, percent, sidebar)
    metadata: dict[str, Any] = {SPEC_KEY: spec}
    if setting is not None:
        metadata[SETTING_KEY] = setting
    return dataclasses.field(default=default, metadata=metadata)


UNIT_SUFFIXES = (  # setting-name suffix -> unit shown in its label, longest first
    ("_usd_per_day_per_sqrt_day", "$/day/√day"), ("_usd_per_share2", "$/share²"), ("_usd_per_share", "$/share"),
    ("_usd_per_day", "$/day"), ("_per_sqrt_day", "1/√day"), ("_per_day", "1/day"), ("_minutes", "minutes"),
    ("_spreads", "spreads"), ("_shares", "shares"), ("_usd", "$"),
)  # fmt: skip


def label_from_name(name: str) -> ParamSpec:
    """A spec from the setting's name alone: "resilience_per_day" -> label "Resilience", unit "1/day"."""
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return ParamSpec(name.removesuffix(suffix).replace("_", " ").capitalize(), unit)
    return ParamSpec(name.replace("_", " ").capitalize())


def setting_name(field: dataclasses.Field) -> str:
    """The public name of a parameter field: its shared setting's, its declared ``setting``, or its own (a
    resolved field's is ``RESOLVED_PREFIX`` + its kind: the caller puts it in the settings, no user sets it)."""
    if RESOLVED_KEY in field.metadata:
        return RESOLVED_PREFIX + field.metadata[RESOLVED_KEY]
    return field.metadata.get(SHARED_KEY) or field.metadata.get(SETTING_KEY) or field.name


def user_fields(params_type: type) -> list[dataclasses.Field]:
    """The fields a user sets (every field but the resolved ones)."""
    return [f for f in dataclasses.fields(params_type) if RESOLVED_KEY not in f.metadata]


def user_settings(params: Any) -> dict[str, Any]:
    """A parameter dataclass's user fields and values (what a schedule records; resolved fields left out)."""
    return {f.name: getattr(params, f.name) for f in user_fields(type(params))}


def resolved_kinds(params_type: type) -> tuple[str, ...]:
    """What the caller must resolve for this parameter dataclass (e.g. "rl_agent"), in field order."""
    return tuple(f.metadata[RESOLVED_KEY] for f in dataclasses.fields(params_type) if RESOLVED_KEY in f.metadata)


def param_spec(field: dataclasses.Field) -> ParamSpec:
    """The field's label, unit and range: its shared setting's, its own, or derived from its name."""
    shared_name = field.metadata.get(SHARED_KEY)
    if shared_name is not None:
        return SHARED_SETTINGS[shared_name].spec
    return field.metadata.get(SPEC_KEY) or label_from_name(setting_name(field))


# --------------------------------------------------------------------------------------------------------------
# Shared settings
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedSetting:
    """A setting one control sets for every strategy that uses it: its one default and how it is shown."""

    name: str
    default: Any
    spec: ParamSpec


#: The shared settings, each with its one default (the only place it is set). A strategy that uses one declares it
#: with ``shared``; the registry refuses any strategy field of such a name that is not declared shared. The name
#: ``cost_model`` is reserved: the cost model is the market's (MarketParams.cost_model), never a strategy setting.
SHARED_SETTINGS: dict[str, SharedSetting] = {
    "risk_aversion_per_usd": SharedSetting(
        "risk_aversion_per_usd",
        1e-6,
        ParamSpec(
            "Risk aversion λ",
            "1/$",
            0.0,
            1e-4,
            None,
            "λ in E + λ·Var: the plan's ranking and every strategy that says it uses it.",
        ),  # fmt: skip
    ),
    "max_participation": SharedSetting(
        "max_participation",
        constants.DEFAULT_MAX_PARTICIPATION,
        ParamSpec(
            "Max participation",
            "share of the slice's expected volume",
            0.01,
            1.0,
            1.0,
            "No child order above this share of its slice's expected market volume (every strategy that can; a "
            "strategy that cannot says so in its row).",
            percent=True,
        ),  # fmt: skip
    ),
}
RESERVED_SHARED_NAMES = ("cost_model",)


def shared(name: str) -> Any:
    """A parameter field that takes the shared setting ``name`` (its default is the shared default)."""
    setting = SHARED_SETTINGS[name]
    return dataclasses.field(default=setting.default, metadata={SHARED_KEY: name})


def shared_names(params_type: type) -> tuple[str, ...]:
    """The shared settings a parameter dataclass uses, in field order."""
    return tuple(f.metadata[SHARED_KEY] for f in dataclasses.fields(params_type) if SHARED_KEY in f.metadata)


# --------------------------------------------------------------------------------------------------------------
# Feedback policies
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    """What a policy sees at the start of slice ``step`` (arrays over paths unless said otherwise).

    t_days : slice start time. slice_days : slice length tau. remaining_shares : shares still to trade.
    impact_usd : transient impact l, $/share (>= 0 when against the order). signal_usd_per_day : return signal
    x in price terms (+ = the price rises). fast_variance, slow_variance : y, z, ($/share)^2/day.
    market_volume_shares : this slice's market volume. expected_volume_shares : its expectation (a number).
    spread_usd : this slice's full spread. normal_spread_usd : the MarketParams spread (a number).
    fill_uniform : U(0, 1), how deep the market trades into the book this slice (limit orders).
    realised_volume_shares : market volume of the slices before this one, (paths, step).
    """

    step: int
    slices: int
    t_days: float
    slice_days: float
    remaining_shares: np.ndarray
    impact_usd: np.ndarray
    signal_usd_per_day: np.ndarray
    fast_variance: np.ndarray
    slow_variance: np.ndarray
    market_volume_shares: np.ndarray
    expected_volume_shares: float
    spread_usd: np.ndarray
    normal_spread_usd: float
    fill_uniform: np.ndarray
    realised_volume_shares: np.ndarray

    @property
    def is_last(self) -> bool:
        """True in the last slice of the horizon."""
        return self.step == self.slices - 1


@dataclass(frozen=True)
class Decision:
    """A policy's child order for one slice, per path (shares in the order's direction).

    market_shares : shares that cross the spread (pay the half-spread).
    passive_shares : shares filled passively (no spread; impact as any traded share); 0 if None.
    passive_gain_usd : $ saved on the passive fills relative to the mid (deeper price levels); 0 if None.
    """

    market_shares: np.ndarray
    passive_shares: np.ndarray | None = None
    passive_gain_usd: np.ndarray | None = None


class Policy(Protocol):
    """A feedback policy: called once per slice, in order from slice 0, with arrays over paths."""

    def decide(self, state: StepState) -> Decision:
        """The child order of this slice on every path."""
        ...


class SchedulePolicy:
    """A static schedule run as a policy (the same child orders on every path); for checks and comparisons."""

    def __init__(self, schedule: Schedule) -> None:
        self.trades = schedule.trades_shares

    def decide(self, state: StepState) -> Decision:
        """The schedule's child order of this slice."""
        return Decision(np.full(state.remaining_shares.shape, self.trades[state.step]))


# --------------------------------------------------------------------------------------------------------------
# Strategy
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    """A registered strategy.

    Attributes
    ----------
    name : registry key used on the command line and in URLs (e.g. "twap").
    label : display name (e.g. "TWAP").
    params_type : frozen dataclass of the strategy's parameters (validated on construction; fields made with
        ``param`` or ``shared``).
    build : ``build(order, market, params) -> Schedule``; pure (never opens a store or trains).
    description : one line for tooltips and the README.
    policy : optional ``policy(order, market, params) -> Policy``, a feedback policy the simulator runs;
        None = the simulator follows the static schedule.
    optimises : the cost model the strategy's method optimises, in plain words, or a function of the market
        that says it (e.g. "linear Almgren–Chriss: spread, linear temporary, linear permanent"); None = not
        declared. ``optimises_under(market)`` reads it.
    """

    name: str
    label: str
    params_type: type
    build: Callable[[Order, MarketParams, Any], Schedule]
    description: str
    policy: Callable[[Order, MarketParams, Any], Policy] | None = None
    optimises: str | Callable[[MarketParams], str] | None = None

    def optimises_under(self, market: MarketParams) -> str:
        """The model this strategy optimises for this market, in plain words (the plan's "optimises under")."""
        if self.optimises is None:
            return "not declared"
        return self.optimises if isinstance(self.optimises, str) else self.optimises(market)

    @property
    def shared_settings(self) -> tuple[str, ...]:
        """The shared settings (SHARED_SETTINGS) this strategy uses."""
        return shared_names(self.params_type)

    @property
    def resolves(self) -> tuple[str, ...]:
        """What the caller resolves for this strategy before ``build`` (e.g. "rl_agent"; usually nothing)."""
        return resolved_kinds(self.params_type)

    def make_params(self, settings: Mapping[str, Any] | None = None) -> Any:
        """The strategy's parameters from the matching entries of ``settings`` (by setting name; others keep
        their defaults, which for a shared setting is the shared default)."""
        settings = settings or {}
        values = {}
        for field in dataclasses.fields(self.params_type):
            name = setting_name(field)
            if name in settings:
                values[field.name] = settings[name]
        return self.params_type(**values)

    def schedule(self, order: Order, market: MarketParams, settings: Mapping[str, Any] | None = None) -> Schedule:
        """Build this strategy's schedule for an order under the given settings."""
        return self.build(order, market, self.make_params(settings))
