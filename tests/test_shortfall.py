"""Implementation shortfall: docs/MATH.md section 9 T11."""

import pytest

from optexec.shortfall import implementation_shortfall


def test_t11_buy_decomposition():
    result = implementation_shortfall(
        "buy", 10_000, 50.00, 50.05, [3000, 4000, 1000], [50.10, 50.20, 50.30], 50.50, fees_usd=40
    )
    assert result.delay_usd == pytest.approx(400.0, abs=1e-8)
    assert result.trading_usd == pytest.approx(1_000.0, abs=1e-8)
    assert result.opportunity_usd == pytest.approx(1_000.0, abs=1e-8)
    assert result.total_usd == pytest.approx(2_440.0, abs=1e-8)
    assert result.total_bps == pytest.approx(48.8, abs=1e-10)


def test_sell_is_the_mirror_image():
    buy = implementation_shortfall("buy", 100, 10.0, 10.1, [100], [10.2], 10.3)
    sell = implementation_shortfall("sell", 100, 10.0, 9.9, [100], [9.8], 9.7)
    assert sell.total_usd == pytest.approx(buy.total_usd, rel=1e-12) and sell.total_usd > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"side": "hold"}, "side"),
        ({"fill_shares": [200]}, "exceed the order"),
        ({"fill_prices_usd": [-1.0]}, "positive"),
        ({"fill_prices_usd": [1.0, 2.0]}, "one quantity and one price"),
        ({"decision_price_usd": 0.0}, "decision price"),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    arguments = dict(
        side="buy",
        order_shares=100,
        decision_price_usd=10.0,
        arrival_price_usd=10.0,
        fill_shares=[100],
        fill_prices_usd=[10.0],
        end_price_usd=10.0,
    )
    with pytest.raises(ValueError, match=message):
        implementation_shortfall(**{**arguments, **kwargs})
