"""Basket pre-trade for PMs (issue 15): a list of orders, their costs, their joint risk and the multi-asset
Almgren–Chriss schedule that trades them together (docs/MATH.md section 10)."""

from optexec.baskets.correlation import Correlation, from_file, from_store
from optexec.baskets.input import Basket, BasketError, RowProblem, parse_basket
from optexec.baskets.plan import BasketPlan, frontier, plan_basket, plan_orders

__all__ = [
    "Basket",
    "BasketError",
    "BasketPlan",
    "Correlation",
    "RowProblem",
    "from_file",
    "from_store",
    "frontier",
    "parse_basket",
    "plan_basket",
    "plan_orders",
]
