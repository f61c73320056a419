"""A full calibration of one symbol: every estimator, the chosen parameters, saving, accepting, history.

``calibrate`` runs the estimators of this package over a local-date window and picks, per parameter,
the estimate the strategies use, falling back visibly (``Estimate.fallback`` and a warning) when the data
cannot identify it: eta and gamma come from the propagator fit when significant, else from ATHL 2005's
published law, else from the Almgren–Chriss rules of thumb. ``Calibration.market_params`` is the run's market model
(``market_model``: every fitted parameter with its stderr and source). Storage lives in ``storage`` and is
re-exported here: ``save`` writes a run (run, parameter and profile tables, history kept); ``accept`` marks a run as
the symbol's parameters, and ``latest_market_params`` reads the latest accepted run back as ``MarketParams``.

Acceptance follows one rule: ``Calibration.not_acceptable`` lists the reasons the data do not support the run
(fewer than ``MIN_DAYS_TO_ACCEPT`` trading days; the session-coverage checks of ``data.SessionCoverage``, which
catch a wrong time zone or session). ``save(accept=True)`` and ``accept`` refuse such a run unless
``insist=True``; an insisted acceptance is recorded with the run ("accepted despite: ...") and read back by
``StoredCalibration.acceptance``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from optexec.calibration import data as cal_data
from optexec.calibration import factors as cal_factors
from optexec.calibration import impact as cal_impact
from optexec.calibration import liquidity, market_model, volatility
from optexec.calibration.calibration import MIN_DAYS_TO_ACCEPT, Calibration
from optexec.calibration.results import Estimate
from optexec.calibration.storage import (
    StoredCalibration,
    accept,
    latest_calibration,
    latest_market_params,
    latest_run,
    load_run,
    parameter_history,
    runs,
    save,
    save_recalibrated,
    why_no_parameters,
)
from optexec.store.connections import fetch

__all__ = [
    "Calibration",
    "StoredCalibration",
    "accept",
    "as_table",
    "calibrate",
    "latest_calibration",
    "latest_market_params",
    "latest_run",
    "load_run",
    "parameter_history",
    "runs",
    "save",
    "save_recalibrated",
    "why_no_parameters",
]

PRIMARY_VOL = "yang_zhang"
#: an overnight move beyond this (|ln(open / previous close)|, about -30% / +42%) is taken for a split or bad prices:
#: the store's prices are not adjusted, and daily volatility estimators would read it as volatility
MAX_OVERNIGHT_LOG_GAP = 0.35

Progress = Callable[[float, str], None]


def _instrument(con, symbol: str) -> dict[str, Any]:
    rows = fetch(con, "SELECT shares_outstanding FROM instruments WHERE symbol = ?", [symbol])
    return {"shares_outstanding": rows[0][0] if rows and rows[0][0] else None}


def _overnight_gaps(daily: dict[str, np.ndarray], days: tuple[dt.date, ...], follows: np.ndarray | None) -> list[str]:
    """Overnight moves too large to be volatility (``MAX_OVERNIGHT_LOG_GAP``), each named with its day; only
    between consecutive trading days (``follows``; None: every day follows the one before): across a gap in the
    data the move is not overnight."""
    gaps = np.log(daily["open"][1:] / daily["close"][:-1])
    if follows is None:
        follows = np.ones(len(days), bool)
    return [
        f"the price gaps overnight by {math.expm1(g):+.0%} on {day}: a split or bad prices (the store's prices are "
        "not adjusted) and the daily volatility estimates read it as volatility"
        for g, day, overnight in zip(gaps, days[1:], follows[1:], strict=True)
        if overnight and abs(g) > MAX_OVERNIGHT_LOG_GAP
    ]


def _pick(name: str, candidates: list[Estimate], why: str) -> Estimate:
    """The first identified candidate, renamed; later ones are fallbacks and say so."""
    first = candidates[0]
    for k, est in enumerate(candidates):
        if k == 0 and est.identified:
            return replace(est, name=name)
        if k > 0 and math.isfinite(est.value) and est.value > 0:
            note = f"{why}; using {est.method}"
            return replace(est, name=name, fallback=True, warnings=(*est.warnings, note))
    return replace(first, name=name, warnings=(*first.warnings, why))


def _fitted_eta(fit: cal_impact.PropagatorFit, adv_shares: float) -> Estimate:
    """eta from the fit: the linear slope, or the power curve's secant slope at 10% of ADV when it fits best."""
    if fit.best_form != "power":
        lin = fit.curves["linear"]
        return Estimate(
            "eta",
            lin.params["eta"],
            lin.stderrs["eta"],
            "weighted propagator fit of signed flow: linear temporary impact h(v) = eta v",
            fit.observations,
            fit_quality=lin.r2,
        )
    pw = fit.curves["power"]
    v_ref, p = pw.params["v_ref"], pw.params["p"]
    return Estimate(
        "eta",
        pw.params["h_ref"] / v_ref,
        pw.stderrs["h_ref"] / v_ref,
        f"power temporary impact c v^{p:.3g} fits best: its secant slope at 10% of ADV per day",
        fit.observations,
        fit_quality=pw.r2,
    )


def calibrate(
    con,
    symbol: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> Calibration:
    """Estimate every parameter the strategies need for ``symbol`` from the store (window in local dates).

    Raises ValueError with a plain message when the symbol's market is unknown or it has no bars in its
    regular session in the window. The bars and days read and left out are in ``Calibration.coverage``.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    report = progress or (lambda fraction, text: None)

    def lap(name: str, t: float) -> float:
        now = time.perf_counter()
        timings[name] = now - t
        return now

    report(0.0, "reading bars and trades")
    m = cal_data.load_minutes(con, symbol, start, end)
    quotes = cal_data.daily_spreads(con, symbol, m.days)
    inst = _instrument(con, symbol)
    t = lap("read", t0)
    warnings: list[str] = list(m.coverage.problems)
    if m.bars_source != "bars":
        warnings.append(f"no bars in the window: using {m.bars_source}")
    if m.n_days < MIN_DAYS_TO_ACCEPT:
        warnings.append(f"only {m.n_days} trading days with bars in the window: estimates are rough")
    full = m.full_day
    if not full.any():
        full = np.ones_like(full)
        warnings.append(
            "every day in the window is a half day: ADV and the volume profile come from half days (a shorter "
            "day's volume, too low for a full session)"
        )

    report(0.2, "volatility")
    daily = volatility.daily_bars(m.open, m.high, m.low, m.close)
    price = float(daily["close"][-1])
    gaps = _overnight_gaps(daily, m.days, m.follows_previous)
    warnings.extend(gaps)
    vols = volatility.vol_estimates(m.open, m.high, m.low, m.close, m.follows_previous)
    primary = PRIMARY_VOL if math.isfinite(vols[PRIMARY_VOL].value) else "realised_15min"
    sig = vols[primary]
    if not math.isfinite(sig.value):
        raise ValueError(f"{symbol}: the bars in the window are too few or too flat to estimate a volatility")
    sigma = replace(sig, name="sigma_daily", method=f"{primary.replace('_', '-')} (fraction of price per day)")
    est: dict[str, Estimate] = {
        "price_usd": Estimate("price_usd", price, method="last close in the window", observations=1),
        "sigma_daily": sigma,
        "sigma_usd_per_sqrt_day": replace(
            sigma,
            name="sigma_usd_per_sqrt_day",
            value=sigma.value * price,
            stderr=sigma.stderr * price,
            method=f"{sigma.method} x last close",
        ),
        "sigma_annual": replace(
            sigma,
            name="sigma_annual",
            value=volatility.annualised(sigma.value),
            stderr=volatility.annualised(sigma.stderr),
            method=f"{sigma.method} x sqrt(252)",
        ),
    }
    t = lap("volatility", t)

    report(0.35, "liquidity")
    adv, adv_median = liquidity.adv_estimates(m.volume[full])
    profile = liquidity.volume_profile(m.volume[full])
    spread = liquidity.spread_estimate(quotes, m.close, m.high, m.low, price)
    est.update({"adv_shares": adv, "adv_median_shares": adv_median, "spread": replace(spread, name="spread")})
    t = lap("liquidity", t)

    report(0.5, "impact")
    rot_eta, rot_gamma = cal_impact.rules_of_thumb(spread.value, adv.value) if spread.value > 0 else (None, None)
    athl_eta, athl_gamma = cal_impact.athl_impact(sigma.value, adv.value, price, inst["shares_outstanding"])
    fit = None
    if m.signed_fraction > 0:
        try:
            fit = cal_impact.fit_propagator(m.close, m.flow, m.high, m.low, price, sigma.value, adv.value)
        except ValueError as exc:
            warnings.append(f"impact fit skipped: {exc}")
    else:
        warnings.append("no signed trades in the window: impact comes from published laws, not from this symbol")
    fallbacks_eta = [x for x in (athl_eta, rot_eta) if x is not None]
    fallbacks_gamma = [x for x in (athl_gamma, rot_gamma) if x is not None]
    if fit is not None:
        fit_eta = _fitted_eta(fit, adv.value)
        est["eta"] = _pick("eta", [fit_eta, *fallbacks_eta], "the temporary impact is not significant in the data")
        est["gamma"] = _pick(
            "gamma", [fit.gamma, *fallbacks_gamma], "the permanent impact is not significant in the data"
        )
        est["transient_kappa_usd_per_share2"] = fit.kappa
        decay = fit.decay
        if decay.warnings:
            interval = decay.interval or (math.nan, math.nan)
            decay = replace(
                decay,
                value=market_model.default_decay_per_day(m.session_minutes),
                fallback=True,
                method=f"fallback: the market model's default half-life of "
                f"{market_model.DEFAULT_HALF_LIFE_MINUTES:g} trading minutes (fit gave {decay.value:.3g}/day, "
                f"95% interval {interval[0]:.3g}–{interval[1]:.3g})",
            )
        est["transient_decay_per_day"] = decay
        quad, power = fit.curves["quadratic"], fit.curves["power"]
        for key, curve, pname in (
            ("quad_a", quad, "a"),
            ("quad_b", quad, "b"),
            ("power_c", power, "c"),
            ("power_p", power, "p"),
            ("power_impact_at_10pct_adv_usd", power, "h_ref"),
        ):
            est[key] = Estimate(
                key,
                curve.params[pname],
                curve.stderrs[pname],
                f"{curve.form} temporary curve",
                curve.observations,
                fit_quality=curve.r2,
            )
        law = market_model.power_law(
            est["power_impact_at_10pct_adv_usd"], est["power_p"], est["sigma_usd_per_sqrt_day"]
        ) or market_model.athl_power_law("the power-law temporary impact is not significant in the data")
        est["power_coefficient"], est["power_exponent"] = law
        est["sqrt_law_y"] = fit.sqrt_y
        est["kyle_lambda_usd_per_share"] = cal_impact.kyle_lambda(m.close, m.flow)
    else:
        est["eta"] = _pick("eta", [Estimate("eta", float("nan")), *fallbacks_eta], "no impact fit")
        est["gamma"] = _pick("gamma", [Estimate("gamma", float("nan")), *fallbacks_gamma], "no impact fit")
        est["power_coefficient"], est["power_exponent"] = market_model.athl_power_law("no impact fit")
    for name, value in (
        ("eta_athl", athl_eta),
        ("gamma_athl", athl_gamma),
        ("eta_rule_of_thumb", rot_eta),
        ("gamma_rule_of_thumb", rot_gamma),
    ):
        if value is not None:
            est[name] = replace(value, name=name)
    t = lap("impact", t)

    report(0.8, "volatility factors")
    vf = None
    try:
        vf = cal_factors.fit_vol_factors(m.high, m.low, sigma.value**2)
        for e in (vf.long_run_variance, vf.fast_rate, vf.slow_rate, vf.epsilon, vf.delta):
            est[e.name] = e
    except ValueError as exc:
        warnings.append(f"volatility factors skipped: {exc}")
    lap("factors", t)
    report(1.0, "done")
    for e in est.values():
        warnings.extend(f"{e.name}: {w}" for w in e.warnings)
    return Calibration(
        symbol=symbol,
        window_start=m.days[0],
        window_end=m.days[-1],
        days=m.n_days,
        estimates=est,
        volume_profile=profile,
        volatility=vols,
        impact=fit,
        factors=vf,
        warnings=tuple(dict.fromkeys(warnings)),
        seconds=time.perf_counter() - t0,
        timings=timings,
        coverage=m.coverage,
        data_problems=(*m.coverage.problems, *gaps),
    )


def as_table(result: Calibration) -> pd.DataFrame:
    """The estimates as a table for pages and the CLI (name, value, stderr, 95% interval, method, ...)."""
    rows = []
    for name, e in result.estimates.items():
        lo, hi = e.interval if e.interval else (e.value - 1.96 * e.stderr, e.value + 1.96 * e.stderr)
        rows.append(
            {
                "parameter": name,
                "value": e.value,
                "stderr": e.stderr,
                "low_95": lo,
                "high_95": hi,
                "observations": e.observations,
                "fit_r2": e.fit_quality,
                "method": e.method,
                "fallback": e.fallback,
                "warnings": "; ".join(e.warnings),
            }
        )
    return pd.DataFrame(rows).replace({np.inf: np.nan, -np.inf: np.nan})
