"""Generator of the bundled synthetic sample: labelled fake symbols with a planted impact model.

Everything here is made up (fixed seed) so that the app can be shown, and the calibration code
tested, on data whose true parameters are known. Per symbol and one-minute step m (docs/MATH.md
sections 2 and 4, in Almgren–Chriss units; time in trading days, 390 minutes a day):

    Q_m = net signed volume in minute m (buyer- minus seller-initiated shares)
    P_{m+1} = P_m + sigma_m xi_m / sqrt(390) + gamma Q_m             efficient price, permanent impact gamma
    D_{m+1} = exp(-beta / 390) D_m + kappa Q_m                       transient impact (Obizhaeva–Wang)
    T_m = eta v_ref sign(v_m) |v_m / v_ref|^delta,  v_m = 390 Q_m    temporary impact (v in shares/day)
    quoted mid = P + D + T;  prints at the quoted ask (buys) or bid (sells)
    sigma_m = sigma exp(f_fast + f_slow - (s_fast^2 + s_slow^2))     two log-normal volatility factors (OU)

With delta = 1 the temporary part is exactly eta * v (the linear AC model); for delta != 1, eta is the
secant slope at v_ref = 10% of ADV per day. Minute volumes follow the U-shaped profile of
``optexec.models.u_shaped_volume_profile``. Run ``python -m optexec.store.synthetic`` to rewrite optexec/sample_data/.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from optexec.models import u_shaped_volume_profile

SEED = 20260101
MINUTES = 390
N_DAYS = 62
FIRST_DAY = "2025-01-02"
TIME_ZONE = "America/New_York"
TICK_USD = 0.01


@dataclass(frozen=True)
class PlantedSymbol:
    """The true parameters of one synthetic symbol (units in the names; days are trading days)."""

    symbol: str
    name: str
    price_usd: float
    sigma_daily_fraction: float
    adv_shares: float
    spread_target_usd: float
    eta_usd_day_per_share2: float
    gamma_usd_per_share2: float
    transient_kappa_usd_per_share2: float
    transient_decay_per_day: float
    temporary_exponent: float
    reference_rate_shares_per_day: float
    fast_vol_rate_per_day: float
    fast_vol_std: float
    slow_vol_rate_per_day: float
    slow_vol_std: float
    imbalance_std_fraction: float
    overnight_sigma_fraction_of_daily: float


#: transient strength kappa of every symbol as a fraction of price / ADV (a block of 1% of ADV displaces the price
#: by 0.025% of it), except where a symbol plants its own
TRANSIENT_FRACTION = 0.025


def _symbol(
    symbol, name, price, sigma, adv, spread, exponent=1.0, transient_fraction=TRANSIENT_FRACTION
) -> PlantedSymbol:
    return PlantedSymbol(
        symbol=symbol,
        name=name,
        price_usd=price,
        sigma_daily_fraction=sigma,
        adv_shares=adv,
        spread_target_usd=spread,
        eta_usd_day_per_share2=0.002 * price / adv,
        gamma_usd_per_share2=0.05 * price / adv,
        transient_kappa_usd_per_share2=transient_fraction * price / adv,
        transient_decay_per_day=MINUTES / 30.0,
        temporary_exponent=exponent,
        reference_rate_shares_per_day=0.1 * adv,
        fast_vol_rate_per_day=MINUTES / 30.0,
        fast_vol_std=0.3,
        slow_vol_rate_per_day=0.1,
        slow_vol_std=0.3,
        imbalance_std_fraction=0.3,
        overnight_sigma_fraction_of_daily=0.3,
    )


SYMBOLS: tuple[PlantedSymbol, ...] = (
    _symbol("SYN-LARGE", "Synthetic large cap (generated, not a real security)", 100.0, 0.015, 5_000_000, 0.02),
    _symbol("SYN-MID", "Synthetic mid cap (generated, not a real security)", 40.0, 0.022, 1_500_000, 0.03),
    _symbol("SYN-SMALL", "Synthetic small cap (generated, not a real security)", 12.0, 0.035, 400_000, 0.04),
    _symbol(
        "SYN-CONCAVE",
        "Synthetic, concave temporary and strong transient impact (generated, not a real security)",
        60.0,
        0.02,
        2_000_000,
        0.03,
        exponent=0.6,
        # ten times the others' transient impact, so that 62 days identify its decay (half-life 30 minutes): the
        # planted symbol of the calibrated model's round trip (power law and transient impact, issue 13)
        transient_fraction=0.25,
    ),
)

# past parent orders worked in the sample: (symbol, side, fraction of ADV, day index, start minute, minutes)
PAST_ORDERS = (
    ("SYN-LARGE", "buy", 0.10, 10, 30, 300),
    ("SYN-LARGE", "sell", 0.05, 35, 0, 390),
    ("SYN-MID", "buy", 0.08, 20, 60, 180),
    ("SYN-SMALL", "sell", 0.12, 15, 0, 390),
    ("SYN-CONCAVE", "buy", 0.06, 40, 120, 240),
)


def trading_days() -> pd.DatetimeIndex:
    """The sample's trading days: weekdays from FIRST_DAY (no holidays: the calendar is synthetic too)."""
    return pd.bdate_range(FIRST_DAY, periods=N_DAYS)


def _ou(rng, n: int, rate_per_minute: float, std: float) -> np.ndarray:
    """A stationary AR(1) (exact OU discretisation) of length n with stationary std ``std``."""
    a = np.exp(-rate_per_minute)
    shocks = rng.standard_normal(n) * std * np.sqrt(1 - a * a)
    shocks[0] = rng.standard_normal() * std
    return lfilter([1.0], [1.0, -a], shocks)


def generate_symbol(p: PlantedSymbol, rng: np.random.Generator, open_utc: np.ndarray) -> dict[str, pd.DataFrame]:
    """Bars, quotes, trades, orders and fills of one synthetic symbol."""
    n_days = open_utc.size
    n = n_days * MINUTES
    profile = np.asarray(u_shaped_volume_profile(MINUTES))
    day_volume = p.adv_shares * rng.lognormal(-0.5 * 0.25**2, 0.25, n_days)
    minute_volume = np.round(np.repeat(day_volume, MINUTES) * np.tile(profile, n_days) * rng.gamma(4.0, 0.25, n)).clip(
        1
    )
    orders, order_flow = [], np.zeros(n)
    for k, (symbol, side, frac, day, start, length) in enumerate(PAST_ORDERS):
        if symbol != p.symbol:
            continue
        shares = round(frac * p.adv_shares, -2)
        first = day * MINUTES + start
        per_minute = np.diff(np.round(np.linspace(0, shares, length + 1)))
        order_flow[first : first + length] += (1 if side == "buy" else -1) * per_minute
        orders.append((f"SAMPLE-{k + 1}", side, shares, first, length))
    imbalance = np.clip(rng.standard_normal(n) * p.imbalance_std_fraction, -0.95, 0.95)
    flow = np.clip(imbalance * minute_volume + order_flow, -minute_volume, minute_volume)
    minute_volume = np.maximum(minute_volume, np.abs(flow))
    sigma_usd = p.sigma_daily_fraction * p.price_usd
    factors = _ou(rng, n, p.fast_vol_rate_per_day / MINUTES, p.fast_vol_std) + _ou(
        rng, n, p.slow_vol_rate_per_day / MINUTES, p.slow_vol_std
    )
    sigma_minute = sigma_usd * np.exp(factors - (p.fast_vol_std**2 + p.slow_vol_std**2)) / np.sqrt(MINUTES)
    shocks = sigma_minute * rng.standard_normal(n)
    overnight = np.zeros(n)
    overnight[MINUTES::MINUTES] = p.overnight_sigma_fraction_of_daily * sigma_usd * rng.standard_normal(n_days - 1)
    efficient = p.price_usd + np.concatenate([[0.0], np.cumsum(shocks + p.gamma_usd_per_share2 * flow)[:-1]])
    efficient += np.cumsum(overnight)
    decay = np.exp(-p.transient_decay_per_day / MINUTES)
    transient = np.concatenate([[0.0], lfilter([1.0], [1.0, -decay], p.transient_kappa_usd_per_share2 * flow)[:-1]])
    rate = flow * MINUTES
    v_ref = p.reference_rate_shares_per_day
    temporary = p.eta_usd_day_per_share2 * v_ref * np.sign(rate) * np.abs(rate / v_ref) ** p.temporary_exponent
    mid_start = efficient + transient + temporary  # quoted mid at the start of each minute
    mid_end = efficient + shocks + p.gamma_usd_per_share2 * flow + transient + temporary
    # bars from a 6-step path between the start and end mids (a Brownian bridge)
    steps = 6
    w = np.cumsum(rng.standard_normal((n, steps)) * (sigma_minute / np.sqrt(steps))[:, None], axis=1)
    s = np.arange(1, steps + 1) / steps
    path = mid_start[:, None] + (w - s * w[:, -1:]) + s * (mid_end - mid_start)[:, None]
    path = np.concatenate([mid_start[:, None], path], axis=1)
    ts_minute = (np.repeat(open_utc, MINUTES) + np.tile(np.arange(MINUTES) * 60_000_000, n_days)).astype(
        "datetime64[us]"
    )
    bars = pd.DataFrame(
        {
            "symbol": p.symbol,
            "ts": ts_minute,
            "open": path[:, 0].round(4),
            "high": path.max(axis=1).round(4),
            "low": path.min(axis=1).round(4),
            "close": path[:, -1].round(4),
            "volume": minute_volume,
        }
    )
    spread_ticks = np.maximum(1, np.round(p.spread_target_usd / TICK_USD * rng.lognormal(-0.02, 0.2, n)))
    spread = spread_ticks * TICK_USD
    quote_step = rng.integers(1, steps + 1, n)
    quote_mid = path[np.arange(n), quote_step]
    bid = np.floor((quote_mid - spread / 2) / TICK_USD + 1e-9) * TICK_USD
    size_scale = minute_volume / 10
    quotes = pd.DataFrame(
        {
            "symbol": p.symbol,
            "ts": ts_minute + (quote_step * 10_000_000).astype("timedelta64[us]"),
            "bid": bid.round(2),
            "bid_size": np.round(size_scale * rng.uniform(0.5, 1.5, n), -2).clip(100),
            "ask": (bid + spread).round(2),
            "ask_size": np.round(size_scale * rng.uniform(0.5, 1.5, n), -2).clip(100),
        }
    )
    trades = _prints(p, rng, ts_minute, minute_volume, flow, path, spread)
    fills, order_rows = _fills(p, orders, ts_minute, path, spread, sigma_usd)
    return {"bars": bars, "quotes": quotes, "trades": trades, "fills": fills, "orders": order_rows}


def _split(rng, total: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split each total into ``counts`` integer pieces (Dirichlet weights); returns (owner index, sizes)."""
    owner = np.repeat(np.arange(total.size), counts)
    weights = rng.gamma(1.0, 1.0, owner.size)
    weights /= np.bincount(owner, weights, total.size)[owner]
    sizes = np.floor(weights * total[owner])
    short = total - np.bincount(owner, sizes, total.size)
    last = np.cumsum(counts) - 1
    sizes[last[counts > 0]] += short[counts > 0]
    return owner, sizes


def _prints(p, rng, ts_minute, volume, flow, path, spread) -> pd.DataFrame:
    """Buyer- and seller-initiated prints: they add up to each minute's volume and net to its flow."""
    buys = np.round((volume + flow) / 2)
    parts = []
    for sign, total in ((1, buys), (-1, volume - buys)):
        counts = np.where(total > 0, 1 + rng.poisson(0.7, total.size), 0)
        owner, sizes = _split(rng, total, counts)
        keep = sizes > 0
        owner, sizes = owner[keep], sizes[keep]
        second = rng.uniform(0, 60, owner.size)
        step = np.minimum((second / 10).astype(int) + 1, path.shape[1] - 1)
        price = np.round((path[owner, step] + sign * spread[owner] / 2) / TICK_USD) * TICK_USD
        parts.append(
            pd.DataFrame(
                {
                    "symbol": p.symbol,
                    "ts": ts_minute[owner] + (second * 1e6).astype("timedelta64[us]"),
                    "price": price.round(2),
                    "size": sizes,
                    "side": "buy" if sign > 0 else "sell",
                }
            )
        )
    return pd.concat(parts).sort_values("ts", kind="stable").reset_index(drop=True)


def _fills(p, orders, ts_minute, path, spread, sigma_usd) -> tuple[pd.DataFrame, pd.DataFrame]:
    fills, rows = [], []
    for order_id, side, shares, first, length in orders:
        sign = 1 if side == "buy" else -1
        minutes = np.arange(first, first + length)
        qty = np.diff(np.round(np.linspace(0, shares, length + 1)))
        price = np.round((path[minutes, 3] + sign * spread[minutes] / 2) / TICK_USD) * TICK_USD
        fills.append(
            pd.DataFrame(
                {
                    "order_id": order_id,
                    "symbol": p.symbol,
                    "ts": ts_minute[minutes] + np.timedelta64(30, "s"),
                    "side": side,
                    "qty": qty,
                    "price": price.round(2),
                }
            )
        )
        horizon_days = length / MINUTES
        arrival = float(path[first, 0])
        expected = (
            0.5 * p.gamma_usd_per_share2 * shares**2
            + 0.5 * p.spread_target_usd * shares
            + p.eta_usd_day_per_share2 * shares**2 / horizon_days
        )
        rows.append(
            {
                "order_id": order_id,
                "symbol": p.symbol,
                "side": side,
                "shares": shares,
                "start_ts": ts_minute[first],
                "end_ts": ts_minute[first + length - 1] + np.timedelta64(60, "s"),
                "strategy": "twap",
                "arrival_price": round(arrival, 4),
                "expected_cost_usd": round(expected, 2),
            }
        )
    empty = pd.DataFrame(columns=["order_id", "symbol", "ts", "side", "qty", "price"])
    return (pd.concat(fills) if fills else empty), pd.DataFrame(rows)


#: where the sample instruments' market comes from (its days are plain weekdays, NYSE holidays included)
MARKET_SOURCE = "synthetic sample: every weekday"


def instruments_frame() -> pd.DataFrame:
    """The sample's instruments: New York time, 09:30–16:00, no exchange calendar (every weekday: synthetic)."""
    n = len(SYMBOLS)
    return pd.DataFrame(
        {
            "symbol": [p.symbol for p in SYMBOLS],
            "currency": "USD",
            "time_zone": TIME_ZONE,
            "calendar": pd.Series([None] * n, dtype="string"),
            "session_open": "09:30",
            "session_close": "16:00",
            "market_source": MARKET_SOURCE,
            "tick_size": TICK_USD,
            "lot_size": 1.0,
            "shares_outstanding": [p.adv_shares * 200 for p in SYMBOLS],
            "name": [p.name for p in SYMBOLS],
        }
    )


def generate(seed: int = SEED) -> tuple[dict[str, pd.DataFrame], dict]:
    """Every table of the sample plus the planted parameters (with realised summary statistics)."""
    rng = np.random.default_rng(seed)
    days = trading_days()
    opens = (days + pd.Timedelta(hours=9, minutes=30)).tz_localize(TIME_ZONE).tz_convert("UTC").tz_localize(None)
    open_utc = opens.values.astype("datetime64[us]").astype(np.int64)
    tables: dict[str, list[pd.DataFrame]] = {}
    planted: dict = {
        "description": "Planted (true) parameters of the bundled synthetic sample; see optexec/store/synthetic.py",
        "seed": seed,
        "trading_days": [str(d.date()) for d in days],
        "minutes_per_day": MINUTES,
        "time_zone": TIME_ZONE,
        "model": __doc__.split("\n\n")[1].strip(),
        "volume_profile": [float(x) for x in u_shaped_volume_profile(MINUTES)],
        "symbols": {},
    }
    for p in SYMBOLS:
        out = generate_symbol(p, rng, open_utc)
        for name, frame in out.items():
            tables.setdefault(name, []).append(frame)
        q = out["quotes"]
        daily_volume = out["bars"]["volume"].to_numpy().reshape(-1, MINUTES).sum(axis=1)
        planted["symbols"][p.symbol] = {
            **asdict(p),
            "sigma_usd_per_sqrt_day": p.sigma_daily_fraction * p.price_usd,
            "realised_mean_spread_usd": float((q["ask"] - q["bid"]).mean()),
            "realised_adv_shares": float(daily_volume.mean()),
            "first_close_usd": float(out["bars"]["close"].iloc[MINUTES - 1]),
            "last_close_usd": float(out["bars"]["close"].iloc[-1]),
        }
    frames = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}
    frames["instruments"] = instruments_frame()
    return frames, planted


#: tables whose times are written with their zone (UTC): a loader infers the zone of naive times from the volume
#: by time of day, and five orders' start and end times cannot tell it (they were read as New York time, five
#: hours after their own fills); the large tables' times are naive UTC, which the volume settles
ZONED_TABLES = ("orders", "fills")


def as_written(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table ``name`` as its file holds it: the times of ``ZONED_TABLES`` with their zone (UTC)."""
    if name not in ZONED_TABLES:
        return frame
    return frame.assign(**{c: frame[c].dt.tz_localize("UTC") for c in frame.select_dtypes("datetime")})


def write_sample(directory: str | Path, seed: int = SEED) -> dict[str, Path]:
    """Generate the sample and write one Parquet file per table plus planted_params.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frames, planted = generate(seed)
    written = {}
    for name, frame in frames.items():
        path = directory / f"sample_{name}.parquet"
        as_written(name, frame).to_parquet(path, index=False, compression="zstd")
        written[name] = path
    path = directory / "planted_params.json"
    path.write_text(json.dumps(planted, indent=1) + "\n")
    written["planted"] = path
    return written


if __name__ == "__main__":  # pragma: no cover
    from optexec.store.sample import DATA_DIR

    for name, path in write_sample(DATA_DIR).items():
        print(f"{name:12s} {path} {path.stat().st_size / 1e6:.2f} MB")
