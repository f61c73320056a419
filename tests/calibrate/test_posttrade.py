"""Post-trade: realised slippage per order and the weekly recalibration rule (T11 itself: tests/test_shortfall.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from optexec.calibration import posttrade


def frame(weeks_and_costs):
    return pd.DataFrame(
        [{"end_ts": pd.Timestamp(ts), "realised_cost_usd": r, "expected_cost_usd": e} for ts, r, e in weeks_and_costs]
    )


def test_weekly_update_clips_and_chains():
    orders = frame(
        [
            ("2025-01-06 20:00", 300.0, 100.0),  # Monday: ratio 3 -> clipped to 2
            ("2025-01-10 20:00", 0.0, 100.0),  # same week: week ratio 300/200 = 1.5
            ("2025-01-14 20:00", 10.0, 100.0),  # next week: 0.1 -> clipped to 0.5
            ("2025-01-22 20:00", 80.0, 100.0),  # 0.8
        ]
    )
    out = posttrade.weekly_recalibration(orders, 1e-7)
    assert out["orders"].tolist() == [2, 1, 1]
    assert out["factor"].tolist() == pytest.approx([1.5, 0.5, 0.8])
    assert out["after"].iloc[-1] == pytest.approx(1e-7 * 1.5 * 0.5 * 0.8)
    assert out["before"].iloc[1:].tolist() == pytest.approx(out["after"].iloc[:-1].tolist())
    extreme = posttrade.weekly_recalibration(frame([("2025-01-06", 1e9, 1.0), ("2025-01-13", 0.0, 1.0)]), 1.0)
    assert extreme["factor"].tolist() == [2.0, 0.5]


def test_sample_orders_decompose_like_their_fills(sample_con):
    import duckdb  # noqa: F401  (the store's engine)

    orders = posttrade.order_slippage(sample_con, "SYN-LARGE")
    assert orders["order_id"].tolist() == ["SAMPLE-1", "SAMPLE-2"]
    fills = sample_con.execute("SELECT order_id, side, qty, price FROM fills WHERE symbol = 'SYN-LARGE'").df()
    for row in orders.itertuples():
        f = fills[fills["order_id"] == row.order_id]
        sign = 1 if row.side == "buy" else -1
        assert row.filled_shares == pytest.approx(f["qty"].sum()) == pytest.approx(row.shares)
        expected = sign * float((f["qty"] * (f["price"] - row.arrival_price)).sum())
        assert row.trading_usd == pytest.approx(expected)
        assert row.realised_cost_usd == pytest.approx(row.trading_usd + row.opportunity_usd)
        assert row.ratio == pytest.approx(row.realised_cost_usd / row.expected_cost_usd)
