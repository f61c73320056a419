"""Calibration of the strategies' parameters from the store (issue 4): volatility, liquidity, impact,
volatility factors and post-trade recalibration. See ``run.calibrate`` and ``run.latest_market_params``."""

from optexec.calibration.run import (
    Calibration,
    StoredCalibration,
    accept,
    calibrate,
    latest_calibration,
    latest_market_params,
    parameter_history,
    runs,
    save,
)

__all__ = [
    "Calibration",
    "StoredCalibration",
    "accept",
    "calibrate",
    "latest_calibration",
    "latest_market_params",
    "parameter_history",
    "runs",
    "save",
]
