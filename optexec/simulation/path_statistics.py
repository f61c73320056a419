"""The statistics of a simulated shortfall, one value per path: mean, std, its standard error, VaR and CVaR.

docs/MATH.md section 12 (the statistics of simulated costs): the mean's standard error is std / sqrt(paths);
the 95% VaR is the 95th percentile of the shortfall (``constants.VAR_CONFIDENCE``) and the CVaR the mean shortfall
at or beyond it. One strategy's run (``simulation.engine.StrategyRun``) and a basket's
(``baskets.simulate.BasketSimulation``) share them.
"""

from __future__ import annotations

import math

import numpy as np

from optexec import constants


class PathCosts:
    """Statistics of ``cost_usd``, the implementation shortfall per path in $ (a subclass holds it)."""

    cost_usd: np.ndarray

    @property
    def paths(self) -> int:
        """Number of paths."""
        return int(self.cost_usd.size)

    @property
    def mean_usd(self) -> float:
        """Mean implementation shortfall, $."""
        return float(self.cost_usd.mean())

    @property
    def std_usd(self) -> float:
        """Standard deviation of the shortfall across paths, $."""
        return float(self.cost_usd.std(ddof=1))

    @property
    def stderr_mean_usd(self) -> float:
        """Standard error of the mean shortfall (std / sqrt(paths)), $."""
        return self.std_usd / math.sqrt(self.paths)

    @property
    def var95_usd(self) -> float:
        """95% value at risk: the 95th percentile of the shortfall, $."""
        return float(np.quantile(self.cost_usd, constants.VAR_CONFIDENCE))

    @property
    def cvar95_usd(self) -> float:
        """95% conditional value at risk: the mean shortfall at or beyond the VaR, $."""
        return float(self.cost_usd[self.cost_usd >= self.var95_usd].mean())
