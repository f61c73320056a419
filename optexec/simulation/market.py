"""The simulated market: mid price, volatility factors, signal, volume, spread and liquidity regimes.

One draw of the market is shared by every strategy of a run (common random numbers), so differences between
strategies are paired. Every random stream has its own child seed (``numpy.random.SeedSequence.spawn``), so
switching one feature off does not change the numbers the others draw.

Units (docs/MATH.md sections 1 and 2): prices in $/share, time in trading days, volatility sigma in $/share/sqrt(day),
the signal x in $/share/day (+ = the price rises), variances in ($/share)^2 per day.

* Mid price: arithmetic dM = x dt + sqrt(v) dW, or geometric dM/M = (x/P0) dt + (sqrt(v)/P0) dW, where
  v = sigma^2 max(Y + Z - 1, 0) is the current variance (docs/MATH.md section 1.6-1.7 convention: the fast factor Y
  and the slow factor Z are variance multipliers with long-run level 1; current variance = y + z - mu).
* Fast factor (CIR, docs/MATH.md section 1.6): dY = (theta_f/eps)(1 - Y) dt + (nu_f/sqrt(eps)) sqrt(Y) dB.
  Slow factor: dZ = delta c (1 - Z) dt + sqrt(delta) nu_z Z dB' (g(z) = nu_z z as in the multiscale strategy).
  Both are stepped with full-truncation Euler; nu_f = nu_z = 0 gives constant volatility.
* Signal: Ornstein–Uhlenbeck dx = -kappa x dt + eta_x dB'', starting at the market's drift; stepped exactly.
* Liquidity: a two-state (high/low) Markov regime per path; market volume per slice = expected volume (from the
  volume profile) x the regime's volume factor x lognormal noise; spread = spread x the regime's spread factor x
  lognormal noise. The factors are normalised so that volume and spread average to the MarketParams values.
* ``fill_uniform``: one U(0, 1) per path and slice, how deep the market traded into the book (limit-order fills).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optexec.models import MarketParams, Order, check_finite, check_non_negative, check_positive, slice_market_volume

PRICE_MODELS = ("arithmetic", "geometric")


@dataclass(frozen=True)
class LiquidityRegimes:
    """Two-state liquidity regime: high (normal) and low (thin volume, wide spread).

    enabled : False = always one regime with factor 1.
    low_share : long-run fraction of time in the low regime, in [0, 1).
    mean_low_minutes : mean length of a low-liquidity spell, trading minutes (> 0).
    low_volume_factor : volume in the low regime relative to the high regime, in (0, 1].
    low_spread_factor : spread in the low regime relative to the high regime, >= 1.
    """

    enabled: bool = True
    low_share: float = 0.3
    mean_low_minutes: float = 30.0
    low_volume_factor: float = 0.5
    low_spread_factor: float = 2.0

    def __post_init__(self) -> None:
        share = check_finite("share of time in low liquidity", self.low_share)
        if not 0 <= share < 1:
            raise ValueError(f"the share of time in low liquidity must be in [0, 1), got {share:g}")
        check_positive("mean low-liquidity spell (minutes)", self.mean_low_minutes)
        factor = check_finite("low-liquidity volume factor", self.low_volume_factor)
        if not 0 < factor <= 1:
            raise ValueError(f"the low-liquidity volume factor must be in (0, 1], got {factor:g}")
        if check_finite("low-liquidity spread factor", self.low_spread_factor) < 1:
            raise ValueError(f"the low-liquidity spread factor must be >= 1, got {self.low_spread_factor:g}")

    @property
    def active(self) -> bool:
        """True when the two regimes differ and the low one occurs."""
        return self.enabled and self.low_share > 0

    def volume_factors(self) -> np.ndarray:
        """(high, low) volume multipliers whose long-run mean is 1."""
        if not self.active:
            return np.ones(2)
        high = 1.0 / (1.0 - self.low_share + self.low_share * self.low_volume_factor)
        return np.array([high, high * self.low_volume_factor])

    def spread_factors(self) -> np.ndarray:
        """(high, low) spread multipliers whose long-run mean is 1."""
        if not self.active:
            return np.ones(2)
        high = 1.0 / (1.0 - self.low_share + self.low_share * self.low_spread_factor)
        return np.array([high, high * self.low_spread_factor])

    def transition(self, step_days: float, session_minutes: int) -> tuple[float, float]:
        """(P(low next | high now), P(low next | low now)) over one step of a continuous-time two-state chain."""
        if not self.active:
            return 0.0, 0.0
        leave_low_per_day = session_minutes / self.mean_low_minutes
        total_rate = leave_low_per_day / (1.0 - self.low_share)  # a + b with pi_low = a / (a + b)
        decay = math.exp(-total_rate * step_days)
        return self.low_share * (1.0 - decay), self.low_share + (1.0 - self.low_share) * decay


@dataclass(frozen=True)
class MarketModel:
    """How the simulated market moves (everything beyond MarketParams): price, signal, volatility factors, volume
    and spread noise, liquidity regimes. What trading costs is not here: it is the market's cost model,
    ``optexec.market.cost_model(market)`` (docs/MATH.md section 11), which the simulator, the RL environment and the
    DP all charge.

    price_model : "arithmetic" or "geometric" mid price.
    signal_mean_reversion_per_day : kappa of the return signal x (0 = constant drift).
    signal_vol_usd_per_day_per_sqrt_day : eta_x, the signal's noise (0 = the signal stays at the drift).
    fast_scale_epsilon, fast_mean_reversion_per_day, fast_vol_of_vol_per_sqrt_day : eps, theta_f, nu_f of the
        fast variance factor (docs/MATH.md section 1.6); nu_f = 0 switches it off.
    slow_scale_delta, slow_mean_reversion_per_day, slow_vol_of_vol_per_sqrt_day : delta, c, nu_z of the slow
        factor (docs/MATH.md section 1.7); nu_z = 0 switches it off.
    initial_vol_ratio : current vol / long-run vol at the start (sets Y(0) = ratio^2; Z(0) = 1).
    volume_noise : lognormal sd of market volume per slice around its expectation (0 = none).
    spread_noise : lognormal sd of the spread per slice (0 = none).
    regimes : the two-state liquidity regime.
    """

    price_model: str = "arithmetic"
    signal_mean_reversion_per_day: float = 0.0
    signal_vol_usd_per_day_per_sqrt_day: float = 0.0
    fast_scale_epsilon: float = 0.1
    fast_mean_reversion_per_day: float = 1.0
    fast_vol_of_vol_per_sqrt_day: float = 0.0
    slow_scale_delta: float = 0.5
    slow_mean_reversion_per_day: float = 1.0
    slow_vol_of_vol_per_sqrt_day: float = 0.0
    initial_vol_ratio: float = 1.0
    volume_noise: float = 0.3
    spread_noise: float = 0.1
    regimes: LiquidityRegimes = field(default_factory=LiquidityRegimes)

    def __post_init__(self) -> None:
        if self.price_model not in PRICE_MODELS:
            raise ValueError(f"price model must be one of {', '.join(PRICE_MODELS)}, got {self.price_model!r}")
        for label, value in [
            ("signal mean reversion (per day)", self.signal_mean_reversion_per_day),
            ("signal volatility", self.signal_vol_usd_per_day_per_sqrt_day),
            ("fast vol of vol", self.fast_vol_of_vol_per_sqrt_day),
            ("slow-scale delta", self.slow_scale_delta),
            ("slow mean reversion (per day)", self.slow_mean_reversion_per_day),
            ("slow vol of vol", self.slow_vol_of_vol_per_sqrt_day),
            ("volume noise", self.volume_noise),
            ("spread noise", self.spread_noise),
        ]:
            check_non_negative(label, value)
        check_positive("fast-scale epsilon", self.fast_scale_epsilon)
        check_positive("fast-factor mean reversion (per day)", self.fast_mean_reversion_per_day)
        check_positive("current vol / long-run vol", self.initial_vol_ratio)

    @property
    def stochastic_vol(self) -> bool:
        """True when a volatility factor moves (or starts away from its long-run level)."""
        return (
            self.fast_vol_of_vol_per_sqrt_day > 0
            or self.slow_vol_of_vol_per_sqrt_day > 0
            or (self.initial_vol_ratio != 1.0)
        )

    def inverse_volume_moment(self, exponent: float) -> float:
        """E[(v / vbar)^-p]: the mean of a slice's market volume v relative to its expectation vbar, to the power
        -p (docs/MATH.md section 11, the Jensen term of the power-law impact Y sigma (n / v)^p against realised
        volume). With v = vbar f_j e^{s Z - s^2/2}, the regime factor f_j in its long-run distribution and Z normal:

            E[(v / vbar)^-p] = (sum_j pi_j f_j^-p) exp(p (1 + p) s^2 / 2)

        1 without noise and regimes; 1.094 for the default model and the ATHL p = 0.6 (1.044 from the noise, 1.047
        from the regimes). Exact for every slice, as the regime chain starts in its long-run distribution."""
        p, s = float(exponent), self.volume_noise
        regimes = self.regimes
        factors = regimes.volume_factors()
        weights = np.array([1.0 - regimes.low_share, regimes.low_share]) if regimes.active else np.array([1.0, 0.0])
        return float(weights @ factors**-p) * math.exp(0.5 * p * (1.0 + p) * s * s)


@dataclass(frozen=True)
class MarketPaths:
    """One draw of the market over the order's slices; arrays are (paths, ...) or (1, ...) when path-independent.

    times_days : t_0..t_N. mid_usd : unimpacted mid at t_0..t_N. signal_usd_per_day : x at t_0..t_N.
    fast_variance, slow_variance : y = sigma^2 Y and z = sigma^2 Z at t_0..t_N, ($/share)^2 per day.
    volume_shares : market volume in each slice. expected_volume_shares : its expectation (N,).
    spread_usd : full spread in each slice. low_liquidity : the regime of each slice (True = low).
    fill_uniform : U(0, 1) per slice, how deep the market traded into the book.
    """

    times_days: np.ndarray
    mid_usd: np.ndarray
    signal_usd_per_day: np.ndarray
    fast_variance: np.ndarray
    slow_variance: np.ndarray
    volume_shares: np.ndarray
    expected_volume_shares: np.ndarray
    spread_usd: np.ndarray
    low_liquidity: np.ndarray
    fill_uniform: np.ndarray

    @property
    def paths(self) -> int:
        """Number of simulated paths."""
        return self.mid_usd.shape[0]


def _cir_path(rng, paths, steps, tau, start, reversion, vol) -> np.ndarray:
    """Full-truncation Euler path of dV = reversion (1 - V) dt + vol sqrt(V) dB (V a variance multiplier)."""
    values = np.empty((paths, steps + 1))
    values[:, 0] = start
    if vol == 0 and start == 1.0:
        values[:] = 1.0
        return values
    noise = rng.standard_normal((paths, steps)) if vol > 0 else None
    sqrt_tau = math.sqrt(tau)
    for k in range(steps):
        positive = np.maximum(values[:, k], 0.0)
        step = values[:, k] + reversion * (1.0 - positive) * tau
        if noise is not None:
            step += vol * np.sqrt(positive) * sqrt_tau * noise[:, k]
        values[:, k + 1] = step
    return values


def _slow_path(rng, paths, steps, tau, reversion, vol) -> np.ndarray:
    """Euler path of dZ = reversion (1 - Z) dt + vol Z dB from Z(0) = 1 (floored at 0)."""
    values = np.ones((paths, steps + 1))
    if vol == 0:
        return values
    noise = rng.standard_normal((paths, steps))
    sqrt_tau = math.sqrt(tau)
    for k in range(steps):
        z = values[:, k]
        values[:, k + 1] = np.maximum(z + reversion * (1.0 - z) * tau + vol * z * sqrt_tau * noise[:, k], 0.0)
    return values


def _regime_path(rng, paths, steps, regimes: LiquidityRegimes, tau, session_minutes) -> np.ndarray:
    """Low-liquidity indicator per path and slice, (paths, steps) bools, the chain started in its long-run
    distribution.

    Slice k > 0 is low when its uniform u_k < P(low | regime of slice k - 1). As P(low | high) <= P(low | low),
    u_k < P(low | high) makes it low and u_k >= P(low | low) high whatever came before; in between the regime
    stays. So each slice takes the regime of the last slice (itself or earlier) that its uniform decided; slice 0
    is always decided (u_0 < long-run low share). Found without a loop over the slices.
    """
    low = np.zeros((paths, steps), dtype=bool)
    if not regimes.active:
        return low
    uniform = rng.random((paths, steps), dtype=np.float32)
    to_low, stay_low = regimes.transition(tau, session_minutes)
    low[:, 0] = uniform[:, 0] < regimes.low_share  # in float32 (NumPy 2 scalar promotion)
    later = uniform[:, 1:].astype(np.float64)  # compared in float64 with P(low | previous regime)
    from_high, from_low = to_low + (stay_low - to_low) * np.array([0.0, 1.0])  # the chain step's thresholds
    low[:, 1:] = later < from_high
    decided = np.ones((paths, steps), dtype=bool)
    decided[:, 1:] = low[:, 1:] | (later >= from_low)
    last_decided = np.maximum.accumulate(np.where(decided, np.arange(steps), 0), axis=1)
    return np.take_along_axis(low, last_decided, axis=1)


def market_streams(seed: int | None) -> list[np.random.Generator]:
    """The eight random streams of a market draw (one per feature, module docstring), from one seed."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]


def generate_market_paths(
    order: Order,
    market: MarketParams,
    model: MarketModel,
    paths: int,
    seed: int | None,
    streams: list[np.random.Generator] | None = None,
) -> MarketPaths:
    """Draw ``paths`` market paths over the order's slices (module docstring; docs/MATH.md sections 1.3, 1.6, 1.7).

    With ``streams`` (``market_streams(seed)``; ``seed`` is then unused) the draw continues those streams: every
    stream is drawn path after path, so draws of 300 and then 700 paths from one set of streams are, number for
    number, the rows of one draw of 1,000 paths (how the simulator keeps its memory bounded, optexec.simulation.engine).
    """
    if isinstance(paths, bool) or not isinstance(paths, (int, np.integer)) or paths < 1:
        raise ValueError(f"the number of paths must be a whole number >= 1, got {paths!r}")
    streams = market_streams(seed) if streams is None else streams
    n, tau, price = order.slices, order.slice_days, market.price_usd
    sigma2 = market.sigma_usd_per_sqrt_day**2

    fast = _cir_path(
        streams[0], paths, n, tau, model.initial_vol_ratio**2,
        model.fast_mean_reversion_per_day / model.fast_scale_epsilon,
        model.fast_vol_of_vol_per_sqrt_day / math.sqrt(model.fast_scale_epsilon),
    ) if model.stochastic_vol else np.ones((1, n + 1))  # fmt: skip
    slow = (
        _slow_path(streams[1], paths, n, tau, model.slow_scale_delta * model.slow_mean_reversion_per_day,
                   math.sqrt(model.slow_scale_delta) * model.slow_vol_of_vol_per_sqrt_day)
        if model.stochastic_vol else np.ones((1, n + 1))
    )  # fmt: skip
    variance = sigma2 * np.maximum(fast[:, :-1] + slow[:, :-1] - 1.0, 0.0)  # over each slice

    # signal: exact OU step; its integral over a step has mean x_k (1 - e^{-kappa tau}) / kappa
    kappa, eta_x = model.signal_mean_reversion_per_day, model.signal_vol_usd_per_day_per_sqrt_day
    decay = math.exp(-kappa * tau)
    hold = tau if kappa == 0 else -math.expm1(-kappa * tau) / kappa
    signal = np.empty((paths if eta_x > 0 else 1, n + 1))
    signal[:, 0] = market.drift_usd_per_day
    if eta_x > 0:
        signal_noise = streams[2].standard_normal((paths, n))
        noise_sd = eta_x * math.sqrt(tau if kappa == 0 else -math.expm1(-2 * kappa * tau) / (2 * kappa))
        for k in range(n):
            signal[:, k + 1] = decay * signal[:, k]
            signal[:, k + 1] += noise_sd * signal_noise[:, k]
    else:  # x_{k+1} = e^{-kappa tau} x_k: the running product, multiplied in the same order
        signal[0, 1:] = decay
        signal[0] = np.multiply.accumulate(signal[0])
    drift_step = signal[:, :-1] * hold  # $ per share over each slice

    mid = np.empty((paths, n + 1))
    mid[:, 0] = price
    steps = mid[:, 1:]
    steps[:] = streams[3].standard_normal((paths, n), dtype=np.float32)  # float32 draws, float64 sums
    if model.price_model == "arithmetic":
        steps *= np.sqrt(variance * tau)
        steps += drift_step
        np.cumsum(steps, axis=1, out=steps)
        steps += price
    else:
        steps *= np.sqrt(variance * tau) / price
        steps += drift_step / price - 0.5 * variance * tau / price**2
        np.cumsum(steps, axis=1, out=steps)
        np.exp(steps, out=steps)
        steps *= price

    regimes = model.regimes
    low = _regime_path(streams[4], paths, n, regimes, tau, market.session_minutes)
    expected_volume = slice_market_volume(order, market)
    high_volume, low_volume = regimes.volume_factors()
    volume = np.where(low, low_volume, high_volume) * expected_volume
    if model.volume_noise > 0:  # float32 draws and exp (half the time), applied to float64 values
        s = np.float32(model.volume_noise)
        volume *= np.exp(s * streams[5].standard_normal((paths, n), dtype=np.float32) - np.float32(0.5) * s * s)
    high_spread, low_spread = regimes.spread_factors()
    spread = np.where(low, low_spread * market.spread_usd, high_spread * market.spread_usd)
    if model.spread_noise > 0:
        s = np.float32(model.spread_noise)
        spread *= np.exp(s * streams[6].standard_normal((paths, n), dtype=np.float32) - np.float32(0.5) * s * s)
    return MarketPaths(
        times_days=order.times_days,
        mid_usd=mid,
        signal_usd_per_day=signal,
        fast_variance=sigma2 * fast,
        slow_variance=sigma2 * slow,
        volume_shares=volume,
        expected_volume_shares=expected_volume,
        spread_usd=spread,
        low_liquidity=low,
        fill_uniform=streams[7].random((paths, n), dtype=np.float32),
    )
