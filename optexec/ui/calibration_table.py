"""The calibration's estimates as a trader reads them: each parameter in words with its unit, numbers in a sensible
format (small impact coefficients in scientific notation), a dash where there is nothing to show, and what the dash
means (``DASH_NOTE``)."""

from __future__ import annotations

import math

import pandas as pd

from optexec.ui.formats import NO_VALUE, number

_IMPACT = "$/share per share/day"  # η: $ per share of price move per share/day of trading rate
_PER_SHARE = "$/share per share"  # γ, κ, Kyle's λ: $ per share of price move per share traded

#: calibration name -> (words, unit, scale: the table shows value x scale in that unit)
PARAMETER_WORDS: dict[str, tuple[str, str, float]] = {
    "price_usd": ("price (last close)", "$", 1.0),
    "sigma_daily": ("volatility σ, daily", "% of price per √day", 100.0),
    "sigma_usd_per_sqrt_day": ("volatility σ in dollars", "$/share per √day", 1.0),
    "sigma_annual": ("volatility σ, annualised", "% of price per √year", 100.0),
    "adv_shares": ("average daily volume (mean)", "shares/day", 1.0),
    "adv_median_shares": ("average daily volume (median)", "shares/day", 1.0),
    "spread": ("bid–ask spread (full)", "$/share", 1.0),
    "eta": ("temporary impact η", _IMPACT, 1.0),
    "gamma": ("permanent impact γ", _PER_SHARE, 1.0),
    "transient_kappa_usd_per_share2": ("transient (order-book) impact κ", _PER_SHARE, 1.0),
    "transient_decay_per_day": ("transient impact decay rate ρ", "per day", 1.0),
    "quad_a": ("quadratic temporary curve: linear term", _IMPACT, 1.0),
    "quad_b": ("quadratic temporary curve: quadratic term", "$/share per (share/day)²", 1.0),
    "power_c": ("power temporary curve: coefficient", "$/share per (share/day)^p", 1.0),
    "power_p": ("power temporary curve: exponent p", "no unit", 1.0),
    "power_impact_at_10pct_adv_usd": ("power temporary curve: impact at 10% of ADV", "$/share", 1.0),
    "power_coefficient": ("power law Y·σ·(rate/ADV)^p: coefficient Y", "no unit", 1.0),
    "power_exponent": ("power law: exponent p", "no unit", 1.0),
    "sqrt_law_y": ("square-root law: coefficient Y", "no unit", 1.0),
    "kyle_lambda_usd_per_share": ("Kyle's λ (price move per net signed share)", _PER_SHARE, 1.0),
    "eta_athl": ("temporary impact η from the published ATHL 2005 law", _IMPACT, 1.0),
    "gamma_athl": ("permanent impact γ from the published ATHL 2005 law", _PER_SHARE, 1.0),
    "eta_rule_of_thumb": ("temporary impact η, Almgren–Chriss rule of thumb", _IMPACT, 1.0),
    "gamma_rule_of_thumb": ("permanent impact γ, Almgren–Chriss rule of thumb", _PER_SHARE, 1.0),
    "vol_long_run_variance_daily": ("long-run variance of daily returns", "(fraction of price)² per day", 1.0),
    "vol_fast_rate_per_day": ("fast volatility factor: mean-reversion rate", "per day", 1.0),
    "vol_slow_rate_per_day": ("slow volatility factor: mean-reversion rate", "per day", 1.0),
    "fast_scale_epsilon": ("fast volatility scale ε (1 / fast rate)", "days", 1.0),
    "slow_scale_delta": ("slow volatility scale δ (the slow rate)", "per day", 1.0),
}

#: the note under the table: what a dash stands for
DASH_NOTE = (
    f"{NO_VALUE}: nothing to show: a rule of thumb, a published law or a derived value has no standard error, "
    "interval or fit quality from these data, and a value not estimated from observations has no count."
)


def parameter_words(name: str) -> tuple[str, str, float]:
    """(words, unit, scale) of a calibration parameter; a name this table does not know is shown as it is."""
    return PARAMETER_WORDS.get(name, (name.replace("_", " "), "", 1.0))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The calibration's table (``optexec.calibration.run.as_table``) with words, units and formatted numbers, as
    text columns: "parameter", "value", "unit", "± std error", "95% interval", "observations", "fit R²", "method",
    "notes" (a fallback and the estimate's warnings)."""
    rows = []
    for record in table.to_dict("records"):
        words, unit, scale = parameter_words(str(record["parameter"]))

        def scaled(column: str, record: dict = record, scale: float = scale) -> object:
            value = record.get(column)
            return None if value is None or _missing(value) else float(value) * scale

        low, high = scaled("low_95"), scaled("high_95")
        count = record.get("observations")
        r2 = record.get("fit_r2")
        notes = [n for n in ("fallback" if record.get("fallback") else "", record.get("warnings") or "") if n]
        rows.append(
            {
                "parameter": words,
                "value": number(scaled("value")),
                "unit": unit,
                "± std error": number(scaled("stderr"), 3),
                "95% interval": NO_VALUE if low is None or high is None else f"{number(low, 3)} to {number(high, 3)}",
                "observations": NO_VALUE if _missing(count) or not count else f"{int(count):,}",
                "fit R²": NO_VALUE if _missing(r2) else f"{float(r2):.3f}",
                "method": NO_VALUE if _missing(record.get("method")) else str(record["method"] or NO_VALUE),
                "notes": "; ".join(notes) or "",
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "value", "unit", "± std error", "95% interval", "observations",
                                       "fit R²", "method", "notes"])  # fmt: skip


def _missing(value: object) -> bool:
    """None or NaN."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
