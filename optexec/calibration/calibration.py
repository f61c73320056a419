"""The result of one calibration run (``Calibration``), and the rule that says whether it may be accepted.

A run becomes the symbol's parameters only when the data support it (``Calibration.not_acceptable``: fewer than
``MIN_DAYS_TO_ACCEPT`` trading days, or the data problems the run found); ``optexec.calibration.run`` makes runs,
``optexec.calibration.storage`` saves and reads them.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optexec import json_output
from optexec.calibration import data as cal_data
from optexec.calibration import factors as cal_factors
from optexec.calibration import impact as cal_impact
from optexec.calibration import liquidity, market_model
from optexec.calibration.results import Estimate
from optexec.models import MarketParams
from optexec.store.schema import PARAMETER_UNITS

MIN_DAYS_TO_ACCEPT = 20  # shorter windows are saved for inspection but not made the symbol's parameters
PROFILE_METHOD = "median share of the day's volume per session minute over full days, normalised"


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
            (
                (
                    f"only {self.days} trading days with bars in the window {self.window_start} to {self.window_end} "
                    f"(at least {MIN_DAYS_TO_ACCEPT} are needed)"
                ),
            )
            if self.days < MIN_DAYS_TO_ACCEPT
            else ()
        )
        return short + self.data_problems

    @property
    def run_label(self) -> str:
        """The run in words, as every parameter's source names it."""
        when = f"run {self.run_ts:%Y-%m-%d %H:%M:%S} UTC" if self.run_ts else "(not saved)"
        return (
            f"calibration of {self.symbol} {when} on data from {self.window_start:%Y-%m-%d} to "
            f"{self.window_end:%Y-%m-%d}"
        )

    @property
    def estimators(self) -> str:
        """Which estimator gave each parameter of the market model, in one line (the run table's)."""
        e = self.estimates
        names = ("sigma_daily", "spread", "adv_shares", "eta", "gamma", "power_exponent", "transient_decay_per_day")
        parts = [f"{n}: {e[n].method}{' (fallback)' if e[n].fallback else ''}" for n in names if n in e]
        parts.append(f"volume_profile: {PROFILE_METHOD}")
        parts.append("volatility factors: two-exponential ACF fit" if self.factors else "volatility factors: none")
        return "; ".join(parts)

    def market_params(self) -> MarketParams:
        """The run's market model: every fitted parameter with its stderr and source (``market_model``)."""
        share = self.volume_profile.share
        return market_model.market_params(self.estimates, share, np.ones(share.size), self.run_label, PROFILE_METHOD)

    def summary(self) -> pd.DataFrame:
        """The chosen parameters, one row each: name, value, stderr, unit, method, whether a fallback."""
        return self.to_frame()[lambda frame: frame["chosen"]].drop(columns="chosen").reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """Every estimate of the run, tidy: the chosen parameters and each volatility estimator."""
        records = []
        for chosen, estimates in ((True, self.estimates), (False, self.volatility)):
            for name, est in estimates.items():
                unit = PARAMETER_UNITS.get(name, "")
                records.append({"name": name, "value": est.value, "stderr": est.stderr, "unit": unit,
                                "method": est.method, "observations": est.observations, "fallback": est.fallback,
                                "chosen": chosen})  # fmt: skip
        return pd.DataFrame.from_records(records)

    def _repr_html_(self) -> str:  # a notebook shows the window and the chosen parameters
        head = f"<p>{html.escape(self.symbol)}: {self.days} trading days, {self.window_start} to {self.window_end}</p>"
        return head + self.summary().to_html(index=False)

    def to_json(self) -> dict[str, Any]:
        """DESIGN.md section 7 ``calibrate --json``: symbol, window and parameters {value, stderr, method, ...}."""
        params = {name: est.to_json() for name, est in self.estimates.items()}
        params["volume_profile"] = {
            "value": [float(x) for x in self.volume_profile.share],
            "method": PROFILE_METHOD,
            "observations": self.volume_profile.days,
            "minutes": int(self.volume_profile.share.size),
        }
        model: dict[str, Any]
        try:
            model = {s.name: s.to_json() for s in self.market_params().sources}
        except ValueError as error:  # a parameter the market model needs is missing: say so, keep the rest
            model = {"error": str(error)}
        return json_output.stamped(
            "calibrate",
            {
                "symbol": self.symbol,
                "window": {
                    "start": self.window_start.isoformat(),
                    "end": self.window_end.isoformat(),
                    "days": self.days,
                },
                "market_model": model,
                "run_ts": self.run_ts.isoformat() + "Z" if self.run_ts else None,
                "data": self.coverage.to_json() if self.coverage else None,
                "not_acceptable": list(self.not_acceptable),
                "parameters": params,
                "volatility_estimators": {k: v.to_json() for k, v in self.volatility.items()},
                "warnings": list(self.warnings),
                "seconds": self.seconds,
            },
        )
