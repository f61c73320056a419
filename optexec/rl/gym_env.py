"""The execution environment as a ``gymnasium.Env``: ``gymnasium.make("optexec/Execution-v0")`` after
``import optexec.rl``.

One episode works one order on one simulated market path. The engine underneath is
``optexec.rl.env.BatchExecutionEnv`` with a batch of one path: the same periods, state, trades and cost model
(docs/MATH.md section 11), so what an agent pays here is what ``optexec.monte_carlo.run_policy`` charges for the same
trades on the same path (docs/MATH.md section 8).

Observation (float32, ``optexec.rl.env.FEATURES``): fraction of the order left, fraction of the horizon elapsed,
spread / normal spread, volatility / long-run volatility, realised / expected market volume of the previous period,
the previous period's return in units of sigma sqrt(period) (+ = against the order). The first two lie in [0, 1],
the three ratios are >= 0 and the return is any number; the bounds of those without a natural one are float32's
largest number (finite bounds, as ``gymnasium.utils.env_checker.check_env`` asks).

Action: the fraction of the shares left to execute in the current period, split evenly over the period's slices;
a ``Box(0, 1, (1,), float32)``, or with ``discrete=True`` an index into ``DISCRETE_ACTIONS`` (0%, 10%, ..., 100%).
An action outside the space raises ValueError (nothing is clipped: agents that sample outside it, e.g. a Gaussian
policy, wrap the environment in ``gymnasium.wrappers.ClipAction``; Stable-Baselines3 clips Box actions itself). The
last period finishes the order whatever the action (``info["fraction"]`` says what was traded), so every episode
terminates after ``periods`` steps with all shares done; it is never truncated.

Reward of a period (docs/MATH.md section 8, marked to market; docs/MATH.md section 2, eq 5 for the risk term):

    r_usd = -(period's implementation shortfall + lambda sum_k v_k tau x_{k+1}^2)

(``optexec.rl.env``'s module docstring writes the bracket out). Over an episode the shortfalls add up to the
implementation shortfall of ``run_policy``. ``reward_unit="bps"`` (the default) gives r_usd in basis points of the
arrival notional, 1e4 r_usd / (X P0), which keeps rewards of order 1 to 100 for any order size; ``"usd"`` gives
r_usd itself. ``info`` always carries the unscaled $ amounts of the period and of the episode so far.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from optexec.market import BUCKETS
from optexec.models import COST_MODELS, MarketParams, Order, u_shaped_volume_profile
from optexec.rl.env import DISCRETE_ACTIONS, BatchExecutionEnv, EnvConfig
from optexec.simulation.market import MarketModel, MarketPaths

REWARD_UNITS = ("bps", "usd")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
OBSERVATION_LOW = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -_FLOAT32_MAX], dtype=np.float32)
OBSERVATION_HIGH = np.array([1.0, 1.0, _FLOAT32_MAX, _FLOAT32_MAX, _FLOAT32_MAX, _FLOAT32_MAX], dtype=np.float32)


def demo_market() -> MarketParams:
    """DEMO: the made-up Almgren–Chriss (2000) Table 1 stock (docs/MATH.md section 2) with a U-shaped intraday
    volume profile; $50, sigma 0.95 $/share/sqrt(day), spread $0.125, ADV 5M shares, eta 2.5e-6, gamma 2.5e-7."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())


def demo_order() -> Order:
    """The default order: sell 250,000 DEMO shares (5% of ADV) over one trading day in 78 five-minute slices."""
    return Order("DEMO", "sell", 250_000, 1.0, 78)


def _as(kind: type, value: Any, what: str) -> Any:
    """``value`` as ``kind`` (an Order or MarketParams): as it is, or built from a dict of its fields."""
    if isinstance(value, kind):
        return value
    if isinstance(value, Mapping):
        try:
            return kind(**value)
        except TypeError as error:
            raise ValueError(f"the {what} could not be built from {dict(value)!r}: {error}") from None
    raise ValueError(f"the {what} must be an optexec {kind.__name__} or a dict of its fields, got {value!r}")


class ExecutionEnv(gymnasium.Env):
    """Work one order against the simulated market, one decision period per step (module docstring).

    Parameters
    ----------
    order : Order or dict of its fields, optional
        The order to work; default ``demo_order()``.
    market : MarketParams or dict of its fields, optional
        The market's parameters; default ``demo_market()`` (no database is read). A stored calibration's are
        ``optexec.market_source.symbol_params(con, symbol).market``.
    periods : int
        Decision periods in the horizon (each spans whole slices; at most the order's slices).
    risk_aversion_per_usd : float
        lambda of the risk penalty, 1/$ (docs/MATH.md section 2).
    model : MarketModel, optional
        The simulated market's dynamics (volatility factors, volume and spread noise, regimes); default
        ``MarketModel()``.
    cost_model : str, optional
        One of ``optexec.models.COST_MODELS`` to price trades with instead of ``market.cost_model``.
    discrete : bool
        Discrete actions (``DISCRETE_ACTIONS``) instead of a fraction in [0, 1].
    reward_unit : {"bps", "usd"}
        Reward in basis points of the arrival notional or in $.
    seed : int, optional
        Seed of the first ``reset()`` called without one (``reset(seed=...)`` always wins).
    render_mode : None
        The environment draws nothing.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        order: Order | Mapping[str, Any] | None = None,
        market: MarketParams | Mapping[str, Any] | None = None,
        periods: int = 10,
        risk_aversion_per_usd: float = 1e-6,
        model: MarketModel | None = None,
        cost_model: str | None = None,
        discrete: bool = False,
        reward_unit: str = "bps",
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"the execution environment draws nothing: render_mode must be None, got {render_mode!r}")
        if reward_unit not in REWARD_UNITS:
            raise ValueError(f"the reward unit must be one of {', '.join(REWARD_UNITS)}, got {reward_unit!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"the seed must be a whole number >= 0, got {seed!r}")
        order = demo_order() if order is None else _as(Order, order, "order")
        market = demo_market() if market is None else _as(MarketParams, market, "market")
        if cost_model is not None:
            if cost_model not in COST_MODELS:
                raise ValueError(f"the cost model must be one of {', '.join(COST_MODELS)}, got {cost_model!r}")
            market = replace(market, cost_model=cost_model)
        if model is not None and not isinstance(model, MarketModel):
            raise ValueError(f"the market model must be an optexec MarketModel, got {model!r}")
        config = EnvConfig(periods, risk_aversion_per_usd, model or MarketModel())
        self.engine = BatchExecutionEnv(order, market, config)
        if self.engine.periods < periods:
            warnings.warn(
                f"the order has {order.slices} slices: the episode has {self.engine.periods} decision periods, "
                f"not {periods}",
                stacklevel=2,
            )
        self.order, self.market, self.discrete, self.reward_unit = order, market, bool(discrete), reward_unit
        self.render_mode = None
        self.notional_usd = order.shares * market.price_usd
        self.observation_space = spaces.Box(OBSERVATION_LOW, OBSERVATION_HIGH, dtype=np.float32)
        self.action_space = (
            spaces.Discrete(len(DISCRETE_ACTIONS)) if self.discrete else spaces.Box(0.0, 1.0, (1,), dtype=np.float32)
        )
        self._first_seed = None if seed is None else int(seed)
        self._seeded = False
        self.market_seed: int | None = None

    @property
    def periods(self) -> int:
        """Decision periods of an episode (steps until it terminates)."""
        return self.engine.periods

    @property
    def paths(self) -> MarketPaths | None:
        """The current episode's market path (``generate_market_paths(order, market, model, 1, market_seed)``)."""
        return self.engine.paths

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """A new episode on a fresh market path, drawn with a seed taken from ``self.np_random``: the same ``seed``
        gives the same episode. ``options`` takes none (an empty dict or None)."""
        if options:
            raise ValueError(f"the execution environment takes no reset options, got {sorted(options)}")
        if seed is None and not self._seeded:
            seed = self._first_seed
        super().reset(seed=seed)
        self._seeded = True
        self.market_seed = int(self.np_random.integers(0, 2**63 - 1))
        obs = self.engine.reset(1, self.market_seed)
        info = {"period": 0, "market_seed": self.market_seed, "shares_left": float(self.engine.remaining[0])}
        return self._observation(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Execute the action's fraction of the shares left over the period; (obs, reward, terminated, truncated,
        info) with the period's $ amounts in ``info`` (module docstring)."""
        engine = self.engine
        if engine.paths is None or engine.done:
            raise ValueError("no episode is under way (not started, or over): call reset() first")
        fraction = self._fraction(action)
        if engine.period == engine.periods - 1:
            fraction = 1.0  # the last period finishes the order
        left_before = float(engine.remaining[0])
        before = self._totals()
        obs, reward_usd, terminated = engine.step(np.array([fraction]))
        after = self._totals()
        period = {name: after[name] - before[name] for name in after}
        charged = sum(period[name] for name in BUCKETS)
        info: dict[str, Any] = {
            "period": engine.period,
            "fraction": fraction,
            "shares_traded": left_before - float(engine.remaining[0]),
            "shares_left": float(engine.remaining[0]),
            "cost_usd": period["cost"],
            "risk_penalty_usd": period["penalty"],
            **{f"{name}_usd": period[name] for name in BUCKETS},
            "market_move_usd": period["cost"] - charged,
            "episode_shortfall_usd": after["cost"],
            "episode_risk_penalty_usd": after["penalty"],
        }
        reward = float(reward_usd[0])
        if self.reward_unit == "bps":
            reward *= 1e4 / self.notional_usd
        return self._observation(obs), reward, bool(terminated), False, info

    def render(self) -> None:
        """Nothing to draw (``render_mode`` is None)."""
        return None

    def _totals(self) -> dict[str, float]:
        """The episode's $ so far: shortfall, risk penalty and the cost model's buckets."""
        engine = self.engine
        totals = {"cost": float(engine.cost_usd[0]), "penalty": float(engine.penalty_usd[0])}
        return totals | {name: float(engine.charges_usd[name][0]) for name in BUCKETS}

    def _fraction(self, action: Any) -> float:
        """The fraction of the shares left that ``action`` executes; ValueError outside the action space."""
        if self.discrete:
            if not self.action_space.contains(action):
                raise ValueError(
                    f"the action must be a whole number from 0 to {len(DISCRETE_ACTIONS) - 1} (0%, 10%, ..., 100% "
                    f"of the shares left), got {action!r}"
                )
            return float(DISCRETE_ACTIONS[int(action)])
        try:
            value = np.asarray(action, dtype=float)
        except (TypeError, ValueError):
            value = np.array([math.nan])
        if value.size != 1 or not np.isfinite(value).all() or not 0.0 <= float(value.reshape(-1)[0]) <= 1.0:
            raise ValueError(
                f"the action must be one fraction in [0, 1] of the shares left, got {action!r} (agents that sample "
                "outside it: wrap the environment in gymnasium.wrappers.ClipAction)"
            )
        return float(value.reshape(-1)[0])

    def _observation(self, obs: np.ndarray) -> np.ndarray:
        """The engine's first row as float32 (a new array)."""
        return obs[0].astype(np.float32)
