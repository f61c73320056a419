"""The basket table (every bad cell with its line, column and reason) and the correlation (shrinkage, a user's
matrix) of issue 15."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optexec.baskets import correlation
from optexec.baskets.input import BasketError, parse_basket
from optexec.baskets.markets import resolve

GOOD = """symbol,side,shares,notional_usd,pct_adv,sector,horizon_days,price,sigma,spread,adv
AAA,buy,1000,,,tech,,10,0.2,0.01,1e6
BBB,sell,,50000,,fin,0.5,25,0.5,0.02,2e6
CCC,BUY,,,2.5,fin,,40,0.8,0.02,4e5
"""


def _problems(text: str, **kwargs) -> set[tuple[int, str]]:
    with pytest.raises(BasketError) as caught:
        parse_basket(text.encode(), name="basket.csv", **kwargs)
    return {(p.line, p.column) for p in caught.value.problems}


def test_a_valid_basket_with_every_size_unit_resolves_to_shares():
    basket = parse_basket(GOOD.encode(), name="basket.csv")
    assert basket.symbols == ["AAA", "BBB", "CCC"] and basket.group_column == "sector"
    assert [r.line for r in basket.rows] == [2, 3, 4]
    orders = resolve(basket)
    assert [o.shares for o in orders] == pytest.approx([1000, 50000 / 25, 0.025 * 4e5])
    assert orders[1].row.horizon_days == 0.5 and orders[2].row.side == "buy"
    # eta and gamma not given and no store: the rules of thumb, and the source says so
    assert orders[0].market.eta_usd_day_per_share2 == pytest.approx(0.01 / (0.01 * 1e6))
    assert "rules of thumb" in orders[0].source


def test_every_bad_cell_is_reported_with_its_line_and_column_and_nothing_is_priced():
    text = (
        "symbol,side,shares,notional_usd,horizon_days,price\n"
        "AAA,buy,1000,,,10\n"  # line 2: fine
        "BBB,hold,100,,,10\n"  # line 3: side
        "CCC,sell,,,,10\n"  # line 4: no size
        "DDD,sell,10,500,,10\n"  # line 5: two sizes
        "EEE,buy,-5,,,10\n"  # line 6: negative
        "AAA,sell,10,,,10\n"  # line 7: duplicate symbol
        "FFF,buy,10,,-1,10\n"  # line 8: horizon
        "GGG,buy,10,,,abc\n"  # line 9: price
    )
    assert _problems(text) == {(3, "side"), (4, "shares"), (5, "notional_usd"), (6, "shares"), (7, "symbol"),
                               (8, "horizon_days"), (9, "price")}  # fmt: skip
    basket = parse_basket(text.encode(), name="b.csv", drop_bad_rows=True)
    assert basket.symbols == ["AAA"] and {p.line for p in basket.dropped} == {3, 4, 5, 6, 7, 8, 9}
    assert any("dropped" in w for w in basket.warnings)


def test_missing_columns_unknown_strategy_and_an_empty_basket():
    assert _problems("symbol,shares\nAAA,10\n") == {(1, "side")}
    assert _problems("symbol,side\nAAA,buy\n") == {(1, "shares")}
    assert _problems("symbol,side,shares,strategy\nAAA,buy,10,nope\n") == {(2, "strategy")}
    assert _problems("symbol,side,shares\n") == {(2, "symbol")}
    with pytest.raises(ValueError, match="no basket file"):
        parse_basket("/nonexistent/basket.csv")


def test_a_table_and_parquet_number_rows_from_one(tmp_path):
    frame = pd.DataFrame({"symbol": ["AAA", "BBB"], "side": ["buy", "sideways"], "shares": [10.0, 20.0]})
    with pytest.raises(BasketError) as caught:
        parse_basket(frame)
    assert [(p.line, p.column) for p in caught.value.problems] == [(2, "side")]
    path = tmp_path / "b.parquet"
    frame.assign(side=["buy", "sell"]).to_parquet(path)
    assert parse_basket(path).symbols == ["AAA", "BBB"]


def test_a_symbol_without_parameters_names_the_missing_columns():
    basket = parse_basket(b"symbol,side,shares,price\nZZZ,buy,10,5\n", name="b.csv")
    with pytest.raises(BasketError, match="give sigma, spread, adv"):
        resolve(basket)


def _returns(days: int, rho: float, m: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(days, 1))
    own = rng.normal(size=(days, m))
    values = 0.01 * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own)
    return pd.DataFrame(values, columns=[f"S{i}" for i in range(m)])


def test_shrinkage_keeps_a_long_history_and_pulls_a_short_one_to_the_average():
    long_matrix, common, delta, target, step = correlation.shrunk_correlation(_returns(2000, 0.5))
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(long_matrix[off] - 0.5) < 0.06) and delta[off].max() < 0.5 and step == 0
    assert np.all(common[off] == 1999 + 1)
    short = _returns(6, 0.5, m=8, seed=1)
    matrix, _, delta, target, _ = correlation.shrunk_correlation(short)
    sample = short.corr().to_numpy()
    off = ~np.eye(8, dtype=bool)
    assert delta[off].min() > 0.5  # 6 returns: mostly the target
    assert np.abs(matrix[off] - target).max() < np.abs(sample[off] - target).max()
    assert np.linalg.eigvalsh(matrix)[0] >= correlation.MIN_EIGENVALUE * (1 - 1e-9)


def test_pairwise_gaps_that_break_positive_definiteness_are_repaired_towards_the_target_and_said():
    # three names observed on different days: the pairwise correlations (+1, +1, -1) are no correlation matrix
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=300), rng.normal(size=300)
    frame = pd.DataFrame(np.nan, index=range(900), columns=["A", "B", "C"])
    frame.loc[0:299, "A"], frame.loc[0:299, "B"] = a, a + 1e-3 * b
    frame.loc[300:599, "B"], frame.loc[300:599, "C"] = a, a + 1e-3 * b
    frame.loc[600:899, "A"], frame.loc[600:899, "C"] = a, -a
    matrix, common, delta, target, step = correlation.shrunk_correlation(frame)
    assert step > 0 and np.linalg.eigvalsh(matrix)[0] >= correlation.MIN_EIGENVALUE * (1 - 1e-9)
    assert common[0, 1] == 300 and common[0, 2] == 300


def test_a_users_matrix_is_checked_not_repaired(tmp_path):
    path = tmp_path / "corr.csv"
    pd.DataFrame([[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]], index=["A", "B", "X"],
                 columns=["A", "B", "X"]).to_csv(path)  # fmt: skip
    picked = correlation.from_file(path, ["B", "A"])
    np.testing.assert_allclose(picked.matrix, [[1, 0.5], [0.5, 1]])
    assert "not in the basket" in picked.notes[0]
    with pytest.raises(ValueError, match="no row or column for C"):
        correlation.from_file(path, ["A", "C"])
    pd.DataFrame([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], index=list("ABC"),
                 columns=list("ABC")).to_csv(path)  # fmt: skip
    with pytest.raises(ValueError, match="not positive semi-definite"):
        correlation.from_file(path, ["A", "B", "C"])
    pd.DataFrame([[1, 0.2], [0.3, 1]], index=list("AB"), columns=list("AB")).to_csv(path)
    with pytest.raises(ValueError, match="not symmetric"):
        correlation.from_file(path, ["A", "B"])
    pd.DataFrame([[1, 1.2], [1.2, 1]], index=list("AB"), columns=list("AB")).to_csv(path)
    with pytest.raises(ValueError, match=r"outside \[-1, 1\]"):
        correlation.from_file(path, ["A", "B"])
