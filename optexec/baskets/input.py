"""A basket: one row per order, read from CSV, Parquet or a DataFrame and checked cell by cell (issue 15, item 1).

Columns (names are case-insensitive):

* ``symbol``, ``side`` (buy / sell): required;
* exactly one of ``shares``, ``notional_usd`` ($ at the arrival price) or ``pct_adv`` (percent of the average daily
  volume, 5 = 5%) per row;
* ``horizon_days`` (optional, per order; empty = the basket's horizon), ``strategy`` (optional: a registry strategy
  for the basket's "per order" schedule);
* a grouping column (optional): ``group``, ``sector`` or ``account`` (the first one present, or the one named);
* market columns over the store's parameters, in ``plan``'s names and units: ``price`` ($), ``sigma``
  ($/share/sqrt(day)), ``spread`` (full bid-ask, $), ``adv`` (shares/day), ``eta`` ($/share per share/day),
  ``gamma`` ($/share per share).

Every bad cell is reported with its line (CSV: the file's line, the header being line 1; a table: its row number,
first order = row 1), column and reason; nothing is priced until the basket is valid, unless the caller asks to drop
the bad rows (they are then listed in ``Basket.dropped``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optexec.models import MAX_HORIZON_DAYS, MIN_HORIZON_DAYS

SIZE_COLUMNS = ("shares", "notional_usd", "pct_adv")
GROUP_COLUMNS = ("group", "sector", "account")
#: market columns and the MarketParams field each one overrides, with its lowest allowed value and whether it must
#: be above it (> rather than >=)
MARKET_COLUMNS: dict[str, tuple[str, bool]] = {
    "price": ("price_usd", True),
    "sigma": ("sigma_usd_per_sqrt_day", False),
    "spread": ("spread_usd", False),
    "adv": ("adv_shares", True),
    "eta": ("eta_usd_day_per_share2", True),
    "gamma": ("gamma_usd_per_share2", False),
}
KNOWN_COLUMNS = ("symbol", "side", *SIZE_COLUMNS, "horizon_days", "strategy", *GROUP_COLUMNS, *MARKET_COLUMNS)


@dataclass(frozen=True)
class RowProblem:
    """One bad cell (or row, or the header): where it is and why, in plain words."""

    line: int
    column: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.reason}"


class BasketError(ValueError):
    """A basket that cannot be priced: every problem found, each with its line, column and reason."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f"; and {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        super().__init__(f"the basket has {len(self.problems)} problem(s): {shown}{more}")


@dataclass(frozen=True)
class BasketRow:
    """One order of the basket as typed: its size in the unit given, the rest optional.

    size_column : "shares", "notional_usd" or "pct_adv"; size_value its number. market_overrides : MarketParams
    field -> value from the basket's market columns.
    """

    line: int
    symbol: str
    side: str
    size_column: str
    size_value: float
    horizon_days: float | None = None
    strategy: str | None = None
    group: str | None = None
    market_overrides: dict[str, float] = field(default_factory=dict)

    @property
    def side_sign(self) -> int:
        return 1 if self.side == "buy" else -1


@dataclass(frozen=True)
class Basket:
    """A valid basket: its rows, the grouping column used, warnings, and the rows dropped (when asked)."""

    rows: tuple[BasketRow, ...]
    group_column: str | None = None
    warnings: tuple[str, ...] = ()
    dropped: tuple[RowProblem, ...] = ()

    @property
    def symbols(self) -> list[str]:
        return [r.symbol for r in self.rows]


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_table(source: str | Path | bytes | pd.DataFrame, name: str | None = None) -> tuple[pd.DataFrame, int]:
    """The basket's cells as text (a DataFrame of str) and the line number of its first order (CSV: 2; a table or
    Parquet file: 1). ``source`` is a path, the bytes of an upload (``name`` says whether it is .parquet) or a
    DataFrame."""
    if isinstance(source, pd.DataFrame):
        return source.astype(object).where(source.notna(), "").astype(str), 1
    is_parquet = str(name if name is not None else source).lower().endswith((".parquet", ".pq"))
    raw: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        if is_parquet:
            frame = pd.read_parquet(raw)
            return frame.astype(object).where(frame.notna(), "").astype(str), 1
        return pd.read_csv(raw, dtype=str, keep_default_na=False, skipinitialspace=True), 2
    except FileNotFoundError:
        raise ValueError(f"no basket file at {source}") from None
    except (ValueError, OSError, pd.errors.ParserError) as error:
        kind = "Parquet" if is_parquet else "CSV"
        raise ValueError(f"cannot read the basket as {kind}: {str(error).splitlines()[0]}") from None


def parse_basket(
    source: str | Path | bytes | pd.DataFrame,
    name: str | None = None,
    group_column: str | None = None,
    drop_bad_rows: bool = False,
) -> Basket:
    """The basket of a file, an upload or a table, every cell checked (module docstring).

    Raises BasketError listing every problem (line, column, reason), or, with ``drop_bad_rows``, keeps the good
    rows and lists the bad ones in ``Basket.dropped`` (a problem of the header is never dropped).
    """
    frame, first_line = read_table(source, name)
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    header: list[RowProblem] = []
    warnings: list[str] = []
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    for column in duplicated:
        header.append(RowProblem(first_line - 1, column, "the column appears more than once"))
    for column in ("symbol", "side"):
        if column not in frame.columns:
            header.append(RowProblem(first_line - 1, column, "missing column"))
    if not any(c in frame.columns for c in SIZE_COLUMNS):
        header.append(RowProblem(first_line - 1, "shares", "missing column: give shares, notional_usd or pct_adv"))
    if group_column is not None:
        group_column = group_column.strip().lower()
        if group_column not in frame.columns:
            header.append(RowProblem(first_line - 1, group_column, "the grouping column is not in the basket"))
    else:
        group_column = next((c for c in GROUP_COLUMNS if c in frame.columns), None)
    unused = [c for c in frame.columns if c not in KNOWN_COLUMNS and c != group_column]
    if unused:
        warnings.append(f"column(s) not used: {', '.join(unused)}")
    if header:
        raise BasketError(header)
    if frame.empty:
        raise BasketError([RowProblem(first_line, "symbol", "the basket has no orders")])
    from optexec.strategies import registry

    rows: list[BasketRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for position, record in enumerate(frame.to_dict("records")):
        line = first_line + position
        cells = {k: str(v).strip() for k, v in record.items()}
        if not any(cells.values()):
            problems.append(RowProblem(line, "symbol", "the row is empty"))
            continue
        found: list[RowProblem] = []
        symbol = cells.get("symbol", "")
        if not symbol:
            found.append(RowProblem(line, "symbol", "missing symbol"))
        elif symbol in seen:
            found.append(RowProblem(line, "symbol", f"{symbol} is already on line {seen[symbol]}: one order per name"))
        side = cells.get("side", "").lower()
        if side not in ("buy", "sell"):
            found.append(RowProblem(line, "side", f"side must be buy or sell, got {cells.get('side', '')!r}"))
        given = [c for c in SIZE_COLUMNS if cells.get(c)]
        size_column, size_value = "shares", math.nan
        if len(given) != 1:
            found.append(RowProblem(
                line, given[1] if len(given) > 1 else "shares",
                "give exactly one of shares, notional_usd or pct_adv" + (f" (got {', '.join(given)})" if given else ""),
            ))  # fmt: skip
        else:
            size_column = given[0]
            value = _number(cells[size_column])
            if value is None or value <= 0:
                found.append(RowProblem(line, size_column, f"must be a number > 0, got {cells[size_column]!r}"))
            else:
                size_value = value
        horizon = None
        if cells.get("horizon_days"):
            horizon = _number(cells["horizon_days"])
            if horizon is None or not MIN_HORIZON_DAYS <= horizon <= MAX_HORIZON_DAYS:
                found.append(RowProblem(
                    line, "horizon_days",
                    f"must be a number of trading days between {MIN_HORIZON_DAYS:.3g} and {MAX_HORIZON_DAYS:g}, "
                    f"got {cells['horizon_days']!r}",
                ))  # fmt: skip
        strategy = cells.get("strategy") or None
        if strategy is not None and strategy not in registry.STRATEGIES:
            found.append(RowProblem(line, "strategy", f"unknown strategy {strategy!r}"))
        overrides: dict[str, float] = {}
        for column, (field_name, strict) in MARKET_COLUMNS.items():
            if not cells.get(column):
                continue
            value = _number(cells[column])
            if value is None or value < 0 or (strict and value == 0):
                found.append(RowProblem(line, column, f"must be a number {'>' if strict else '>='} 0, got "
                                                      f"{cells[column]!r}"))  # fmt: skip
            else:
                overrides[field_name] = value
        if found:
            problems.extend(found)
            continue
        seen[symbol] = line
        rows.append(BasketRow(line, symbol, side, size_column, size_value, horizon, strategy,
                              cells.get(group_column) or None if group_column else None, overrides))  # fmt: skip
    if problems and not drop_bad_rows:
        raise BasketError(problems)
    if not rows:
        raise BasketError(problems or [RowProblem(first_line, "symbol", "the basket has no orders")])
    if problems:
        lines = sorted({p.line for p in problems})
        warnings.append(f"{len(lines)} bad row(s) dropped (lines {', '.join(map(str, lines))})")
    return Basket(tuple(rows), group_column, tuple(warnings), tuple(problems))
