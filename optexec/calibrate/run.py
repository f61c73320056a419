"""A full calibration of one symbol: every estimator, the chosen parameters, saving, accepting, history.

``calibrate`` runs the estimators of this package over a local-date window and picks, per parameter,
the estimate the strategies use, falling back visibly (``Estimate.fallback`` and a warning) when the data
cannot identify it: eta and gamma come from the propagator fit when significant, else from ATHL 2005's
published law, else from the Almgren–Chriss rules of thumb. ``save`` writes a run to the calibrations table
(one row per parameter, history kept); ``accept`` marks a run as the symbol's parameters, and
``latest_market_params`` reads the latest accepted run back as ``MarketParams``.

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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from optexec.calibrate import data as cal_data
from optexec.calibrate import factors as cal_factors
from optexec.calibrate import impact as cal_impact
from optexec.calibrate import liquidity, volatility
from optexec.calibrate.results import Estimate
from optexec.models import MarketParams
from optexec.store.db import _fetch, write_lock

PROFILE_PREFIX = "volume_profile_"
PROFILE_METHOD = "median share of the day's volume per session minute over full days, normalised"
ACCEPTED = "accepted"
DEFAULT_DECAY_PER_DAY = 0.1  # the project brief's default beta (MATH.md section 0), used when not identified
PRIMARY_VOL = "yang_zhang"
MIN_DAYS_TO_ACCEPT = 20  # shorter windows are saved for inspection but not made the symbol's parameters
#: an overnight move beyond this (|ln(open / previous close)|, about -30% / +42%) is taken for a split or bad prices:
#: the store's prices are not adjusted, and daily volatility estimators would read it as volatility
MAX_OVERNIGHT_LOG_GAP = 0.35
NOT_ACCEPTABLE = "not_acceptable"
DATA_PREFIX = "data_"
_ACCEPTED_NOTE = "accepted as the symbol's parameters"
REASON_SEPARATOR = " | "

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Calibration:
    """The result of one calibration run (nothing saved until ``save``).

    ``estimates`` holds the chosen parameters by their JSON name (sigma_daily, adv_shares, spread, eta,
    gamma, ...) plus the alternatives for comparison; ``volatility`` every volatility estimator;
    ``impact`` and ``factors`` the fits behind the charts (None when the data could not support them);
    ``coverage`` the market used and the bars and days used and ignored; ``data_problems`` what in the data
    makes the run untrustworthy (the coverage checks, overnight price gaps such as an unadjusted split).
    """

    symbol: str
    window_start: dt.date
    window_end: dt.date
    days: int
    estimates: dict[str, Estimate]
    volume_profile: liquidity.VolumeProfile
    volatility: dict[str, Estimate]
    impact: cal_impact.PropagatorFit | None
    factors: cal_factors.VolFactorFit | None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    run_ts: dt.datetime | None = None
    timings: dict[str, float] = field(default_factory=dict)
    coverage: cal_data.SessionCoverage | None = None
    data_problems: tuple[str, ...] = ()

    @property
    def price_usd(self) -> float:
        return self.estimates["price_usd"].value

    @property
    def not_acceptable(self) -> tuple[str, ...]:
        """Why the run should not become the symbol's parameters (empty: it may)."""
        short = (
            (f"only {self.days} trading days in the window (at least {MIN_DAYS_TO_ACCEPT} are needed)",)
            if self.days < MIN_DAYS_TO_ACCEPT
            else ()
        )
        return short + self.data_problems

    def market_params(self) -> MarketParams:
        """The chosen parameters as MarketParams (AC units, MATH.md section 2)."""
        e = self.estimates
        return MarketParams(
            price_usd=e["price_usd"].value,
            sigma_usd_per_sqrt_day=e["sigma_usd_per_sqrt_day"].value,
            spread_usd=e["spread"].value,
            adv_shares=e["adv_shares"].value,
            eta_usd_day_per_share2=e["eta"].value,
            gamma_usd_per_share2=max(e["gamma"].value, 0.0),
            volume_profile=tuple(self.volume_profile.share),
        )

    def to_json(self) -> dict[str, Any]:
        """DESIGN.md section 7 ``calibrate --json``: symbol, window and parameters {value, stderr, method, ...}."""
        params = {name: est.to_json() for name, est in self.estimates.items()}
        params["volume_profile"] = {
            "value": [float(x) for x in self.volume_profile.share],
            "method": PROFILE_METHOD,
            "observations": self.volume_profile.days,
            "minutes": int(self.volume_profile.share.size),
        }
        return {
            "symbol": self.symbol,
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat(), "days": self.days},
            "run_ts": self.run_ts.isoformat() + "Z" if self.run_ts else None,
            "data": self.coverage.to_json() if self.coverage else None,
            "not_acceptable": list(self.not_acceptable),
            "parameters": params,
            "volatility_estimators": {k: v.to_json() for k, v in self.volatility.items()},
            "warnings": list(self.warnings),
            "seconds": self.seconds,
        }


def _instrument(con, symbol: str) -> dict[str, Any]:
    rows = _fetch(con, "SELECT shares_outstanding FROM instruments WHERE symbol = ?", [symbol])
    return {"shares_outstanding": rows[0][0] if rows and rows[0][0] else None}


def _overnight_gaps(daily: dict[str, np.ndarray], days: tuple[dt.date, ...]) -> list[str]:
    """Overnight moves too large to be volatility (``MAX_OVERNIGHT_LOG_GAP``), each named with its day."""
    gaps = np.log(daily["open"][1:] / daily["close"][:-1])
    return [
        f"the price gaps overnight by {math.expm1(g):+.0%} on {day}: a split or bad prices (the store's prices are "
        "not adjusted) and the daily volatility estimates read it as volatility"
        for g, day in zip(gaps, days[1:], strict=True)
        if abs(g) > MAX_OVERNIGHT_LOG_GAP
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
        warnings.append(f"only {m.n_days} trading days in the window: estimates are rough")
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
    gaps = _overnight_gaps(daily, m.days)
    warnings.extend(gaps)
    vols = volatility.vol_estimates(m.open, m.high, m.low, m.close)
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
            decay = replace(
                decay,
                value=DEFAULT_DECAY_PER_DAY,
                fallback=True,
                method=f"fallback: the brief's default beta (fit gave {decay.value:.3g}/day, "
                f"95% interval {decay.interval[0]:.3g}–{decay.interval[1]:.3g})",
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
        est["sqrt_law_y"] = fit.sqrt_y
        est["kyle_lambda_usd_per_share"] = cal_impact.kyle_lambda(m.close, m.flow)
    else:
        est["eta"] = _pick("eta", [Estimate("eta", float("nan")), *fallbacks_eta], "no impact fit")
        est["gamma"] = _pick("gamma", [Estimate("gamma", float("nan")), *fallbacks_gamma], "no impact fit")
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


# ------------------------------------------------------------------------------------------------ storage


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _insert_rows(con, rows: list[tuple]) -> None:
    """Insert calibration rows in one transaction: all of a run or none of it."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN")
        cur.executemany("INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def _refusal(symbol: str, reasons: tuple[str, ...]) -> str:
    return f"the calibration of {symbol} is not acceptable: {'; '.join(reasons)} (accept anyway to override)"


def _accepted_note(reasons: tuple[str, ...]) -> str:
    return f"accepted despite: {'; '.join(reasons)}" if reasons else _ACCEPTED_NOTE


def _data_rows(result: Calibration) -> list[tuple]:
    """The data behind a run, stored with it: market, bars and days used, coverage, reasons not acceptable."""
    cov = result.coverage
    rows = []
    if cov is not None:
        summary = cov.summary()[:500]
        rows += [
            (f"{DATA_PREFIX}session_minutes", float(cov.session.session_minutes), None, cov.session.describe()),
            (f"{DATA_PREFIX}bars_used", float(cov.bars_used), None, summary),
            (f"{DATA_PREFIX}days_used", float(cov.days_used), None, "full trading days in the profile and ADV"),
            (f"{DATA_PREFIX}median_coverage", cov.median_coverage, None, "median share of session minutes with a bar"),
        ]
        rows += [
            (f"{DATA_PREFIX}ignored_bars_{k}", float(n), None, "bars left out") for k, n in cov.bars_ignored.items()
        ]
        rows += [
            (f"{DATA_PREFIX}ignored_days_{k}", float(n), None, "days left out") for k, n in cov.days_ignored.items()
        ]
    if result.not_acceptable:
        reasons = REASON_SEPARATOR.join(result.not_acceptable)[:500]
        rows.append((NOT_ACCEPTABLE, float(len(result.not_acceptable)), None, reasons))
    return rows


def save(con, result: Calibration, accept: bool = False, insist: bool = False) -> Calibration:
    """Write a run to the calibrations table (one row per parameter; earlier runs are kept).

    Returns the calibration with its ``run_ts`` (UTC). With ``accept`` the run also becomes the symbol's
    parameters; a run with reasons not to accept it (``Calibration.not_acceptable``) is then refused with a
    ValueError naming them, saving nothing, unless ``insist``, which records "accepted despite: ...".
    """
    if accept and result.not_acceptable and not insist:
        raise ValueError(_refusal(result.symbol, result.not_acceptable))
    rows = []
    for name, e in result.estimates.items():
        if math.isfinite(e.value):
            se = e.stderr if math.isfinite(e.stderr) else None
            rows.append((name, float(e.value), se, e.method[:500]))
    rows += [
        (f"{PROFILE_PREFIX}{k:03d}", float(x), None, "median volume share")
        for k, x in enumerate(result.volume_profile.share)
    ]
    rows += _data_rows(result)
    with write_lock(con):
        run_ts = _now()
        last = _fetch(con, "SELECT max(run_ts) FROM calibrations WHERE symbol = ?", [result.symbol])[0][0]
        if last is not None and run_ts <= last:
            run_ts = last + dt.timedelta(microseconds=1)
        if accept:
            rows.append((ACCEPTED, 1.0, None, _accepted_note(result.not_acceptable)[:500]))
        _insert_rows(
            con,
            [(result.symbol, run_ts, _day_start(result.window_start), _day_start(result.window_end), *r) for r in rows],
        )
    return replace(result, run_ts=run_ts)


def accept(con, symbol: str, run_ts: dt.datetime, insist: bool = False) -> None:
    """Mark a saved run as the symbol's parameters (the latest accepted run is the one used).

    A run saved with reasons not to accept it is refused (ValueError naming them) unless ``insist``.
    """
    with write_lock(con):
        found = _fetch(con, "SELECT count(*) FROM calibrations WHERE symbol = ? AND run_ts = ?", [symbol, run_ts])
        if not found[0][0]:
            raise ValueError(f"no calibration of {symbol} was run at {run_ts}")
        reasons = load_run(con, symbol, run_ts).not_acceptable
        if reasons and not insist:
            raise ValueError(_refusal(symbol, reasons))
        _fetch(
            con,
            "INSERT INTO calibrations VALUES (?, ?, NULL, NULL, ?, 1.0, NULL, ?) ON CONFLICT DO NOTHING",
            [symbol, run_ts, ACCEPTED, _accepted_note(reasons)[:500]],
        )


@dataclass(frozen=True)
class StoredCalibration:
    """A saved run read back: its parameter values, run time, data window and acceptance.

    ``values`` holds the parameters, the volume profile (``volume_profile_NNN``), the data behind the run
    (``data_*``: session minutes, bars and days used and ignored, coverage) and, when the data did not support
    accepting it, ``not_acceptable``; ``methods`` the text of each, including how the run was accepted.
    """

    symbol: str
    run_ts: dt.datetime
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    values: dict[str, float]
    stderrs: dict[str, float | None]
    methods: dict[str, str]
    accepted: bool

    @property
    def volume_profile(self) -> tuple[float, ...]:
        """The volume share per minute of the session, at the session's own length (390 for XNYS, ...)."""
        keys = sorted(
            (k for k in self.values if k.startswith(PROFILE_PREFIX)), key=lambda k: int(k[len(PROFILE_PREFIX) :])
        )
        return tuple(self.values[k] for k in keys)

    @property
    def not_acceptable(self) -> tuple[str, ...]:
        """The reasons the run's data did not support accepting it, as saved (empty: none)."""
        return tuple(self.methods[NOT_ACCEPTABLE].split(REASON_SEPARATOR)) if NOT_ACCEPTABLE in self.values else ()

    @property
    def acceptance(self) -> str | None:
        """How the run was accepted ("accepted despite: ..." when insisted), None when it was not."""
        return self.methods.get(ACCEPTED) if self.accepted else None

    @property
    def data_summary(self) -> str | None:
        """The market, bars and days behind the run (None for runs saved before this was recorded)."""
        return self.methods.get(f"{DATA_PREFIX}bars_used")

    def market_params(self) -> MarketParams:
        """The run's parameters as MarketParams (ValueError when a needed one is missing or invalid)."""
        v = self.values
        missing = [
            k for k in ("price_usd", "sigma_usd_per_sqrt_day", "spread", "adv_shares", "eta", "gamma") if k not in v
        ]
        profile = self.volume_profile
        if not profile:
            missing.append("volume_profile")
        if missing:
            raise ValueError(f"the calibration of {self.symbol} lacks {', '.join(missing)}")
        return MarketParams(
            price_usd=v["price_usd"],
            sigma_usd_per_sqrt_day=v["sigma_usd_per_sqrt_day"],
            spread_usd=v["spread"],
            adv_shares=v["adv_shares"],
            eta_usd_day_per_share2=v["eta"],
            gamma_usd_per_share2=max(v["gamma"], 0.0),
            volume_profile=profile,
        )


def runs(con, symbol: str) -> pd.DataFrame:
    """Every saved run of a symbol, newest first: run_ts, window, accepted, parameters."""
    sql = """
        SELECT run_ts, min(window_start) AS window_start, max(window_end) AS window_end,
               bool_or(parameter = 'accepted') AS accepted, count(*) AS parameters
        FROM calibrations WHERE symbol = ? GROUP BY run_ts ORDER BY run_ts DESC
    """
    return _fetch(con, sql, [symbol], how="df")


def load_run(con, symbol: str, run_ts: dt.datetime) -> StoredCalibration:
    """Read one saved run back."""
    rows = _fetch(
        con,
        "SELECT parameter, value, std_error, method, window_start, window_end FROM calibrations "
        "WHERE symbol = ? AND run_ts = ?",
        [symbol, run_ts],
    )
    if not rows:
        raise ValueError(f"no calibration of {symbol} was run at {run_ts}")
    starts = [r[4] for r in rows if r[4] is not None]
    ends = [r[5] for r in rows if r[5] is not None]
    return StoredCalibration(
        symbol=symbol,
        run_ts=run_ts,
        window_start=min(starts) if starts else None,
        window_end=max(ends) if ends else None,
        values={r[0]: r[1] for r in rows if r[0] != ACCEPTED},
        stderrs={r[0]: r[2] for r in rows},
        methods={r[0]: r[3] for r in rows},
        accepted=any(r[0] == ACCEPTED for r in rows),
    )


def latest_calibration(con, symbol: str) -> StoredCalibration | None:
    """The symbol's latest accepted run, or None."""
    rows = _fetch(con, "SELECT max(run_ts) FROM calibrations WHERE symbol = ? AND parameter = ?", [symbol, ACCEPTED])
    if not rows or rows[0][0] is None:
        return None
    return load_run(con, symbol, rows[0][0])


def latest_market_params(con, symbol: str) -> MarketParams | None:
    """The symbol's parameters from its latest accepted calibration (MarketParams units), or None.

    price_usd = last close of the window, sigma in $/share/sqrt(day), the full spread in $, ADV in shares,
    eta and gamma in AC units and the volume profile per minute of the instrument's session (its length is the
    session's: 390 for XNYS, 510 for XLON, 1440 for 24/7). ``latest_calibration`` also gives the run time, the
    data window and how the run was accepted.
    """
    stored = latest_calibration(con, symbol)
    return None if stored is None else stored.market_params()


def parameter_history(con, symbol: str, parameter: str) -> pd.DataFrame:
    """Every saved value of one parameter of a symbol, oldest first, with whether its run was accepted."""
    sql = """
        SELECT c.run_ts, c.value, c.std_error, c.method,
               EXISTS (SELECT 1 FROM calibrations a WHERE a.symbol = c.symbol AND a.run_ts = c.run_ts
                       AND a.parameter = 'accepted') AS accepted
        FROM calibrations c WHERE c.symbol = ? AND c.parameter = ? ORDER BY c.run_ts
    """
    return _fetch(con, sql, [symbol, parameter], how="df")


def save_recalibrated(con, symbol: str, parameter: str, value: float, method: str) -> dt.datetime:
    """Save a new accepted run equal to the latest accepted one with ``parameter`` replaced (post-trade update)."""
    stored = latest_calibration(con, symbol)
    if stored is None:
        raise ValueError(f"{symbol} has no accepted calibration to update; calibrate it first")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"the updated {parameter} must be a positive number, got {value}")
    values = {**stored.values, parameter: float(value)}
    with write_lock(con):
        run_ts = max(_now(), stored.run_ts + dt.timedelta(microseconds=1))
        last = _fetch(con, "SELECT max(run_ts) FROM calibrations WHERE symbol = ?", [symbol])[0][0]
        if last is not None and run_ts <= last:
            run_ts = last + dt.timedelta(microseconds=1)
        rows = [
            (
                symbol,
                run_ts,
                stored.window_start,
                stored.window_end,
                name,
                v,
                None if name == parameter else stored.stderrs.get(name),
                method if name == parameter else stored.methods.get(name),
            )
            for name, v in values.items()
        ]
        note = "accepted: post-trade update"
        if stored.not_acceptable:
            note += f" of a run {_accepted_note(stored.not_acceptable)}"
        rows.append((symbol, run_ts, None, None, ACCEPTED, 1.0, None, note[:500]))
        _insert_rows(con, rows)
    return run_ts


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
