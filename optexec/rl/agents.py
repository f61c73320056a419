"""Agents trained on the execution environment, in numpy on the CPU.

* ``QLearningAgent``: Q-learning over the discrete fractions 0%, 10%, ..., 100% of the remainder with linear
  function approximation (DQN-style in numpy): Q_j(s, a) = w_j . psi(s, a), one weight vector per decision period,
  psi quadratic in the remainder and the traded share (``q_features``). Batches of episodes run in parallel with
  epsilon-greedy exploration; after each batch the weights are refitted by least squares on the last batches
  (experience replay) toward r + max_a' Q_{j+1}(s', a'), last period first (fitted Q iteration). A tabular
  Q-table was tried first: binning the remainder aliases states whose costs differ by a factor of 2 or more, and
  its greedy policy cost 60-110% more than TWAP after a minute of training.
* ``CrossEntropyAgent``: a linear policy for the continuous fraction, a = sigmoid(theta . phi(s)), with
  phi = [1, log(periods left - 1), elapsed, remaining - (1 - elapsed), log vol ratio, spread ratio - 1,
  volume ratio - 1]. theta starts at TWAP (theta = [0, -1, 0, ...] gives a = 1 / periods left). Each iteration
  draws a Gaussian population of theta, scores every member on the same paths (common random numbers) and refits
  the Gaussian to the best ``elite`` share.

Rewards are scaled to bps of the arrival notional for learning; the learning curve is the greedy policy's mean
shortfall and objective (shortfall + risk penalty) on fixed validation paths, in bps.
``train_curriculum`` trains through a list of market models, calm to volatile; a stage may also train under another
cost model than the market's (``Stage.cost_model``, ``dataclasses.replace(market, cost_model=...)``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order
from optexec.rl.env import DISCRETE_ACTIONS, BatchExecutionEnv, EnvConfig
from optexec.simulation.market import MarketModel, generate_market_paths

Progress = Callable[[float, dict[str, Any]], None]


def notional_bp_usd(order: Order, market: MarketParams) -> float:
    """One basis point of the arrival notional, $."""
    return 1e-4 * order.shares * market.price_usd


def run_greedy(agent: Any, env: BatchExecutionEnv, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(shortfall $, risk penalty $) per path of the agent's greedy policy on ``batch`` paths of ``env``."""
    obs = env.reset(batch, seed)
    while not env.done:
        obs, _, _ = env.step(agent.fractions(obs, env.period, env.periods))
    return env.cost_usd.copy(), env.penalty_usd.copy()


def _curve_point(agent, env, batch, seed, scale, stage, iteration) -> dict[str, Any]:
    cost, penalty = run_greedy(agent, env, batch, seed)
    return {"stage": stage, "iteration": iteration, "cost_bps": float(cost.mean() / scale),
            "objective_bps": float((cost + penalty).mean() / scale)}  # fmt: skip


def q_features(obs: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """psi(s, a) of the Q-function, (B, 12): quadratic in the remainder q and the traded share n = a q, with
    variance, spread and volume interactions (the cost of the linear model is quadratic in q and n)."""
    q = obs[:, 0]
    n = fraction * q
    excess_var = obs[:, 3] ** 2 - 1.0
    spread, volume = obs[:, 2] - 1.0, obs[:, 4] - 1.0
    return np.stack([np.ones_like(q), q, n, q * q, q * n, n * n, excess_var * q * q, excess_var * q * n,
                     excess_var * n * n, spread * n, volume * n, volume * n * n], axis=1)  # fmt: skip


class QLearningAgent:
    """Q-learning with linear function approximation over the discrete fractions (module docstring)."""

    kind = "q_learning"

    def __init__(self, periods: int = 10, weights: np.ndarray | None = None, ridge: float = 1e-6) -> None:
        self.periods = int(periods)
        self.ridge = float(ridge)
        self.weights = np.zeros((self.periods, 12)) if weights is None else np.asarray(weights, dtype=float)
        self.weights = self.weights.reshape(self.periods, 12)
        self.fitted = weights is not None

    def values(self, obs: np.ndarray, period: int) -> np.ndarray:
        """Q(s, a) in bps for each row and each discrete action, (B, A)."""
        period = min(period, self.periods - 1)
        return np.stack([q_features(obs, np.full(obs.shape[0], a)) @ self.weights[period] for a in DISCRETE_ACTIONS],
                        axis=1)  # fmt: skip

    def actions(self, obs: np.ndarray, period: int) -> np.ndarray:
        """Greedy action index per row; TWAP's (the fraction nearest 1 / periods left) before any fit."""
        if period >= self.periods - 1:
            return np.full(obs.shape[0], len(DISCRETE_ACTIONS) - 1)
        if not self.fitted:
            twap = int(np.argmin(np.abs(DISCRETE_ACTIONS - 1.0 / max(self.periods - period, 1))))
            return np.full(obs.shape[0], twap)
        return np.argmax(self.values(obs, period), axis=1)

    def fractions(self, obs: np.ndarray, period: int, periods: int) -> np.ndarray:
        """Greedy fraction of the remainder per row."""
        return DISCRETE_ACTIONS[self.actions(obs, period)]

    def _fit(self, memory: list[list[tuple]]) -> None:
        """Fitted Q iteration, last period first: least squares of r + max_a' Q_{j+1}(s', a') on psi(s, a)."""
        for j in range(self.periods - 1, -1, -1):
            obs = np.concatenate([m[0] for m in memory[j]])
            fraction = np.concatenate([m[1] for m in memory[j]])
            target = np.concatenate([m[2] for m in memory[j]])
            if j < self.periods - 1:
                after = np.concatenate([m[3] for m in memory[j]])
                target = target + self.values(after, j + 1)[np.arange(after.shape[0]), self.actions(after, j + 1)]
            psi = q_features(obs, fraction)
            gram = psi.T @ psi
            gram[np.diag_indices_from(gram)] += self.ridge * max(np.trace(gram), 1.0)
            self.weights[j] = np.linalg.solve(gram, psi.T @ target)
            self.fitted = True

    def train(self, env: BatchExecutionEnv, iterations: int, batch: int = 256, seed: int = 0,
              epsilon: tuple[float, float] = (0.5, 0.1), replay: int = 8, validation: int = 256, stage: str = "",
              progress: Progress | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """``iterations`` batches of ``batch`` episodes (epsilon-greedy, decaying linearly), each followed by a
        refit on the last ``replay`` batches (experience replay)."""
        if env.periods != self.periods:
            raise ValueError(f"the agent has {self.periods} decision periods, the environment {env.periods}")
        scale = notional_bp_usd(env.order, env.market)
        rng = np.random.default_rng(seed)
        seeds = np.random.SeedSequence(seed).generate_state(iterations)
        memory: list[list[tuple]] = [[] for _ in range(self.periods)]
        curve = []
        for it in range(iterations):
            eps = epsilon[0] + (epsilon[1] - epsilon[0]) * it / max(iterations - 1, 1)
            obs = env.reset(batch, int(seeds[it]))
            while not env.done:
                period = env.period
                action = self.actions(obs, period)
                if period < self.periods - 1:
                    explore = rng.random(batch) < eps
                    action[explore] = rng.integers(0, len(DISCRETE_ACTIONS), explore.sum())
                after, reward, _ = env.step(DISCRETE_ACTIONS[action])
                memory[period].append((obs, DISCRETE_ACTIONS[action], reward / scale, after))
                memory[period] = memory[period][-replay:]
                obs = after
            self._fit(memory)
            point = _curve_point(self, env, validation, seed + 10_000, scale, stage, it)
            curve.append(point)
            if progress is not None:
                progress((it + 1) / iterations, point)
        return curve

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {"kind": self.kind, "periods": self.periods, "weights": self.weights.tolist(), "ridge": self.ridge}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QLearningAgent:
        """The agent saved by ``to_dict``."""
        return cls(data["periods"], np.array(data["weights"]), data.get("ridge", 1e-6))


def linear_features(obs: np.ndarray, period: int, periods: int) -> np.ndarray:
    """phi(s) of the cross-entropy policy (module docstring), (B, 7)."""
    left = max(periods - period - 1, 1)
    phi = np.empty((obs.shape[0], 7))
    phi[:, 0] = 1.0
    phi[:, 1] = math.log(left)
    phi[:, 2] = obs[:, 1]
    phi[:, 3] = obs[:, 0] - (1.0 - obs[:, 1])
    phi[:, 4] = np.log(np.maximum(obs[:, 3], 1e-3))
    phi[:, 5] = obs[:, 2] - 1.0
    phi[:, 6] = obs[:, 4] - 1.0
    return phi


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class CrossEntropyAgent:
    """Linear-sigmoid policy for the continuous fraction, trained by the cross-entropy method (module docstring)."""

    kind = "cross_entropy"

    def __init__(self, periods: int = 10, theta: Sequence[float] | None = None, spread: Sequence[float] | None = None):
        self.periods = int(periods)
        self.theta = np.array([0.0, -1.0, 0, 0, 0, 0, 0]) if theta is None else np.asarray(theta, dtype=float)
        self.spread = np.full(7, 0.5) if spread is None else np.asarray(spread, dtype=float)

    def fractions(self, obs: np.ndarray, period: int, periods: int, theta: np.ndarray | None = None) -> np.ndarray:
        """sigmoid(theta . phi) per row; ``theta`` (B, 7) gives each row its own parameters."""
        phi = linear_features(obs, period, periods)
        z = phi @ self.theta if theta is None else np.einsum("bf,bf->b", phi, theta)
        return _sigmoid(z)

    def train(self, env: BatchExecutionEnv, iterations: int, population: int = 32, batch: int = 48, seed: int = 0,
              elite: float = 0.25, validation: int = 256, stage: str = "",
              progress: Progress | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """``iterations`` rounds of the cross-entropy method; each member plays the same ``batch`` paths."""
        if env.periods != self.periods:
            raise ValueError(f"the agent has {self.periods} decision periods, the environment {env.periods}")
        scale = notional_bp_usd(env.order, env.market)
        rng = np.random.default_rng(seed)
        seeds = np.random.SeedSequence(seed).generate_state(iterations)
        keep = max(2, int(round(elite * population)))
        curve = []
        for it in range(iterations):
            members = self.theta + self.spread * rng.standard_normal((population, self.theta.size))
            members[0] = self.theta
            draw = generate_market_paths(env.order, env.market, env.config.model, batch, int(seeds[it]))
            obs = env.reset(paths=draw, copies=population)
            rows = np.repeat(members, batch, axis=0)
            total = np.zeros(population * batch)
            while not env.done:
                obs, reward, _ = env.step(self.fractions(obs, env.period, env.periods, rows))
                total += reward
            score = total.reshape(population, batch).mean(axis=1)
            best = members[np.argsort(score)[::-1][:keep]]
            noise_floor = 0.05 * (1.0 - it / max(iterations, 1))
            self.theta = best.mean(axis=0)
            self.spread = best.std(axis=0) + noise_floor
            point = _curve_point(self, env, validation, seed + 10_000, scale, stage, it)
            curve.append(point)
            if progress is not None:
                progress((it + 1) / iterations, point)
        return curve

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {"kind": self.kind, "periods": self.periods, "theta": self.theta.tolist(),
                "spread": self.spread.tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossEntropyAgent:
        """The agent saved by ``to_dict``."""
        return cls(data["periods"], data["theta"], data["spread"])


AGENT_TYPES: dict[str, type[QLearningAgent] | type[CrossEntropyAgent]] = {
    "q_learning": QLearningAgent,
    "cross_entropy": CrossEntropyAgent,
}


def agent_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild any agent saved by its ``to_dict`` (including optexec.rl.dp.DPAgent)."""
    kind = data.get("kind")
    if kind == "dp":
        from optexec.rl.dp import DPAgent

        return DPAgent.from_dict(data)
    if kind not in AGENT_TYPES:
        raise ValueError(f"unknown agent kind {kind!r}; known: {', '.join(AGENT_TYPES)}")
    return AGENT_TYPES[kind].from_dict(data)


@dataclass(frozen=True)
class Stage:
    """One curriculum stage: a name, the market model to train on, and its share of the iterations.

    cost_model : the cost model the stage trains under (models.COST_MODELS); None = the market's own.
    """

    name: str
    model: MarketModel
    share: float = 1.0
    cost_model: str | None = None

    def market(self, market: MarketParams) -> MarketParams:
        """The market the stage trains on: ``market`` under the stage's cost model."""
        if self.cost_model is None or self.cost_model == market.cost_model:
            return market
        return dataclasses.replace(market, cost_model=self.cost_model)


def calm_model() -> MarketModel:
    """Constant volatility, no volume or spread noise, no liquidity regimes."""
    from optexec.simulation.market import LiquidityRegimes

    return MarketModel(volume_noise=0.0, spread_noise=0.0, regimes=LiquidityRegimes(enabled=False))


def train_curriculum(agent: Any, order: Order, market: MarketParams, stages: Sequence[Stage], iterations: int,
                     risk_aversion_per_usd: float = 1e-6, seed: int = 0, progress: Progress | None = None,
                     **train_kwargs: Any) -> list[dict[str, Any]]:  # fmt: skip
    """Train ``agent`` through the stages in order (calm to volatile), ``iterations`` split by their shares.

    ``progress(fraction_done, point)`` gets each learning-curve point (with ``stage``, ``elapsed_s``).
    """
    if iterations < len(stages):
        raise ValueError(f"give at least one training iteration per curriculum stage ({len(stages)})")
    shares = np.array([s.share for s in stages], dtype=float)
    counts = np.maximum(1, np.round(iterations * shares / shares.sum()).astype(int))
    started, done_before, curve = time.perf_counter(), 0, []
    for i, (stage, count) in enumerate(zip(stages, counts, strict=True)):
        config = EnvConfig(agent.periods, risk_aversion_per_usd, stage.model)
        env = BatchExecutionEnv(order, stage.market(market), config)

        def report(fraction: float, point: dict[str, Any], before=done_before, count=count) -> None:
            point["elapsed_s"] = time.perf_counter() - started
            if progress is not None:
                progress((before + fraction * count) / counts.sum(), point)

        curve += agent.train(env, int(count), seed=seed + 1000 * i, stage=stage.name, progress=report, **train_kwargs)
        done_before += int(count)
    return curve
