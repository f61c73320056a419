"""Result objects of a calibration: one ``Estimate`` per parameter (value, error, data used, fit, warnings)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def _clean(x: Any) -> Any:
    """A JSON-safe number: NaN and infinities become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Estimate:
    """One calibrated parameter.

    Attributes
    ----------
    name : parameter name (units in the name, e.g. ``eta_usd_day_per_share2``).
    value : the estimate (NaN when the data cannot give one and there is no fallback).
    stderr : standard error (NaN when unknown).
    method : how it was obtained (estimator name, or "fallback: ..." when the data could not identify it).
    observations : number of observations used (days, minutes, quotes, ...).
    interval : optional 95% interval (low, high).
    fit_quality : optional goodness of fit (R^2 of a regression, or None).
    warnings : plain-language caveats.
    fallback : True when the value does not come from the data of this symbol.
    """

    name: str
    value: float
    stderr: float = float("nan")
    method: str = ""
    observations: int = 0
    interval: tuple[float, float] | None = None
    fit_quality: float | None = None
    warnings: tuple[str, ...] = ()
    fallback: bool = False

    @property
    def identified(self) -> bool:
        """True when the estimate is positive and at least two standard errors from zero."""
        return bool(math.isfinite(self.value) and math.isfinite(self.stderr) and self.value > 2 * self.stderr)

    def to_json(self) -> dict[str, Any]:
        """The estimate as plain JSON types (DESIGN.md section 7: value, stderr, method, ...)."""
        return {
            "value": _clean(self.value),
            "stderr": _clean(self.stderr),
            "method": self.method,
            "observations": int(self.observations),
            "interval": None if self.interval is None else [_clean(v) for v in self.interval],
            "fit_quality": _clean(self.fit_quality),
            "warnings": list(self.warnings),
            "fallback": bool(self.fallback),
        }


@dataclass(frozen=True)
class CurveFit:
    """A fitted temporary-impact curve h(v) in $/share against the trading rate v in shares/day.

    ``form`` is "linear" (h = eta v), "quadratic" (h = a v + b v|v|) or "power" (h = c sign(v)|v|^p).
    """

    form: str
    params: dict[str, float]
    stderrs: dict[str, float]
    rss: float
    observations: int
    r2: float

    def impact_usd(self, rate_shares_per_day: Any) -> Any:
        """h(v) in $/share at the signed trading rates v (shares/day)."""
        import numpy as np

        v = np.asarray(rate_shares_per_day, dtype=float)
        p = self.params
        if self.form == "linear":
            return p["eta"] * v
        if self.form == "quadratic":
            return p["a"] * v + p["b"] * v * np.abs(v)
        return p["c"] * np.sign(v) * np.abs(v) ** p["p"]


@dataclass(frozen=True)
class Diagnostics:
    """Arrays behind the charts of the Calibrate page (plain lists, JSON-ready)."""

    data: dict[str, Any] = field(default_factory=dict)
