"""Implementation shortfall of an executed order and its decomposition (Perold 1988; docs/MATH.md section 8)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optexec.models import check_non_negative, check_positive


@dataclass(frozen=True)
class Shortfall:
    """IS = delay + trading + opportunity + fees, in $ (positive = money lost), and in bps of Q x P_d."""

    delay_usd: float
    trading_usd: float
    opportunity_usd: float
    fees_usd: float
    intended_notional_usd: float

    @property
    def total_usd(self) -> float:
        """Implementation shortfall in $."""
        return self.delay_usd + self.trading_usd + self.opportunity_usd + self.fees_usd

    @property
    def total_bps(self) -> float:
        """Implementation shortfall in bps of the intended notional Q x P_d (not the filled notional)."""
        return 1e4 * self.total_usd / self.intended_notional_usd


def implementation_shortfall(
    side: str,
    order_shares: float,
    decision_price_usd: float,
    arrival_price_usd: float,
    fill_shares: np.ndarray,
    fill_prices_usd: np.ndarray,
    end_price_usd: float,
    fees_usd: float = 0.0,
) -> Shortfall:
    """Decompose IS for side s (+1 buy, -1 sell) (docs/MATH.md section 8).

    delay = s Q_f (P_a - P_d); trading = s sum q_i (p_i - P_a); opportunity = s (Q - Q_f)(P_end - P_d).
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    sign = 1.0 if side == "buy" else -1.0
    order_shares = check_positive("order size (shares)", order_shares)
    decision = check_positive("decision price ($)", decision_price_usd)
    arrival = check_positive("arrival price ($)", arrival_price_usd)
    end = check_positive("price at the horizon ($)", end_price_usd)
    fees = check_non_negative("fees ($)", fees_usd)
    quantities = np.asarray(fill_shares, dtype=float)
    prices = np.asarray(fill_prices_usd, dtype=float)
    if quantities.shape != prices.shape:
        raise ValueError("every fill needs one quantity and one price")
    if np.any(quantities <= 0) or np.any(prices <= 0) or not np.all(np.isfinite(quantities * prices)):
        raise ValueError("fill quantities and prices must be positive numbers")
    filled = float(quantities.sum())
    if filled > order_shares * (1 + 1e-12):
        raise ValueError(f"the fills ({filled:,.0f} shares) exceed the order ({order_shares:,.0f} shares)")
    return Shortfall(
        delay_usd=sign * filled * (arrival - decision),
        trading_usd=sign * float(quantities @ (prices - arrival)),
        opportunity_usd=sign * (order_shares - filled) * (end - decision),
        fees_usd=fees,
        intended_notional_usd=order_shares * decision,
    )
