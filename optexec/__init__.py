"""optexec: an open pre-trade execution planner.

The notebook API (``optexec.api``)::

    import optexec

    order = optexec.Order("SYN-LARGE", "buy", 200_000, horizon_days=0.5, slices=26)
    plan = optexec.plan(order)
    plan.summary()      # the cost table, one row per strategy
    plan.to_frame()     # every schedule, one row per strategy and slice, local times and whole shares
    plan.to_json()      # what ``optexec plan --json`` prints

Names are loaded when first used, so ``import optexec`` (and the command line's start-up) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

#: public name -> module that defines it
_EXPORTS = {
    "plan": "optexec.api",
    "simulate": "optexec.api",
    "calibrate": "optexec.api",
    "basket": "optexec.api",
    "market_params": "optexec.api",
    "Order": "optexec.models",
    "MarketParams": "optexec.models",
    "Schedule": "optexec.models",
    "COST_MODELS": "optexec.models",
    "Plan": "optexec.planning",
    "recommendation": "optexec.planning",
    "SimulationResult": "optexec.monte_carlo",
    "SimulationConfig": "optexec.monte_carlo",
    "Calibration": "optexec.calibration.run",
    "BasketPlan": "optexec.baskets.plan",
    "OrderClock": "optexec.clock",
    "MarketSession": "optexec.store.sessions",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later uses skip this function
        return value
    raise AttributeError(f"module 'optexec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
