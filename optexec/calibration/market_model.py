"""What a calibration run gives the market model: MarketParams with every parameter's value, unit, standard error
and source, and the multiscale strategy's volatility-factor settings (issue 13; docs/MATH.md section 11).

Unit mapping of the fitted power law (``impact.fit_propagator``; docs/MATH.md sections 3 and 11). The fit estimates
h(v) = h_ref (v / v_ref)^p in $/share, v the trading rate in shares/day and v_ref = 10% of ADV (shares/day). The
market model (``optexec.market.PowerTemporary``) charges Y sigma (n / v_k)^p per share of a slice's n shares, v_k the
slice's expected market volume and sigma in $/share/sqrt(day). For a constant rate v over a slice of tau days,
n = v tau and, when the slice's volume runs at the day's average rate, v_k = ADV tau, so the two agree when

    Y sigma (v / ADV)^p = h_ref (v / v_ref)^p   <=>   Y = h_ref (ADV / v_ref)^p / sigma = h_ref 10^p / sigma.

The fit measures impact against the average daily rate (the minute's expected volume does not enter it); the model
measures it against the slice's expected volume, so at a quiet time of day the model charges more than the fit's
average, as a participation law should. Y's standard error is the delta method with h_ref, p and sigma independent:
se(Y) / Y = sqrt((se_h / h)^2 + (ln 10 se_p)^2 + (se_sigma / sigma)^2) (conservative: h_ref's error already
includes its spread over p's interval).

Transient impact: the fit's kappa ($/share per share, the displacement per share of signed flow) and beta (per
trading day, a = exp(-beta / session minutes)) are the model's dD = -rho D dt + kappa dX with rho = beta. Both enter
MarketParams only when the data identify them (kappa more than two standard errors above 0 and beta's 95% profile
interval closed inside its grid); otherwise they are left None (the model's defaults) and the source says why.

Volatility factors (``factors.fit_vol_factors``; docs/MATH.md §1.6-1.8) map to the multiscale strategy's settings
as that module says: fast_scale_epsilon = 1 / fast rate with fast_mean_reversion_per_day = theta_f = 1 per day (so the
fast factor's drift rate theta_f / epsilon is the fitted fast rate), slow_scale_delta = the slow rate; mu, the
long-run variance, is sigma^2 of the model itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from optexec import constants
from optexec.calibration.results import Estimate
from optexec.models import MarketParams, ParameterSource
from optexec.store.schema import PARAMETER_UNITS

#: the reference participation of the power fit (v_ref / ADV), see impact.REFERENCE_PARTICIPATION
REFERENCE_PARTICIPATION = 0.10
#: the prefix of the multiscale strategy's settings among MarketParams.sources
MULTISCALE = "multiscale."
#: the market model's transient default (docs/MATH.md section 4): half-life of 30 trading minutes
DEFAULT_HALF_LIFE_MINUTES = constants.DEFAULT_TRANSIENT_HALF_LIFE_MINUTES

#: unit of each stored calibration parameter (by its JSON name): the store's calibration parameter table's
UNITS = PARAMETER_UNITS


def _se(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def default_decay_per_day(session_minutes: int) -> float:
    """ln 2 / 30 trading minutes, per trading day (the market model's transient default, docs/MATH.md section 4)."""
    return math.log(2.0) * session_minutes / DEFAULT_HALF_LIFE_MINUTES


def power_law(h_ref: Estimate, exponent: Estimate, sigma_usd: Estimate) -> tuple[Estimate, Estimate] | None:
    """(Y, p) of the model's power-law temporary impact from the fit's h_ref and p (module docstring), or None when
    the fitted curve is not identified (h_ref not two standard errors above 0)."""
    if not (h_ref.identified and math.isfinite(exponent.value) and sigma_usd.value > 0):
        return None
    p = float(exponent.value)
    y = h_ref.value * REFERENCE_PARTICIPATION**-p / sigma_usd.value
    rel = math.hypot(
        h_ref.stderr / h_ref.value,
        math.log(1 / REFERENCE_PARTICIPATION) * (exponent.stderr if math.isfinite(exponent.stderr) else 0.0),
        (sigma_usd.stderr / sigma_usd.value) if math.isfinite(sigma_usd.stderr) else 0.0,
    )
    method = (
        "weighted propagator fit of signed flow, power temporary curve h_ref (v/v_ref)^p: Y = h_ref 10^p / σ "
        "(participation against the day's average rate; p by profile least squares)"
    )
    return (
        Estimate(
            "power_coefficient", float(y), float(y * rel), method, h_ref.observations, fit_quality=h_ref.fit_quality
        ),
        Estimate(
            "power_exponent",
            p,
            exponent.stderr,
            "weighted propagator fit of signed flow: exponent p by profile least squares",
            exponent.observations,
            fit_quality=exponent.fit_quality,
        ),
    )


def athl_power_law(why: str) -> tuple[Estimate, Estimate]:
    """ATHL 2005's published 0.142 and 0.6 as the fallback (Y, p), saying why the data did not give them."""
    c, c_se = constants.ATHL_TEMPORARY_COEFFICIENT, constants.ATHL_TEMPORARY_COEFFICIENT_SE
    p, p_se = constants.ATHL_TEMPORARY_EXPONENT, constants.ATHL_TEMPORARY_EXPONENT_SE
    note = (why,)
    return (
        Estimate(
            "power_coefficient", c, c_se, "ATHL 2005 published temporary coefficient", fallback=True, warnings=note
        ),
        Estimate("power_exponent", p, p_se, "ATHL 2005 published temporary exponent", fallback=True, warnings=note),
    )


def transient_identified(kappa: Estimate | None, decay: Estimate | None) -> bool:
    """True when the fit identifies transient impact: kappa significant and its decay not a fallback."""
    return bool(kappa is not None and decay is not None and kappa.identified and not decay.fallback)


def minute_profile(shares: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """A profile of consecutive buckets (share of the day's volume, length in whole minutes) as per-minute shares,
    exactly: each bucket's share spread evenly over its minutes (piecewise constant), so every bucket keeps its
    mass. ValueError when a bucket is not a whole number (>= 1) of minutes."""
    shares = np.asarray(shares, dtype=float)
    lengths = np.asarray(minutes, dtype=float)
    if shares.shape != lengths.shape or shares.ndim != 1 or shares.size == 0:
        raise ValueError("the volume profile needs one length per bucket")
    whole = np.round(lengths)
    if np.any(whole < 1) or np.any(np.abs(lengths - whole) > 1e-9):
        raise ValueError(f"the volume profile's buckets must be whole minutes, got lengths {sorted(set(lengths))}")
    whole = whole.astype(int)
    return np.repeat(shares / whole, whole)


def _run_text(run: str, estimate: Estimate) -> str:
    return f"{run}: {estimate.method}" if estimate.method else run


def _source(name: str, unit: str, estimate: Estimate, run: str, value: float | None = None) -> ParameterSource:
    """A parameter's source from its estimate: the run and estimator, or the default and why for a fallback."""
    why = "; ".join(estimate.warnings)
    if estimate.fallback:
        # the run's fallback estimator (a published value, or a cruder estimate from the same data), and why
        method = estimate.method.removeprefix("fallback: ")
        text = f"{run}, fallback: {method}" + (f" ({why})" if why else "")
    else:
        text = _run_text(run, estimate)
    return ParameterSource(name, float(estimate.value if value is None else value), unit, _se(estimate.stderr), text)


def market_params(
    estimates: Mapping[str, Estimate],
    profile_shares: np.ndarray,
    profile_minutes: np.ndarray,
    run: str,
    profile_method: str = "",
) -> MarketParams:
    """The market model of a calibration run: MarketParams with every fitted parameter and its source.

    ``estimates`` are the run's parameters by their JSON name (``run.Calibration.estimates`` or a stored run's);
    ``profile_shares`` / ``profile_minutes`` its volume profile at its native buckets; ``run`` names the run in
    every source ("calibration of SYN-MID run 2026-12-01 16:40:00 UTC on data from ... to ..."). The cost model
    stays "linear" (the ticket chooses it); MarketParams.sources holds price, sigma, spread, ADV, eta, gamma, the
    power law, the transient impact, the drift, the volume profile and the multiscale settings.
    Raises ValueError naming a missing parameter.
    """
    e = dict(estimates)
    missing = [k for k in ("price_usd", "sigma_usd_per_sqrt_day", "spread", "adv_shares", "eta", "gamma") if k not in e]
    if missing:
        raise ValueError(f"the calibration lacks {', '.join(missing)}")
    sources = [
        _source("price_usd", "$/share", e["price_usd"], run),
        _source("sigma_usd_per_sqrt_day", "$/share/√day", e["sigma_usd_per_sqrt_day"], run),
        _source("spread_usd", "$/share (full bid–ask spread)", e["spread"], run),
        _source("adv_shares", "shares/day", e["adv_shares"], run),
        _source("eta_usd_day_per_share2", "$/share per share/day", e["eta"], run),
    ]
    gamma = e["gamma"]
    gamma_source = _source("gamma_usd_per_share2", "$/share per share", gamma, run, max(gamma.value, 0.0))
    if gamma.value < 0:
        gamma_source = replace(
            gamma_source, source=f"{gamma_source.source}; the fit gave {gamma.value:.3g} (negative): 0 is used"
        )
    sources.append(gamma_source)

    if "power_coefficient" in e and "power_exponent" in e:
        power = (e["power_coefficient"], e["power_exponent"])
    elif "power_impact_at_10pct_adv_usd" in e and "power_p" in e:  # a run saved before Y and p were stored
        power = power_law(e["power_impact_at_10pct_adv_usd"], e["power_p"], e["sigma_usd_per_sqrt_day"]) or (
            athl_power_law("the run's power-law fit is not significant")
        )
    else:
        power = athl_power_law("the run has no power-law fit")
    sources += [
        _source("power_coefficient", UNITS["power_coefficient"], power[0], run),
        _source("power_exponent", "dimensionless", power[1], run),
    ]

    kappa, decay = e.get("transient_kappa_usd_per_share2"), e.get("transient_decay_per_day")
    strength = decay_per_day = None
    if kappa is not None and decay is not None and transient_identified(kappa, decay):
        strength, decay_per_day = float(kappa.value), float(decay.value)
        sources += [
            _source("transient_strength_usd_per_share2", "$/share per share", kappa, run),
            _source("transient_decay_per_day", "1/day", decay, run),
        ]
    else:
        fitted = (
            f"the fit gave κ = {kappa.value:.3g} ± {kappa.stderr:.2g} and ρ = {decay.value:.3g}/day"
            if kappa is not None and decay is not None
            else "the run has no impact fit"
        )
        why = f"transient impact not identified by {run} ({fitted})"
        minutes = int(np.sum(np.asarray(profile_minutes, dtype=float)))
        sources += [
            ParameterSource(
                "transient_strength_usd_per_share2",
                0.0,
                "$/share per share",
                None,
                f"default: no transient impact in the calibrated model (κ = ρη prices blocks, and transient impact "
                f"under linear+transient): {why}",
            ),
            ParameterSource(
                "transient_decay_per_day",
                default_decay_per_day(minutes),
                "1/day",
                None,
                f"default: half-life {DEFAULT_HALF_LIFE_MINUTES:g} trading minutes (docs/MATH.md section 4): {why}",
            ),
        ]

    sources += [
        ParameterSource("drift_usd_per_day", 0.0, "$/share/day", None, "default: no drift forecast (not estimated)"),
    ]

    per_minute = minute_profile(profile_shares, profile_minutes)
    lengths = sorted({int(round(m)) for m in np.asarray(profile_minutes, dtype=float)})
    native = (
        f"{np.size(profile_shares)} one-minute buckets (native)"
        if lengths == [1]
        else f"{np.size(profile_shares)} buckets of {'/'.join(map(str, lengths))} minutes (native), resampled to "
        f"{per_minute.size} minutes exactly: each bucket's share spread evenly over its minutes"
    )
    sources.append(
        ParameterSource(
            "volume_profile",
            float(per_minute.size),
            "session minutes",
            None,
            f"{run}: {profile_method or 'volume profile'}; {native}",
        )
    )
    sources += multiscale_sources(e, run)
    return MarketParams(
        price_usd=e["price_usd"].value,
        sigma_usd_per_sqrt_day=e["sigma_usd_per_sqrt_day"].value,
        spread_usd=e["spread"].value,
        adv_shares=e["adv_shares"].value,
        eta_usd_day_per_share2=e["eta"].value,
        gamma_usd_per_share2=max(gamma.value, 0.0),
        volume_profile=tuple(per_minute),
        power_coefficient=power[0].value,
        power_exponent=power[1].value,
        transient_strength_usd_per_share2=strength,
        transient_decay_per_day=decay_per_day,
        sources=tuple(sources),
    )


def multiscale_sources(estimates: Mapping[str, Estimate], run: str) -> list[ParameterSource]:
    """The multiscale strategy's settings fitted by the run (module docstring), as sources named ``multiscale.*``;
    empty when the volatility-factor fit failed or gave no usable value."""
    eps, delta = estimates.get("fast_scale_epsilon"), estimates.get("slow_scale_delta")
    if eps is None or delta is None:
        return []
    if not (math.isfinite(eps.value) and eps.value > 0 and math.isfinite(delta.value) and delta.value >= 0):
        return []
    use = "the multiscale strategy's setting unless set on the ticket"
    notes = "; ".join(dict.fromkeys((*eps.warnings, *delta.warnings)))
    notes = f" ({notes})" if notes else ""
    return [
        ParameterSource(
            f"{MULTISCALE}fast_scale_epsilon",
            float(eps.value),
            "days",
            _se(eps.stderr),
            f"{run}: two-exponential fit of the autocovariance of 10-minute log realised variance, ε = 1 / fast "
            f"rate; {use}{notes}",
        ),
        ParameterSource(
            f"{MULTISCALE}fast_mean_reversion_per_day",
            1.0,
            "1/day",
            None,
            f"{run}: θ_f = 1 per day, the convention of ε = 1 / fast rate (the fast factor reverts at θ_f / ε); {use}",
        ),
        ParameterSource(
            f"{MULTISCALE}slow_scale_delta",
            float(delta.value),
            "1/day",
            _se(delta.stderr),
            f"{run}: two-exponential fit, δ = slow rate; {use}{notes}",
        ),
    ]


def multiscale_settings(market: MarketParams) -> dict[str, float]:
    """The settings the planner passes to the multiscale strategy for this market unless the user set them:
    fast_scale_epsilon, fast_mean_reversion_per_day and slow_scale_delta from the calibration's volatility factors
    (read from ``market.sources``; their sources say "unless set on the ticket"). Empty for a market without them
    (planted, demo or typed parameters): the strategy's own defaults then apply."""
    return {
        s.name[len(MULTISCALE) :]: s.value
        for s in market.sources
        if s.name.startswith(MULTISCALE) and math.isfinite(s.value)
    }
