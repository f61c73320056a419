"""Post-trade: realised against expected slippage per order, and the weekly recalibration (docs/MATH.md 0 and 8).

Implementation shortfall (Perold 1988, docs/MATH.md section 8) of an order with side s (+1 buy, -1 sell),
decision price P_d, arrival price P_a, fills (q_i, p_i) summing to Q_f, intended size Q and horizon price P_end:

    delay = s Q_f (P_a - P_d);  trading = s sum q_i (p_i - P_a);  opportunity = s (Q - Q_f)(P_end - P_d)
    IS = delay + trading + opportunity + fees;  bps = IS / (Q P_d) 1e4

The store keeps one price per order (``arrival_price``), used as both P_d and P_a (the delay is then 0);
without it, the open of the first bar at or after the order's start. P_end is the last bar close at or
before the order's end. The recalibration (project brief, docs/MATH.md section 0) is, week by week,
lambda_new = lambda_old clip(sum realised / sum expected, 0.5, 2), applied to the temporary impact eta.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optexec.models import check_finite
from optexec.store.connections import fetch

CLIP_LOW, CLIP_HIGH = 0.5, 2.0


ORDERS_SQL = """
WITH o AS (SELECT * FROM orders WHERE symbol = $symbol),
f AS (SELECT order_id, sum(qty) AS filled, sum(qty * price) AS notional, count(*) AS fills
      FROM fills WHERE symbol = $symbol GROUP BY order_id),
p0 AS (SELECT o.order_id, arg_min(b.open, b.ts) AS first_open
       FROM o JOIN bars b ON b.symbol = o.symbol AND b.ts >= o.start_ts AND b.ts < o.end_ts GROUP BY o.order_id),
p1 AS (SELECT o.order_id, arg_max(b.close, b.ts) AS end_close
       FROM o JOIN bars b ON b.symbol = o.symbol AND b.ts < o.end_ts AND b.ts >= o.start_ts - INTERVAL 5 DAY
       GROUP BY o.order_id)
SELECT o.order_id, o.side, o.shares, o.start_ts, o.end_ts, o.strategy, o.expected_cost_usd,
       coalesce(o.arrival_price, p0.first_open) AS arrival_price, coalesce(f.filled, 0) AS filled,
       coalesce(f.notional, 0) AS notional, coalesce(f.fills, 0) AS fills, p1.end_close
FROM o LEFT JOIN f USING (order_id) LEFT JOIN p0 USING (order_id) LEFT JOIN p1 USING (order_id)
ORDER BY o.end_ts, o.order_id
"""


def symbols_with_orders(con) -> list[str]:
    """The symbols with past orders in the store, sorted (the Post-trade page's choice)."""
    return [row[0] for row in fetch(con, "SELECT DISTINCT symbol FROM orders ORDER BY symbol")]


def order_slippage(con, symbol: str) -> pd.DataFrame:
    """One row per past order of ``symbol``: fills, realised IS and its parts, expected cost, ratio."""
    frame = fetch(con, ORDERS_SQL, {"symbol": symbol}, how="df")
    rows = []
    for r in frame.itertuples(index=False):
        s = 1.0 if r.side == "buy" else -1.0
        arrival = float(r.arrival_price) if pd.notna(r.arrival_price) else float("nan")
        end = float(r.end_close) if pd.notna(r.end_close) else arrival
        filled = float(r.filled)
        avg = float(r.notional) / filled if filled else float("nan")
        if not arrival > 0:
            continue
        trading = s * (float(r.notional) - filled * arrival)  # = s sum q_i (p_i - P_a)
        opportunity = s * (float(r.shares) - filled) * (end - arrival)
        total = trading + opportunity
        expected = float(r.expected_cost_usd) if pd.notna(r.expected_cost_usd) else float("nan")
        rows.append(
            {
                "order_id": r.order_id,
                "side": r.side,
                "shares": float(r.shares),
                "filled_shares": filled,
                "fills": int(r.fills),
                "start_ts": r.start_ts,
                "end_ts": r.end_ts,
                "strategy": r.strategy,
                "arrival_price": arrival,
                "average_fill_price": avg,
                "end_price": end,
                "delay_usd": 0.0,
                "trading_usd": trading,
                "opportunity_usd": opportunity,
                "fees_usd": 0.0,
                "realised_cost_usd": total,
                "realised_cost_bps": total / (float(r.shares) * arrival) * 1e4,
                "expected_cost_usd": expected,
                "expected_cost_bps": expected / (float(r.shares) * arrival) * 1e4,
                "ratio": total / expected if expected and expected > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def weekly_recalibration(orders: pd.DataFrame, start_value: float) -> pd.DataFrame:
    """lambda_new = lambda_old clip(realised / expected, 0.5, 2), one step per calendar week of order ends.

    ``orders`` is ``order_slippage``'s frame; a week's ratio is its total realised over total expected
    cost (orders without an expected cost are left out). Returns one row per week with the value before
    and after the update.
    """
    start_value = check_finite("starting value", start_value)
    if len(orders):
        orders = orders[np.isfinite(orders["expected_cost_usd"]) & (orders["expected_cost_usd"] > 0)]
    usable = orders
    if len(usable) == 0:
        return pd.DataFrame(
            columns=["week", "orders", "realised_usd", "expected_usd", "ratio", "factor", "before", "after"]
        )
    week = pd.to_datetime(usable["end_ts"]).dt.to_period("W-SUN").dt.start_time
    grouped = usable.assign(week=week).groupby("week", sort=True)
    rows, value = [], start_value
    for wk, g in grouped:
        realised, expected = float(g["realised_cost_usd"].sum()), float(g["expected_cost_usd"].sum())
        ratio = realised / expected
        factor = min(max(ratio, CLIP_LOW), CLIP_HIGH) if math.isfinite(ratio) else 1.0
        rows.append(
            {
                "week": wk.date(),
                "orders": len(g),
                "realised_usd": realised,
                "expected_usd": expected,
                "ratio": ratio,
                "factor": factor,
                "before": value,
                "after": value * factor,
            }
        )
        value *= factor
    return pd.DataFrame(rows)
