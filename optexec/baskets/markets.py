"""Each basket order's market and size in shares (issue 15, items 1 and 3).

The market of a symbol comes from optexec.market_source (the store's latest accepted calibration, or the bundled
sample's planted parameters), with the basket's market columns over it; a symbol the store has no parameters for
needs price, sigma, spread and adv in its row (eta and gamma then default to the Almgren–Chriss rules of thumb,
docs/MATH.md section 7, and the source says so).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from optexec.baskets.input import MARKET_COLUMNS, Basket, BasketError, BasketRow, RowProblem
from optexec.models import MAX_ORDER_SHARES, MarketParams

_COLUMN_OF = {field_name: column for column, (field_name, _) in MARKET_COLUMNS.items()}


@dataclass(frozen=True)
class OrderMarket:
    """One basket order resolved: its row, shares, market and where the market comes from."""

    row: BasketRow
    shares: float
    market: MarketParams
    source: str

    @property
    def notional_usd(self) -> float:
        return self.shares * self.market.price_usd


def _row_market(con, row: BasketRow) -> tuple[MarketParams, str]:
    from optexec.market_source import symbol_params

    overrides = row.market_overrides
    given = ", ".join(f"{_COLUMN_OF[k]} {v:g}" for k, v in overrides.items())
    try:
        params = symbol_params(con, row.symbol) if con is not None else None
    except ValueError:
        params = None
    if params is not None:
        source = params.source + (f" From the basket over them: {given}." if given else "")
        return dataclasses.replace(params.market, **overrides), source
    missing = [_COLUMN_OF[f] for f in ("price_usd", "sigma_usd_per_sqrt_day", "spread_usd", "adv_shares")
               if f not in overrides]  # fmt: skip
    if missing:
        raise ValueError(f"no parameters for {row.symbol} in the store: calibrate it, or give {', '.join(missing)}")
    thumb = MarketParams.from_rules_of_thumb(
        overrides["price_usd"], overrides["sigma_usd_per_sqrt_day"], overrides["spread_usd"], overrides["adv_shares"]
    )
    market = dataclasses.replace(thumb, **overrides)
    defaulted = [w for f, w in (("eta_usd_day_per_share2", "η = spread/(1% ADV)"),
                                ("gamma_usd_per_share2", "γ = spread/(10% ADV)")) if f not in overrides]  # fmt: skip
    source = f"Parameters of {row.symbol}: from the basket ({given})."
    if defaulted:
        source += f" Impact from the Almgren–Chriss rules of thumb: {', '.join(defaulted)}."
    return market, source


def resolve(basket: Basket, con=None) -> list[OrderMarket]:
    """Every order's market and shares (``notional_usd`` / price, ``pct_adv`` / 100 x ADV); BasketError listing each
    row whose market or size cannot be had."""
    resolved, problems = [], []
    for row in basket.rows:
        try:
            market, source = _row_market(con, row)
        except ValueError as error:
            problems.append(RowProblem(row.line, "symbol", str(error)))
            continue
        if row.size_column == "shares":
            shares = row.size_value
        elif row.size_column == "notional_usd":
            shares = row.size_value / market.price_usd
        else:
            shares = row.size_value / 100.0 * market.adv_shares
        if not 0 < shares <= MAX_ORDER_SHARES:
            problems.append(
                RowProblem(
                    row.line,
                    row.size_column,
                    f"the order is {shares:.3g} shares; it must be above 0 and at most {MAX_ORDER_SHARES:g}",
                )
            )
            continue
        resolved.append(OrderMarket(row, shares, market, source))
    if problems:
        raise BasketError(problems)
    return resolved
