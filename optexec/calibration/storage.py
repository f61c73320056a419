"""Calibration runs in the store: saving, accepting and reading back runs, parameters and volume profiles.

Three plain tables (``optexec.store.schema``): ``calibration_runs`` (one row per run: symbol, run time, data window,
when and how it was accepted, why it is not acceptable, estimators, warnings, the data behind it),
``calibration_parameters`` (one row per run and parameter: value, stderr, unit, method, fallback) and
``calibration_profiles`` (one row per run and volume-profile bucket: start minute after the open, length in
minutes, share of the day). A run is (symbol, run_ts); a run is written in one transaction, all or nothing.
The latest accepted run of a symbol (``accepted_at`` set) is the symbol's parameters.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from optexec.calibration import market_model
from optexec.calibration.calibration import PROFILE_METHOD, Calibration
from optexec.calibration.results import Estimate
from optexec.models import MarketParams
from optexec.store.connections import fetch, write_lock

REASON_SEPARATOR = " | "
ACCEPTED_NOTE = "accepted as the symbol's parameters"
RUN_COLUMNS = (
    "symbol, run_ts, window_start, window_end, accepted_at, acceptance, not_acceptable, estimators, warnings, "
    "data_summary, session_minutes, bars_used, days_used, median_coverage, bars_ignored, days_ignored, seconds"
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _day_start(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time())


def _clip(text: str | None, limit: int = 2000) -> str | None:
    return None if text is None else text[:limit]


def refusal(symbol: str, reasons: tuple[str, ...]) -> str:
    return f"the calibration of {symbol} is not acceptable: {'; '.join(reasons)} (accept anyway to override)"


def accepted_note(reasons: tuple[str, ...]) -> str:
    return f"accepted despite: {'; '.join(reasons)}" if reasons else ACCEPTED_NOTE


def _insert(cur, run: dict[str, Any], parameters: list[tuple], profile: list[tuple]) -> None:
    """Insert one run, its parameters and its profile (inside the caller's transaction)."""
    names = RUN_COLUMNS.split(", ")
    cur.execute(
        f"INSERT INTO calibration_runs ({RUN_COLUMNS}) VALUES ({', '.join('?' * len(names))})",
        [run.get(n) for n in names],
    )
    key = [run["symbol"], run["run_ts"]]
    if parameters:
        cur.executemany(
            "INSERT INTO calibration_parameters (symbol, run_ts, name, value, stderr, unit, method, fallback) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[*key, *p] for p in parameters],
        )
    if profile:
        cur.executemany(
            "INSERT INTO calibration_profiles (symbol, run_ts, bucket, start_minute, minutes, share) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [[*key, *b] for b in profile],
        )


def _write(con, run: dict[str, Any], parameters: list[tuple], profile: list[tuple]) -> None:
    """Insert one run, its parameters and its profile in one transaction: all of a run or none of it."""
    _write_all(con, [(run, parameters, profile)])


def _write_all(con, runs: list[tuple[dict[str, Any], list[tuple], list[tuple]]]) -> None:
    """Insert runs (each its row, parameters and profile) in one transaction: all of them or none."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN")
        for run, parameters, profile in runs:
            _insert(cur, run, parameters, profile)
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def _next_run_ts(con, symbol: str, at_least: dt.datetime | None = None) -> dt.datetime:
    """Now (UTC), or just after the symbol's latest run, so that run times stay unique and ordered."""
    run_ts = max(_now(), at_least) if at_least else _now()
    last = fetch(con, "SELECT max(run_ts) FROM calibration_runs WHERE symbol = ?", [symbol])[0][0]
    if last is not None and run_ts <= last:
        run_ts = last + dt.timedelta(microseconds=1)
    return run_ts


def _parameter_rows(result: Calibration) -> list[tuple]:
    rows = []
    for name, e in result.estimates.items():
        if math.isfinite(e.value):
            se = float(e.stderr) if math.isfinite(e.stderr) else None
            rows.append((name, float(e.value), se, market_model.UNITS.get(name), _clip(e.method), bool(e.fallback)))
    return rows


def _run_row(result: Calibration, run_ts: dt.datetime, accept: bool) -> dict[str, Any]:
    cov = result.coverage
    row: dict[str, Any] = {
        "symbol": result.symbol,
        "run_ts": run_ts,
        "window_start": _day_start(result.window_start),
        "window_end": _day_start(result.window_end),
        "accepted_at": run_ts if accept else None,
        "acceptance": accepted_note(result.not_acceptable) if accept else None,
        "not_acceptable": REASON_SEPARATOR.join(result.not_acceptable) or None,
        "estimators": _clip(result.estimators),
        "warnings": _clip(REASON_SEPARATOR.join(result.warnings), 8000) or None,
        "seconds": float(result.seconds),
    }
    if cov is not None:
        row.update(
            data_summary=_clip(cov.summary()),
            session_minutes=float(cov.session.session_minutes),
            bars_used=float(cov.bars_used),
            days_used=float(cov.days_used),
            median_coverage=float(cov.median_coverage),
            bars_ignored=json.dumps({k: float(n) for k, n in cov.bars_ignored.items()}),
            days_ignored=json.dumps({k: float(n) for k, n in cov.days_ignored.items()}),
        )
    return row


def save(con, result: Calibration, accept: bool = False, insist: bool = False) -> Calibration:
    """Write a run (its row, parameters and one-minute volume profile); earlier runs are kept.

    Returns the calibration with its ``run_ts`` (UTC). With ``accept`` the run also becomes the symbol's
    parameters; a run with reasons not to accept it (``Calibration.not_acceptable``) is then refused with a
    ValueError naming them, saving nothing, unless ``insist``, which records "accepted despite: ...".
    """
    if accept and result.not_acceptable and not insist:
        raise ValueError(refusal(result.symbol, result.not_acceptable))
    parameters = _parameter_rows(result)
    profile = [(k, float(k), 1.0, float(x)) for k, x in enumerate(result.volume_profile.share)]
    with write_lock(con):
        run_ts = _next_run_ts(con, result.symbol)
        _write(con, _run_row(result, run_ts, accept), parameters, profile)
    return replace(result, run_ts=run_ts)


def save_many(con, results: list[tuple[Calibration, bool]], insist: bool = False) -> list[Calibration]:
    """Write many runs (``(calibration, accept)`` pairs, as ``save`` does each) in ONE transaction: all or none.

    Returns the calibrations with their ``run_ts``. A run to accept whose data do not support it is refused
    (ValueError naming it, nothing saved) unless ``insist``.
    """
    for result, accept_it in results:
        if accept_it and result.not_acceptable and not insist:
            raise ValueError(refusal(result.symbol, result.not_acceptable))
    out, rows = [], []
    with write_lock(con):
        for result, accept_it in results:
            run_ts = _next_run_ts(con, result.symbol)
            profile = [(k, float(k), 1.0, float(x)) for k, x in enumerate(result.volume_profile.share)]
            rows.append((_run_row(result, run_ts, accept_it), _parameter_rows(result), profile))
            out.append(replace(result, run_ts=run_ts))
        _write_all(con, rows)
    return out


def accept(con, symbol: str, run_ts: dt.datetime, insist: bool = False) -> None:
    """Mark a saved run as the symbol's parameters (the latest accepted run is the one used).

    A run saved with reasons not to accept it is refused (ValueError naming them) unless ``insist``.
    """
    with write_lock(con):
        reasons = load_run(con, symbol, run_ts).not_acceptable  # ValueError when there is no such run
        if reasons and not insist:
            raise ValueError(refusal(symbol, reasons))
        fetch(
            con,
            "UPDATE calibration_runs SET accepted_at = ?, acceptance = ? "
            "WHERE symbol = ? AND run_ts = ? AND accepted_at IS NULL",
            [_now(), accepted_note(reasons), symbol, run_ts],
        )


@dataclass(frozen=True)
class StoredCalibration:
    """A saved run read back: its row, its parameters (as ``Estimate``s) and its volume profile buckets.

    ``parameters`` by name; ``units`` the unit of each; ``profile_start_minutes`` / ``profile_minutes`` /
    ``profile_shares`` the profile at its native buckets; ``data`` the data behind the run (session_minutes,
    bars_used, days_used, median_coverage, bars_ignored, days_ignored; empty for runs that did not record it).
    """

    symbol: str
    run_ts: dt.datetime
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    accepted_at: dt.datetime | None
    acceptance_note: str | None
    not_acceptable_text: str | None
    estimators: str | None
    warnings_text: str | None
    data_summary: str | None
    data: dict[str, Any]
    parameters: dict[str, Estimate]
    units: dict[str, str | None]
    profile_start_minutes: np.ndarray
    profile_minutes: np.ndarray
    profile_shares: np.ndarray

    @property
    def values(self) -> dict[str, float]:
        """Each parameter's value by name."""
        return {k: e.value for k, e in self.parameters.items()}

    @property
    def stderrs(self) -> dict[str, float | None]:
        return {k: (e.stderr if math.isfinite(e.stderr) else None) for k, e in self.parameters.items()}

    @property
    def methods(self) -> dict[str, str]:
        return {k: e.method for k, e in self.parameters.items()}

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def acceptance(self) -> str | None:
        """How the run was accepted ("accepted despite: ..." when insisted), None when it was not."""
        return self.acceptance_note if self.accepted else None

    @property
    def not_acceptable(self) -> tuple[str, ...]:
        """The reasons the run's data did not support accepting it, as saved (empty: none)."""
        return tuple(self.not_acceptable_text.split(REASON_SEPARATOR)) if self.not_acceptable_text else ()

    @property
    def session_minutes(self) -> int:
        """Minutes of the profile's session (the sum of its bucket lengths)."""
        return int(round(float(np.sum(self.profile_minutes))))

    @property
    def volume_profile(self) -> tuple[float, ...]:
        """The volume share per minute of the session (native buckets spread evenly over their minutes)."""
        if self.profile_shares.size == 0:
            return ()
        return tuple(market_model.minute_profile(self.profile_shares, self.profile_minutes))

    @property
    def run_label(self) -> str:
        """The run in words, as every parameter's source names it."""
        window = (
            f" on data from {self.window_start:%Y-%m-%d} to {self.window_end:%Y-%m-%d}"
            if self.window_start and self.window_end
            else ""
        )
        return f"calibration of {self.symbol} run {self.run_ts:%Y-%m-%d %H:%M:%S} UTC{window}"

    def market_params(self) -> MarketParams:
        """The run's market model (``market_model.market_params``); ValueError when a needed parameter is missing."""
        if self.profile_shares.size == 0:
            missing = [
                k for k in ("price_usd", "sigma_usd_per_sqrt_day", "spread", "adv_shares", "eta", "gamma")
                if k not in self.parameters
            ]  # fmt: skip
            raise ValueError(f"the calibration of {self.symbol} lacks {', '.join([*missing, 'volume_profile'])}")
        try:
            return market_model.market_params(
                self.parameters, self.profile_shares, self.profile_minutes, self.run_label, PROFILE_METHOD
            )
        except ValueError as error:
            raise ValueError(f"the calibration of {self.symbol}: {error}") from None


def _estimate(row: tuple) -> Estimate:
    name, value, stderr, _unit, method, fallback = row
    return Estimate(
        name,
        float(value),
        float("nan") if stderr is None else float(stderr),
        method or "",
        fallback=bool(fallback),
    )


def load_run(con, symbol: str, run_ts: dt.datetime) -> StoredCalibration:
    """Read one saved run back (ValueError when the store holds no such run)."""
    runs_found = fetch(con, f"SELECT {RUN_COLUMNS} FROM calibration_runs WHERE symbol = ? AND run_ts = ?",
                        [symbol, run_ts])  # fmt: skip
    if not runs_found:
        raise ValueError(f"no calibration of {symbol} was run at {run_ts}")
    run = dict(zip(RUN_COLUMNS.split(", "), runs_found[0], strict=True))
    params = fetch(
        con,
        "SELECT name, value, stderr, unit, method, fallback FROM calibration_parameters "
        "WHERE symbol = ? AND run_ts = ? ORDER BY name",
        [symbol, run_ts],
    )
    profile = fetch(
        con,
        "SELECT start_minute, coalesce(minutes, 1.0), share FROM calibration_profiles "
        "WHERE symbol = ? AND run_ts = ? ORDER BY bucket",
        [symbol, run_ts],
    )
    arrays = np.array(profile, dtype=float).reshape(-1, 3)
    data = {k: run[k] for k in ("session_minutes", "bars_used", "days_used", "median_coverage") if run[k] is not None}
    for k in ("bars_ignored", "days_ignored"):
        if run[k]:
            data[k] = json.loads(run[k])
    return StoredCalibration(
        symbol=symbol,
        run_ts=run_ts,
        window_start=run["window_start"],
        window_end=run["window_end"],
        accepted_at=run["accepted_at"],
        acceptance_note=run["acceptance"],
        not_acceptable_text=run["not_acceptable"],
        estimators=run["estimators"],
        warnings_text=run["warnings"],
        data_summary=run["data_summary"],
        data=data,
        parameters={r[0]: _estimate(r) for r in params},
        units={r[0]: r[3] for r in params},
        profile_start_minutes=arrays[:, 0],
        profile_minutes=arrays[:, 1],
        profile_shares=arrays[:, 2],
    )


def latest_calibration(con, symbol: str) -> StoredCalibration | None:
    """The symbol's latest accepted run, or None."""
    rows = fetch(con, "SELECT max(run_ts) FROM calibration_runs WHERE symbol = ? AND accepted_at IS NOT NULL", [symbol])
    if not rows or rows[0][0] is None:
        return None
    return load_run(con, symbol, rows[0][0])


def latest_run(con, symbol: str) -> StoredCalibration | None:
    """The symbol's latest saved run, accepted or not, or None."""
    rows = fetch(con, "SELECT max(run_ts) FROM calibration_runs WHERE symbol = ?", [symbol])
    if not rows or rows[0][0] is None:
        return None
    return load_run(con, symbol, rows[0][0])


def why_no_parameters(con, symbol: str, command: str = "python -m optexec") -> str:
    """Why ``symbol`` has no accepted calibration, and what to do, in one sentence (no run saved, or the latest
    run not accepted: its window, the reasons the data gave, and the command that accepts it anyway)."""
    stored = latest_run(con, symbol)
    if stored is None:
        return f"{symbol} has never been calibrated: calibrate it with `{command} calibrate --symbol {symbol}`"
    window = ""
    if stored.window_start and stored.window_end:
        window = f" --start {stored.window_start:%Y-%m-%d} --end {stored.window_end:%Y-%m-%d}"
    reasons = "; ".join(stored.not_acceptable) or "it was saved with --no-accept"
    return (
        f"the latest {stored.run_label} was not accepted: {reasons}. Load more data and calibrate again, or "
        "accept it anyway (recorded with the run, and every plan says so) with "
        f"`{command} calibrate --symbol {symbol}{window} --accept` or on the Calibrate page"
    )


def latest_market_params(con, symbol: str) -> MarketParams | None:
    """The symbol's market model from its latest accepted calibration (``StoredCalibration.market_params``), or None.

    price_usd = last close of the window, sigma in $/share/sqrt(day), the full spread in $, ADV in shares, eta and
    gamma in AC units, the power law, the transient impact when identified, and the volume profile per minute of
    the instrument's session (390 for XNYS, 510 for XLON, 1440 for 24/7), each parameter's source in ``sources``.
    """
    stored = latest_calibration(con, symbol)
    return None if stored is None else stored.market_params()


def runs(con, symbol: str) -> pd.DataFrame:
    """Every saved run of a symbol, newest first: run_ts, window, accepted, number of parameters."""
    sql = """
        SELECT r.run_ts, r.window_start, r.window_end, r.accepted_at IS NOT NULL AS accepted,
               (SELECT count(*) FROM calibration_parameters p WHERE p.symbol = r.symbol AND p.run_ts = r.run_ts)
                   AS parameters
        FROM calibration_runs r WHERE r.symbol = ? ORDER BY r.run_ts DESC
    """
    return fetch(con, sql, [symbol], how="df")


def parameter_history(con, symbol: str, parameter: str) -> pd.DataFrame:
    """Every saved value of one parameter of a symbol, oldest first, with whether its run was accepted."""
    sql = """
        SELECT p.run_ts, p.value, p.stderr AS std_error, p.method, r.accepted_at IS NOT NULL AS accepted
        FROM calibration_parameters p JOIN calibration_runs r USING (symbol, run_ts)
        WHERE p.symbol = ? AND p.name = ? ORDER BY p.run_ts
    """
    return fetch(con, sql, [symbol, parameter], how="df")


def save_recalibrated(con, symbol: str, parameter: str, value: float, method: str) -> dt.datetime:
    """Save a new accepted run equal to the latest accepted one with ``parameter`` replaced (post-trade update)."""
    stored = latest_calibration(con, symbol)
    if stored is None:
        raise ValueError(f"{symbol} has no accepted calibration to update; calibrate it first")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"the updated {parameter} must be a positive number, got {value}")
    with write_lock(con):
        run_ts = _next_run_ts(con, symbol, stored.run_ts + dt.timedelta(microseconds=1))
        note = "accepted: post-trade update"
        if stored.not_acceptable:
            note += f" of a run {accepted_note(stored.not_acceptable)}"
        run: dict[str, Any] = {
            "symbol": symbol,
            "run_ts": run_ts,
            "window_start": stored.window_start,
            "window_end": stored.window_end,
            "accepted_at": run_ts,
            "acceptance": note,
            "not_acceptable": stored.not_acceptable_text,
            "estimators": _clip(f"post-trade update of {parameter} on the run of {stored.run_ts:%Y-%m-%d %H:%M:%S}"),
            "warnings": stored.warnings_text,
            "data_summary": stored.data_summary,
            **{k: stored.data.get(k) for k in ("session_minutes", "bars_used", "days_used", "median_coverage")},
            **{k: json.dumps(stored.data[k]) for k in ("bars_ignored", "days_ignored") if k in stored.data},
        }
        parameters = [
            (
                name,
                float(value) if name == parameter else e.value,
                None if name == parameter or not math.isfinite(e.stderr) else e.stderr,
                stored.units.get(name) or market_model.UNITS.get(name),
                method if name == parameter else e.method,
                False if name == parameter else e.fallback,
            )
            for name, e in {**stored.parameters, parameter: Estimate(parameter, value)}.items()
        ]
        profile = [
            (k, float(s), float(m), float(x))
            for k, (s, m, x) in enumerate(
                zip(stored.profile_start_minutes, stored.profile_minutes, stored.profile_shares, strict=True)
            )
        ]
        _write(con, run, parameters, profile)
    return run_ts
