"""The bundled synthetic sample: building the database from its files and its planted parameters.

The files are package data (``optexec/sample_data``, read through ``importlib.resources``), so an installed
package finds them as a checkout does.

A database built from the sample records what it was built from: a stamp file beside it (``<db>.sample.json``:
the SHA-256 of the sample files and of planted_params.json). ``refresh_if_stale`` compares the stamp with the
bundled files when such a database is opened: when they differ (the sample was regenerated, or the database
predates the stamp) a database holding only the sample's symbols is rebuilt, the old file kept beside it under a
``.stale-<time>`` name; one that also holds other symbols is kept and the message says so. Either way it is said
(``db.notices`` and stderr), never used silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from optexec.models import MarketParams, ParameterSource
from optexec.store.connections import open_database
from optexec.store.queries import list_symbols

#: load order of the sample files (instruments first, so their time zones are known)
SAMPLE_TABLES = ("instruments", "bars", "quotes", "trades", "orders", "fills")
#: the bundled sample's folder (package data); a real folder for a normal install or a checkout
DATA_DIR = Path(str(resources.files("optexec") / "sample_data"))
PLANTED_FILE = DATA_DIR / "planted_params.json"


def sample_files(data_dir: str | Path = DATA_DIR) -> dict[str, Path]:
    """The sample's Parquet files by table (sample_data/sample_<table>.parquet)."""
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
    others = sorted(set(list_symbols(con)) - set(sample_symbols()))
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise ValueError(
            f"the database already holds other data ({shown}); the bundled sample is not loaded beside it. "
            "Use a new database (--db PATH) for the sample"
        )
    return load_sample(con, data_dir)


#: (database, sample digest) -> the message for a stale database kept because it holds the user's data
_kept: dict[tuple[str, str], str] = {}


def stamp_path(path: str | Path) -> Path:
    """The stamp file of a sample database: what it was built from."""
    path = Path(path)
    return path.with_name(f"{path.name}.sample.json")


@lru_cache(maxsize=8)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sample_digest(data_dir: str | Path = DATA_DIR) -> str:
    """SHA-256 over the sample's files and planted parameters (names and contents, in load order)."""
    data_dir = Path(data_dir)
    total = hashlib.sha256()
    for file in [*sample_files(data_dir).values(), data_dir / PLANTED_FILE.name]:
        info = file.stat()
        total.update(f"{file.name}:{_file_digest(str(file), info.st_mtime_ns, info.st_size)}\n".encode())
    return total.hexdigest()


def _write_stamp(path: Path, digest: str) -> None:
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stamp_path(path).write_text(json.dumps({"sample_sha256": digest, "built_utc": built}) + "\n")


def built_from(path: str | Path) -> str | None:
    """The sample digest a database was built from (None: no stamp, e.g. built before stamps existed)."""
    try:
        return json.loads(stamp_path(path).read_text())["sample_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def refresh_if_stale(path: str | Path, data_dir: str | Path | None = None) -> str | None:
    """Rebuild the sample database ``path`` when the bundled files changed since it was built (module docstring).

    Returns what was done, in words (None when the database is current). A database that also holds symbols other
    than the sample's is kept as it is (the user's data are never moved), and the message says how to rebuild.
    """
    path = Path(path)
    data_dir = DATA_DIR if data_dir is None else data_dir  # read at call time: the module's data folder
    current = sample_digest(data_dir)
    recorded = built_from(path)
    if recorded == current:
        return None
    kept = _kept.get((str(path), current))
    if kept is not None:  # already found holding the user's data: not opened again on every connection
        return kept
    why = (
        "was built before sample databases recorded what they were built from"
        if recorded is None
        else f"was built from other sample files (sha256 {recorded[:12]}…; the bundled files are {current[:12]}…)"
    )
    try:
        con = open_database(path, read_only=True)
        try:
            symbols = [r[0] for r in con.execute("SELECT DISTINCT symbol FROM instruments").fetchall()]
        finally:
            con.close()
    except Exception as error:  # noqa: BLE001 - busy or unreadable: say so, use it as it is
        return f"the sample database {path.name} {why}; it could not be checked ({type(error).__name__}): used as it is"
    others = sorted(set(symbols) - set(sample_symbols()))
    if others:
        kept = _kept[(str(path), current)] = (
            f"the sample database {path.name} {why}, and it also holds your data ({', '.join(others[:5])}"
            f"{' …' if len(others) > 5 else ''}): kept as it is, so the sample symbols' data in it are the old ones. "
            "To use the new sample, load it into a new database (`python -m optexec --db NEW.duckdb db init --sample`)"
        )
        return kept
    aside = path.with_name(f"{path.name}.stale-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:  # another process moved it first and rebuilds it
        return None
    wal = Path(f"{path}.wal")
    if wal.exists():
        os.replace(wal, Path(f"{aside}.wal"))
    build_sample_database(path, data_dir)
    rebuilt = "rebuilt from the bundled sample files"
    return f"the sample database {path.name} {why}: {rebuilt} (the old file is kept as {aside.name})"


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
        _write_stamp(path, sample_digest(data_dir))
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    return path


@lru_cache(maxsize=4)
def planted_params(path: str | Path = PLANTED_FILE) -> dict:
    """The planted parameters of the sample (sample_data/planted_params.json)."""
    return json.loads(Path(path).read_text())


def sample_symbols() -> list[str]:
    """The synthetic symbols of the bundled sample."""
    return list(planted_params()["symbols"])


def planted_market_params(symbol: str) -> MarketParams:
    """The true parameters of a bundled synthetic symbol as MarketParams (AC units, docs/MATH.md section 2), each with
    its source ("planted by the sample generator").

    price = the planted starting price, sigma in $/share/sqrt(day) at that price, spread = the mean quoted spread of
    the generated quotes, ADV = the planted mean daily volume, eta/gamma the planted linear temporary/permanent
    impact, the planted U-shaped per-minute volume profile, the planted power law as the market model's
    Y sigma (n / v)^p (Y = eta v_ref (ADV / v_ref)^p / sigma, v_ref the planted reference rate: the generator's
    eta v_ref (v / v_ref)^p against the average daily rate, optexec.calibration.market_model) and the planted
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
    source = f"planted by the sample generator for {symbol} (optexec/sample_data/planted_params.json)"
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
