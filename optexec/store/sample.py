"""The bundled synthetic sample: building the database from data/ and its planted parameters."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from optexec.models import MarketParams, ParameterSource
from optexec.store.db import DATA_DIR, open_database

#: load order of the sample files (instruments first, so their time zones are known)
SAMPLE_TABLES = ("instruments", "bars", "quotes", "trades", "orders", "fills")
PLANTED_FILE = DATA_DIR / "planted_params.json"


def sample_files(data_dir: str | Path = DATA_DIR) -> dict[str, Path]:
    """The sample's Parquet files by table (data/sample_<table>.parquet)."""
    data_dir = Path(data_dir)
    files = {t: data_dir / f"sample_{t}.parquet" for t in SAMPLE_TABLES}
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        raise ValueError(
            f"the bundled sample is missing ({', '.join(missing)}); run `python -m optexec.store.synthetic`"
        )
    return files


def load_sample(con, data_dir: str | Path = DATA_DIR) -> dict[str, int]:
    """Load the bundled sample into an open database (validated like any file); rows added per table."""
    from optexec.store.loading import load_file

    added = {}
    for table, path in sample_files(data_dir).items():
        added[table] = load_file(con, path, table=table, format="parquet").rows_loaded
    return added


def init_sample(con, data_dir: str | Path = DATA_DIR) -> dict[str, int]:
    """``db init --sample``: load the bundled sample into ``con``'s database; rows added per table.

    Allowed on an empty database and on one that holds only the bundled sample's symbols (re-running then adds
    only what is missing, usually nothing). Refused (ValueError) when the database holds other symbols: the
    sample's made-up symbols would sit beside the user's real ones.
    """
    from optexec.store.db import list_symbols

    others = sorted(set(list_symbols(con)) - set(sample_symbols()))
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise ValueError(
            f"the database already holds other data ({shown}); the bundled sample is not loaded beside it. "
            "Use a new database (--db PATH) for the sample"
        )
    return load_sample(con, data_dir)


def build_sample_database(path: str | Path, data_dir: str | Path = DATA_DIR) -> Path:
    """Create the database file ``path`` from the bundled sample, atomically.

    The database is built under a temporary name and renamed into place, so a crash (or a second
    process doing the same) never leaves a half-built file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    con = open_database(tmp)
    try:
        load_sample(con, data_dir)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if path.exists():  # another process finished first: keep theirs
        tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    return path


@lru_cache(maxsize=4)
def planted_params(path: str | Path = PLANTED_FILE) -> dict:
    """The planted parameters of the sample (data/planted_params.json)."""
    return json.loads(Path(path).read_text())


def sample_symbols() -> list[str]:
    """The synthetic symbols of the bundled sample."""
    return list(planted_params()["symbols"])


def planted_market_params(symbol: str) -> MarketParams:
    """The true parameters of a bundled synthetic symbol as MarketParams (AC units, MATH.md section 2), each with
    its source ("planted by the sample generator").

    price = the planted starting price, sigma in $/share/sqrt(day) at that price, spread = the mean quoted spread of
    the generated quotes, ADV = the planted mean daily volume, eta/gamma the planted linear temporary/permanent
    impact, the planted U-shaped per-minute volume profile, the planted power law as the market model's
    Y sigma (n / v)^p (Y = eta v_ref (ADV / v_ref)^p / sigma, v_ref the planted reference rate: the generator's
    eta v_ref (v / v_ref)^p against the average daily rate, optexec.calibrate.market_model) and the planted
    transient impact kappa and rho.
    """
    planted = planted_params()
    try:
        p = planted["symbols"][symbol]
    except KeyError:
        known = ", ".join(planted["symbols"])
        raise ValueError(f"{symbol!r} is not a bundled sample symbol (those are: {known})") from None
    exponent, v_ref = p["temporary_exponent"], p["reference_rate_shares_per_day"]
    coefficient = p["eta_usd_day_per_share2"] * v_ref * (p["adv_shares"] / v_ref) ** exponent
    coefficient /= p["sigma_usd_per_sqrt_day"]
    source = f"planted by the sample generator for {symbol} (data/planted_params.json)"
    values = [
        ("price_usd", p["price_usd"], "$/share", source),
        ("sigma_usd_per_sqrt_day", p["sigma_usd_per_sqrt_day"], "$/share/√day", source),
        ("spread_usd", p["realised_mean_spread_usd"], "$/share (full bid–ask spread)", f"{source}: mean quoted"),
        ("adv_shares", p["adv_shares"], "shares/day", source),
        ("eta_usd_day_per_share2", p["eta_usd_day_per_share2"], "$/share per share/day", source),
        ("gamma_usd_per_share2", p["gamma_usd_per_share2"], "$/share per share", source),
        ("power_coefficient", coefficient, "Y, per $/share/√day of σ (dimensionless)", source),
        ("power_exponent", exponent, "dimensionless", source),
        ("transient_strength_usd_per_share2", p["transient_kappa_usd_per_share2"], "$/share per share", source),
        ("transient_decay_per_day", p["transient_decay_per_day"], "1/day", source),
        ("volume_profile", float(len(planted["volume_profile"])), "session minutes", f"{source}: U-shaped"),
    ]
    return MarketParams(
        price_usd=p["price_usd"],
        sigma_usd_per_sqrt_day=p["sigma_usd_per_sqrt_day"],
        spread_usd=p["realised_mean_spread_usd"],
        adv_shares=p["adv_shares"],
        eta_usd_day_per_share2=p["eta_usd_day_per_share2"],
        gamma_usd_per_share2=p["gamma_usd_per_share2"],
        volume_profile=tuple(planted["volume_profile"]),
        power_coefficient=coefficient,
        power_exponent=exponent,
        transient_strength_usd_per_share2=p["transient_kappa_usd_per_share2"],
        transient_decay_per_day=p["transient_decay_per_day"],
        sources=tuple(ParameterSource(name, float(v), unit, None, text) for name, v, unit, text in values),
    )
