"""The cost model a plan is priced with, parameter by parameter: which model, why, and where each value comes from.

One model prices every strategy of a plan (optexec.market, docs/MATH.md section 11). The user chooses it
(``choose_cost_model``): "calibrated" by default for a symbol with an accepted calibration, "linear" (Almgren–Chriss)
otherwise, "linear+transient" for comparison. ``model_parameters`` lists every parameter the chosen model uses with
its value, unit, standard error and source: from ``MarketParams.sources`` where the market carries one, else the
published value or default it is at and why. ``with_sources`` records where values set by the caller come from
(the command line, the ticket, a rule of thumb), replacing what the market carried for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optexec import constants
from optexec.market import (
    LinearPermanent,
    LinearTemporary,
    PowerTemporary,
    Spread,
    TransientImpact,
    cost_model,
)
from optexec.models import COST_MODELS, MarketParams, ParameterSource

#: each model in a few words (the ticket's choices, the report)
MODEL_WORDS = {
    "linear": "linear Almgren–Chriss (spread, linear temporary and permanent impact)",
    "linear+transient": "linear Almgren–Chriss with decaying (transient) impact",
    "calibrated": "the calibrated model (power-law temporary impact against the market's volume)",
}

#: the parameters of each component of optexec.market, by MarketParams name
_COMPONENT_PARAMETERS = {
    Spread: ("spread_usd",),
    LinearTemporary: ("eta_usd_day_per_share2",),
    PowerTemporary: ("power_coefficient", "power_exponent", "sigma_usd_per_sqrt_day", "adv_shares"),
    LinearPermanent: ("gamma_usd_per_share2",),
    TransientImpact: ("transient_strength_usd_per_share2", "transient_decay_per_day"),
}
#: the price risk (variance and drift) of every model
_RISK_PARAMETERS = ("sigma_usd_per_sqrt_day", "drift_usd_per_day")

#: unit and plain words of each parameter
PARAMETERS = {
    "sigma_usd_per_sqrt_day": ("$/share/√day", "volatility σ"),
    "spread_usd": ("$/share", "full bid–ask spread (half of it is paid per share)"),
    "adv_shares": ("shares/day", "average daily volume"),
    "eta_usd_day_per_share2": ("($/share)/(share/day)", "linear temporary impact η"),
    "gamma_usd_per_share2": ("($/share)/share", "linear permanent impact γ"),
    "drift_usd_per_day": ("$/share/day", "expected price drift α"),
    "power_coefficient": ("dimensionless", "power-law temporary impact coefficient Y (Y·σ·(n/v)^p per share)"),
    "power_exponent": ("dimensionless", "power-law temporary impact exponent p"),
    "transient_strength_usd_per_share2": ("($/share)/share", "order-book impact κ (a block b costs κb²/2)"),
    "transient_decay_per_day": ("1/day", "transient impact decay ρ"),
}
#: other names a calibration may give a parameter's source (``ParameterSource.name``)
_ALIASES = {
    "sigma_usd_per_sqrt_day": ("sigma", "sigma_daily"),
    "spread_usd": ("spread",),
    "adv_shares": ("adv",),
    "eta_usd_day_per_share2": ("eta",),
    "gamma_usd_per_share2": ("gamma",),
    "drift_usd_per_day": ("drift",),
    "transient_strength_usd_per_share2": ("kappa", "transient_strength"),
    "transient_decay_per_day": ("rho", "transient_decay"),
}
#: the market values a caller states the source of (the command line, the ticket, the store)
MARKET_VALUES = ("sigma_usd_per_sqrt_day", "spread_usd", "adv_shares", "eta_usd_day_per_share2",
                 "gamma_usd_per_share2", "drift_usd_per_day")  # fmt: skip


#: where a stored symbol's values come from when its market does not say, by market_source kind
_STORED_WORDS = {
    "planted": "not calibrated: the value the bundled sample's generator planted (synthetic data)",
    "demo": "not calibrated: DEMO's made-up values (the Almgren–Chriss 2000 Table 1 example)",
}


def stored_sources(market: MarketParams, kind: str, run_ts: Any = None) -> MarketParams:
    """The market of a stored symbol with a source for each of its values that carries none yet: the planted
    sample, DEMO's made-up values or the calibration run (``kind`` as optexec.market_source names it); the drift
    keeps its default's words."""
    words = _STORED_WORDS.get(kind) or (
        f"calibration run {run_ts:%Y-%m-%d %H:%M:%S} UTC" if run_ts is not None else "the symbol's stored parameters"
    )
    return with_sources(market, {n: words for n in MARKET_VALUES if n != "drift_usd_per_day"}, replace=False)


def choose_cost_model(requested: str | None, accepted_calibration: bool, symbol: str, where: str) -> tuple[str, str]:
    """(the cost model, why) of a plan: the one requested (``where``, e.g. "on the command line"), else
    "calibrated" for a symbol with an accepted calibration and "linear" otherwise; ValueError for an unknown one."""
    if requested is not None:
        if requested not in COST_MODELS:
            raise ValueError(f"the cost model must be one of {', '.join(COST_MODELS)}, got {requested!r}")
        return requested, f"{requested}: chosen {where}"
    if accepted_calibration:
        return "calibrated", f"calibrated: the default for {symbol}, which has an accepted calibration"
    return "linear", (
        f"linear: the default for {symbol}, which has no accepted calibration (choose calibrated to price it under "
        "the published power law)"
    )


def with_cost_model(market: MarketParams, name: str) -> MarketParams:
    """The market priced under the cost model ``name`` (the same market when it already is)."""
    return market if market.cost_model == name else dataclasses.replace(market, cost_model=name)


def _value(market: MarketParams, name: str) -> float:
    """A parameter's value as the model uses it (the transient defaults resolved)."""
    if name == "transient_strength_usd_per_share2":
        return market.transient_strength
    if name == "transient_decay_per_day":
        return market.transient_decay
    return float(getattr(market, name))


def _names(name: str) -> tuple[str, ...]:
    return (name, *_ALIASES.get(name, ()))


def with_sources(market: MarketParams, sources: Mapping[str, str], replace: bool = True) -> MarketParams:
    """The market with ``sources`` (parameter name -> where its value comes from) recorded at their current values;
    with ``replace=False`` only for parameters the market carries no source for yet."""
    kept = list(market.sources)
    added = []
    for name, text in sources.items():
        known = [s for s in kept if s.name in _names(name)]
        if known and not replace:
            continue
        kept = [s for s in kept if s.name not in _names(name)]
        added.append(ParameterSource(name, _value(market, name), PARAMETERS[name][0], None, text))
    if not added:
        return market
    return dataclasses.replace(market, sources=(*kept, *added))


@dataclass(frozen=True)
class ModelParameter:
    """One parameter of the chosen model: value in ``unit``, standard error (None = not estimated), source."""

    name: str
    words: str
    value: float
    unit: str
    stderr: float | None
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "stderr": self.stderr, "source": self.source}


def _default_source(market: MarketParams, name: str) -> tuple[float | None, str]:
    """(stderr, source) of a parameter the market carries no source for: the published value or default it is at."""
    value = getattr(market, name)
    if name == "power_coefficient" and value == constants.ATHL_TEMPORARY_COEFFICIENT:
        return constants.ATHL_TEMPORARY_COEFFICIENT_SE, "ATHL 2005 published coefficient (Almgren et al. 2005)"
    if name == "power_exponent" and value == constants.ATHL_TEMPORARY_EXPONENT:
        return constants.ATHL_TEMPORARY_EXPONENT_SE, "ATHL 2005 published exponent (Almgren et al. 2005)"
    if name == "transient_decay_per_day" and value is None:
        return None, (
            f"default: prices recover half-way in {constants.DEFAULT_TRANSIENT_HALF_LIFE_MINUTES:g} trading minutes, "
            "ρ = ln 2 / half-life (a project assumption, docs/MATH.md section 4)"
        )
    if name == "transient_strength_usd_per_share2" and value is None:
        return None, "default: κ = ρη, so a slow constant rate v costs ηv as under Almgren–Chriss (docs/MATH.md §4)"
    if name == "drift_usd_per_day" and value == 0:
        return None, "default: no expected drift"
    return None, "not recorded with the market parameters"


def model_parameters(market: MarketParams) -> list[ModelParameter]:
    """Every parameter the market's cost model uses (its components and the price risk), each with its value,
    unit, standard error and source (module docstring)."""
    model = cost_model(market)
    names: list[str] = []
    for component in model.components:
        names += [n for n in _COMPONENT_PARAMETERS[type(component)] if n not in names]
    if market.transient_strength_usd_per_share2 is None and "eta_usd_day_per_share2" not in names:
        names.append("eta_usd_day_per_share2")  # kappa = rho eta: the book's strength comes from eta
    names += [n for n in _RISK_PARAMETERS if n not in names]
    parameters = []
    for name in names:
        unit, words = PARAMETERS[name]
        value = _value(market, name)
        given = next((s for s in market.sources if s.name in _names(name)), None)
        if given is None:
            stderr, source = _default_source(market, name)
        else:  # a source in other units (e.g. sigma as a fraction of price) keeps its relative standard error
            stderr, source = given.stderr, given.source
            if stderr is not None and given.value not in (0, value):
                stderr = abs(stderr * value / given.value)
        parameters.append(ModelParameter(name, words, value, unit, stderr, source))
    return parameters


def components(market: MarketParams) -> list[str]:
    """The components of the market's cost model in plain words, in pricing order."""
    return cost_model(market).describe().split(" + ")


def priced_under(market: MarketParams) -> str:
    """The model a plan's rows are priced under, for the table: "calibrated: spread + power-law temporary + ..."."""
    return f"{market.cost_model}: {cost_model(market).describe()}"


def model_json(market: MarketParams, reason: str = "") -> dict[str, Any]:
    """``plan --json``'s model: {"name", "reason", "components", "parameters": {name: {value, unit, stderr,
    source}}}."""
    return {
        "name": market.cost_model,
        "reason": reason,
        "components": components(market),
        "parameters": {p.name: p.to_json() for p in model_parameters(market)},
    }


def model_sentences(market: MarketParams, reason: str = "") -> list[str]:
    """The model in plain words, one sentence per line: which, why, its components, each parameter and its source."""
    lines = [f"Every strategy is costed and ranked under one model: {MODEL_WORDS[market.cost_model]}."]
    if reason:
        lines.append(f"Why this model: {reason}.")
    lines.append(f"Its components: {', '.join(components(market))}; the price risk from σ and the drift.")
    for p in model_parameters(market):
        error = f" ± {p.stderr:.3g}" if p.stderr is not None else ""
        unit = "" if p.unit == "dimensionless" else f" {p.unit}"
        lines.append(f"{p.words[:1].upper()}{p.words[1:]}: {p.value:.6g}{error}{unit} — {p.source}.")
    return lines
