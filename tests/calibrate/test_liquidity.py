"""ADV, the intraday volume profile and the spread estimators (quotes, Roll, Corwin–Schultz)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optexec.calibration import liquidity


def test_adv_mean_and_median_by_hand():
    volume = np.array([[100.0, 200.0], [300.0, 0.0], [0.0, 0.0], [50.0, 50.0]])  # day 3 had no trading
    mean, median = liquidity.adv_estimates(volume)
    assert mean.value == pytest.approx((300 + 300 + 100) / 3)
    assert median.value == pytest.approx(300.0)
    assert mean.observations == 3
    assert mean.stderr == pytest.approx(np.std([300, 300, 100], ddof=1) / math.sqrt(3))
    with pytest.raises(ValueError, match="no volume"):
        liquidity.adv_estimates(np.zeros((3, 4)))


def test_profile_is_normalised_median_with_a_band():
    rng = np.random.default_rng(1)
    shape = np.array([4.0, 1.0, 1.0, 4.0])
    volume = shape * rng.lognormal(0, 0.3, (200, 4))
    prof = liquidity.volume_profile(volume)
    assert prof.share.sum() == pytest.approx(1.0)
    assert np.all(prof.low <= prof.share) and np.all(prof.share <= prof.high)
    assert prof.share == pytest.approx(shape / shape.sum(), rel=0.05)
    assert prof.days == 200
    assert prof.bucketed(2) == pytest.approx([0.5, 0.5], rel=0.05)


def test_roll_recovers_a_bid_ask_bounce():
    rng = np.random.default_rng(2)
    spread = 0.04
    mid = 50 + np.cumsum(rng.standard_normal((20, 390)) * 0.005, axis=1)
    price = mid + spread / 2 * rng.choice([-1.0, 1.0], size=mid.shape)
    roll, cov = liquidity.roll_spread(price)
    assert cov < 0
    assert roll == pytest.approx(spread, rel=0.05)
    trending = np.cumsum(np.ones((2, 50)), axis=1)  # no reversal: Roll is undefined
    assert math.isnan(liquidity.roll_spread(trending)[0])


def test_corwin_schultz_hand_case():
    # two bars with the same range ln(H/L) = x and the same prices: alpha = x exactly, S = 2(e^x-1)/(1+e^x)
    x = 0.01
    high = np.full((1, 2), 100 * math.exp(x))
    low = np.full((1, 2), 100.0)
    s, pairs = liquidity.corwin_schultz_spread(high, low)
    assert pairs == 1
    assert s == pytest.approx(2 * (math.exp(x) - 1) / (1 + math.exp(x)), rel=1e-12)


def test_spread_source_is_said():
    quotes = pd.DataFrame({"spread": [0.02, 0.04], "quotes": [10, 30]})
    e = liquidity.spread_estimate(quotes, None, None, None, 100.0)
    assert e.value == pytest.approx(0.03) and "quotes" in e.method and not e.fallback
    high = np.full((3, 10), 100.5)
    low = np.full((3, 10), 99.5)
    close = np.full((3, 10), 100.0)
    e = liquidity.spread_estimate(pd.DataFrame(), close, high, low, 100.0)
    assert "Corwin" in e.method and e.fallback and e.warnings and e.value > 0


def test_sample_profile_recovers_the_planted_u_shape(calibrations):
    from optexec.store import sample

    planted = np.asarray(sample.planted_params()["volume_profile"])
    for cal in calibrations.values():
        got = cal.volume_profile
        # 30-minute buckets of the median profile within 10% of the planted profile (measured: under 5%)
        assert got.bucketed(30) == pytest.approx(planted.reshape(13, 30).sum(axis=1), rel=0.10)
        assert got.bucketed(30)[0] > 1.5 * got.bucketed(30)[6] < got.bucketed(30)[-1]
