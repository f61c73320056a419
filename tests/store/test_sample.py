"""The bundled synthetic sample: generator properties, planted parameters, the built database."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from optexec.models import MarketParams, u_shaped_volume_profile
from optexec.store import db, sample, synthetic


@pytest.fixture(scope="module")
def generated():
    return synthetic.generate()


def test_generator_is_deterministic_and_matches_bundled_files(generated):
    frames, planted = generated
    again, _ = synthetic.generate()
    for name, frame in frames.items():
        assert frame.equals(again[name]), name
    for name, frame in frames.items():  # the bundled folder holds exactly what the generator makes
        stored = pd.read_parquet(sample.sample_files()[name])
        written = synthetic.as_written(name, frame).reset_index(drop=True)
        pd.testing.assert_frame_equal(written, stored, check_dtype=False)
    bundled = sample.planted_params()
    assert bundled["symbols"].keys() == planted["symbols"].keys()
    for symbol, params in planted["symbols"].items():
        assert bundled["symbols"][symbol] == pytest.approx(json.loads(json.dumps(params)))


def test_symbols_are_labelled_synthetic(generated):
    frames, planted = generated
    assert 3 <= len(planted["symbols"]) <= 5
    assert all(s.startswith("SYN-") for s in planted["symbols"])
    assert all("not a real security" in name for name in frames["instruments"]["name"])


def test_sixty_days_of_minute_bars_with_u_shaped_volume(generated):
    frames, planted = generated
    bars = frames["bars"]
    assert len(planted["trading_days"]) >= 60
    for _, group in bars.groupby("symbol"):
        volume = group["volume"].to_numpy().reshape(len(planted["trading_days"]), 390)
        profile = (volume / volume.sum(axis=1, keepdims=True)).mean(axis=0)
        planted_profile = np.asarray(planted["volume_profile"])
        assert np.corrcoef(profile, planted_profile)[0, 1] > 0.9
        assert profile[:15].mean() > 1.5 * profile[180:210].mean() < profile[-15:].mean()
        prices = group[["open", "high", "low", "close"]].to_numpy()
        assert (prices > 0).all() and (group["high"] >= group[["open", "close"]].max(axis=1)).all()


def test_spread_and_volume_match_planted_values(generated):
    frames, planted = generated
    quotes = frames["quotes"]
    for symbol, p in planted["symbols"].items():
        q = quotes[quotes.symbol == symbol]
        spread = (q.ask - q.bid).to_numpy()
        assert (spread > 0).all()
        assert spread.mean() == pytest.approx(p["spread_target_usd"], rel=0.1)
        assert p["realised_adv_shares"] == pytest.approx(p["adv_shares"], rel=0.1)


def test_trade_prints_carry_the_planted_flow(generated):
    """Prints sum to the bar volume; buyers pay the ask side; net flow moves the price (gamma > 0)."""
    frames, planted = generated
    trades, bars = frames["trades"], frames["bars"]
    for symbol in planted["symbols"]:
        t = trades[trades.symbol == symbol]
        b = bars[bars.symbol == symbol]
        assert t["size"].sum() == pytest.approx(b["volume"].sum())
        minute = t["ts"].dt.floor("min")
        signed = (t["size"] * np.where(t["side"] == "buy", 1, -1)).groupby(minute).sum()
        flow = signed.reindex(b["ts"], fill_value=0).to_numpy()
        change = b["close"].to_numpy() - b["open"].to_numpy()
        slope = np.polyfit(flow, change, 1)[0]
        p = planted["symbols"][symbol]
        assert slope > 0.5 * p["gamma_usd_per_share2"]  # permanent + temporary + transient push the same way


def test_fills_and_orders_are_consistent(generated):
    frames, _ = generated
    fills, orders = frames["fills"], frames["orders"]
    assert len(orders) >= 3
    totals = fills.groupby("order_id")["qty"].sum()
    for _, order in orders.iterrows():
        assert totals[order.order_id] == order.shares
        f = fills[fills.order_id == order.order_id]
        assert (f.ts >= order.start_ts).all() and (f.ts <= order.end_ts).all()


def test_planted_market_params():
    for symbol in sample.sample_symbols():
        params = sample.planted_market_params(symbol)
        assert isinstance(params, MarketParams)
        p = sample.planted_params()["symbols"][symbol]
        assert params.eta_usd_day_per_share2 == p["eta_usd_day_per_share2"] > 0
        assert params.gamma_usd_per_share2 == p["gamma_usd_per_share2"] > 0
        assert params.sigma_daily_fraction == pytest.approx(p["sigma_daily_fraction"])
        assert params.session_minutes == 390
        assert np.allclose(params.volume_profile, u_shaped_volume_profile(390))
        assert {"transient_decay_per_day", "temporary_exponent", "fast_vol_rate_per_day"} <= p.keys()
    with pytest.raises(ValueError, match="not a bundled sample symbol"):
        sample.planted_market_params("AAPL")


def test_every_sample_order_holds_its_own_fills_in_the_store(sample_db):
    """Loaded, each order's window [start, end) holds all its fills: the orders' times carry their zone (their five
    naive times were read as New York time, and every order started five hours after its own fills)."""
    with db.reading(sample_db) as con:
        rows = con.execute(
            "SELECT o.order_id, count(*) AS fills, count(*) FILTER (WHERE f.ts < o.start_ts OR f.ts >= o.end_ts) "
            "FROM orders o JOIN fills f USING (order_id) GROUP BY o.order_id ORDER BY 1"
        ).fetchall()
    assert len(rows) == 5 and all(fills > 0 and outside == 0 for _, fills, outside in rows), rows


def test_built_database(sample_db):
    con = db.open_database(sample_db, read_only=True)
    try:
        assert db.list_symbols(con) == sorted(sample.sample_symbols())
        tables = db.info(con)["tables"]
        assert tables["bars"]["rows"] == 4 * 62 * 390 and tables["bars"]["symbols"] == 4
        assert tables["trades"]["rows"] > 100_000 and tables["fills"]["rows"] > 0 and tables["orders"]["rows"] == 5
        summary = db.symbol_summary(con)
        assert summary["days"].tolist() == [62] * 4
        assert str(summary["first_bar_local"].iloc[0].time()) == "09:30:00"  # shown in New York time
        bars = db.bars_local(con, "SYN-MID", 2)
        assert len(bars) == 2 * 390 and str(bars["ts_local"].iloc[-1].time()) == "15:59:00"
    finally:
        con.close()


def test_connect_builds_the_sample_on_first_use(tmp_path):
    path = tmp_path / "fresh" / "optexec.duckdb"
    con = db.connect(path, build_sample=True)
    assert path.exists() and len(db.list_symbols(con)) == 4
    assert not list(path.parent.glob(".*building*"))
    db.close_all()


def test_volume_share_query_recovers_the_planted_profile(sample_db):
    from optexec.store.queries import volume_share_by_minute

    con = db.open_database(sample_db, read_only=True)
    try:
        shares = volume_share_by_minute(con, "SYN-LARGE")
        reference = con.execute(
            "SELECT minute_of_day, median(share) FROM (SELECT CAST(t AS DATE) d, hour(t) * 60 + minute(t) AS "
            "minute_of_day, volume / sum(volume) OVER (PARTITION BY CAST(t AS DATE)) AS share FROM (SELECT "
            "timezone('America/New_York', timezone('UTC', ts)) AS t, volume FROM bars WHERE symbol = 'SYN-LARGE')) "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert shares["minute_of_day"].tolist() == list(range(570, 960)) == [r[0] for r in reference]
    assert np.allclose(shares["median_share"], [r[1] for r in reference])
    assert (shares["days"] == 62).all()
    planted = np.asarray(sample.planted_params()["volume_profile"])
    assert np.corrcoef(shares["median_share"], planted)[0, 1] > 0.9


def _copied_sample(tmp_path):
    """The bundled sample files copied into a folder of their own (to change one without touching the repository)."""
    import shutil

    folder = tmp_path / "data"
    folder.mkdir()
    for path in [*sample.sample_files().values(), sample.PLANTED_FILE]:
        shutil.copy(path, folder / path.name)
    return folder


def test_a_sample_database_that_no_longer_matches_data_is_rebuilt_and_said(tmp_path):
    data = _copied_sample(tmp_path)
    path = sample.build_sample_database(tmp_path / "s.duckdb", data)
    assert sample.built_from(path) == sample.sample_digest(data)
    assert sample.refresh_if_stale(path, data) is None  # current: nothing done
    bars = pd.read_parquet(data / "sample_bars.parquet")
    bars = bars[bars["symbol"] != "SYN-SMALL"]  # the sample regenerated without one symbol's bars
    bars.to_parquet(data / "sample_bars.parquet")
    said = sample.refresh_if_stale(path, data)
    assert said.startswith("the sample database s.duckdb was built from other sample files (sha256 ")
    assert ": rebuilt from the bundled sample files (the old file is kept as s.duckdb.stale-" in said
    con = db.open_database(path, read_only=True)
    try:
        symbols = {r[0] for r in con.execute("SELECT DISTINCT symbol FROM bars").fetchall()}
    finally:
        con.close()
    assert "SYN-SMALL" not in symbols and symbols  # the new files' content, not the old database's
    assert sample.built_from(path) == sample.sample_digest(data)
    assert len(list(tmp_path.glob("s.duckdb.stale-*"))) == 1


def test_a_stale_sample_database_holding_the_users_data_is_kept_and_said(tmp_path):
    data = _copied_sample(tmp_path)
    path = sample.build_sample_database(tmp_path / "s.duckdb", data)
    con = db.open_database(path)
    try:
        con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('MINE', 'America/New_York')")
    finally:
        con.close()
    sample.stamp_path(path).unlink()  # as a database built before stamps were written
    said = sample.refresh_if_stale(path, data)
    assert said.startswith("the sample database s.duckdb was built before sample databases recorded")
    assert "it also holds your data (MINE): kept as it is" in said
    assert not list(tmp_path.glob("s.duckdb.stale-*"))
    con = db.open_database(path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM instruments WHERE symbol = 'MINE'").fetchone()[0] == 1
    finally:
        con.close()


def test_opening_a_stale_stamped_database_through_the_store_rebuilds_it_with_a_notice(tmp_path, monkeypatch, capsys):
    data = _copied_sample(tmp_path)
    path = sample.build_sample_database(tmp_path / "s.duckdb", data)
    stamp = sample.stamp_path(path)
    stamp.write_text(stamp.read_text().replace(sample.sample_digest(data), "0" * 64))
    monkeypatch.setattr(sample, "DATA_DIR", data)
    with db.reading(path) as con:
        assert con.execute("SELECT count(*) FROM bars").fetchone()[0] > 0
    assert "rebuilt from the bundled sample files" in capsys.readouterr().err
    assert any("s.duckdb was built from other sample files (sha256 000000000000…" in n for n in db.notices())
