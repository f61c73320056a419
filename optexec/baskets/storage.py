"""Saved baskets: a basket's order table and settings kept in the store under a short id, for a shareable link
(``?basket=ID``, issue 15 item 6).

The id is the first ``ID_LENGTH`` hex digits of the SHA-256 of the canonical JSON of the orders and the settings
(keys sorted, no spaces), so the same basket with the same settings always gets the same id and saving it twice
keeps one row (the first save's time). The settings (``link_settings``) hold everything that moves the numbers: the
page's horizon, slices, risk aversion, dropped rows and extra strategies, the participation limit, and an uploaded
correlation matrix (its file name and CSV text, so that the link prices the basket with the very same matrix; without
one the link uses the store's correlation and says so). The participation limit at its default and a missing matrix
are left out, so that links saved before these settings existed keep their id.

The table is ``baskets`` (optexec.store.schema.BASKETS_DDL, unchanged: the matrix travels in the settings JSON); the
store is opened through optexec.store.db (one connection per process, a cursor per call). Every failure is a
ValueError with a message a trader can act on: ``UnknownBasketError`` for an id the store does not hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re

import pandas as pd

from optexec.constants import DEFAULT_MAX_PARTICIPATION
from optexec.store import db

#: hex digits of the SHA-256 kept as the id (48 bits: a collision needs ~16 million saved baskets)
ID_LENGTH = 12
_ID = re.compile(rf"[0-9a-f]{{{ID_LENGTH}}}")


class UnknownBasketError(ValueError):
    """The store holds no basket under this id."""


@dataclasses.dataclass(frozen=True)
class SavedBasket:
    """A basket read back from the store: its id, when it was first saved (UTC), its order table and settings."""

    basket_id: str
    created_at: dt.datetime
    table: pd.DataFrame
    settings: dict


def link_settings(
    horizon_days: float,
    slices: int,
    risk_aversion_per_usd: float,
    drop_bad_rows: bool,
    extra_strategies: list[str],
    max_participation: float = DEFAULT_MAX_PARTICIPATION,
    correlation: dict | None = None,
) -> dict:
    """The settings saved with a basket (module docstring); ``correlation`` is ``correlation_setting``'s entry."""
    settings = {"horizon_days": float(horizon_days), "slices": int(slices),
                "risk_aversion_per_usd": float(risk_aversion_per_usd), "drop_bad_rows": bool(drop_bad_rows),
                "extra_strategies": list(extra_strategies)}  # fmt: skip
    if float(max_participation) != DEFAULT_MAX_PARTICIPATION:
        settings["max_participation"] = float(max_participation)
    if correlation is not None:
        settings["correlation"] = correlation
    return settings


def correlation_setting(file_name: str, data: bytes) -> dict:
    """An uploaded correlation matrix as the settings entry that travels with the link: its file name and CSV
    text. ValueError when the file is not UTF-8 text (it could not be read as a CSV either)."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"the correlation file {file_name} is not UTF-8 text: save it as a UTF-8 CSV") from None
    return {"file_name": str(file_name), "csv": text}


def saved_correlation(settings: dict) -> tuple[str, bytes] | None:
    """(file name, CSV bytes) of the correlation matrix saved with a basket, or None when it used the store's.
    ValueError when the entry is damaged."""
    entry = settings.get("correlation")
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("csv"), str):
        raise ValueError("the correlation matrix saved with this basket is damaged in the store: save it again")
    return str(entry.get("file_name") or "correlation.csv"), entry["csv"].encode("utf-8")


def _orders_json(table: pd.DataFrame) -> dict:
    """The order table as JSON-ready columns and rows (missing cells as null)."""
    return json.loads(table.to_json(orient="split", index=False))


def _canonical(value: object) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the basket's settings cannot be saved as JSON: {error}") from None


def basket_id(table: pd.DataFrame, settings: dict) -> str:
    """The id ``save_basket`` stores this basket and these settings under (no store needed): the first
    ``ID_LENGTH`` hex digits of the SHA-256 of their canonical JSON."""
    text = _canonical({"orders": _orders_json(table), "settings": settings})
    return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]


def save_basket(table: pd.DataFrame, settings: dict, path: str | os.PathLike | None = None) -> str:
    """Save the order table and settings in the store and return the id (the same basket gives the same id; saving
    it again changes nothing). ValueError, with the reason, when the store cannot be written (read-only, busy)."""
    orders, chosen = _orders_json(table), dict(settings)
    ident = basket_id(table, chosen)
    try:
        with db.writing(path) as con:
            con.execute(
                "INSERT INTO baskets VALUES ($id, $at, $orders, $settings) ON CONFLICT (id) DO NOTHING",
                {"id": ident, "at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "orders": _canonical(orders),
                 "settings": _canonical(chosen)},
            )  # fmt: skip
    except ValueError as error:
        raise ValueError(f"the basket could not be saved in the store for a link: {error}") from None
    except Exception as error:  # a DuckDB error while writing (disk full, a read-only file system)
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"the basket could not be saved in the store for a link: {first}") from None
    return ident


def load_basket(ident: str, path: str | os.PathLike | None = None) -> SavedBasket:
    """The basket saved under ``ident``. UnknownBasketError when the store holds none (or the text is not an id);
    ValueError, with the reason, when the store cannot be read."""
    ident = str(ident).strip().lower()
    if not _ID.fullmatch(ident):
        raise UnknownBasketError(
            f"{ident[:40]!r} is not a basket id (a link names its basket by {ID_LENGTH} hex digits, ?basket=ID); "
            "links that carried the basket itself are no longer read: ask for a new link"
        )
    try:
        with db.reading(path) as con:
            exists = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'baskets' AND NOT temporary"
            ).fetchone()[0]
            row = None
            if exists:
                row = con.execute(
                    "SELECT created_at, orders, settings FROM baskets WHERE id = $id", {"id": ident}
                ).fetchone()
    except ValueError as error:
        raise ValueError(f"the saved basket {ident} could not be read: {error}") from None
    if row is None:
        raise UnknownBasketError(
            f"no basket {ident} in the store {db.resolve_path(path)}: the link may come from another database "
            "(or the store was rebuilt since); ask for the basket again"
        )
    created_at, orders, settings = row
    try:
        columns = json.loads(orders)
        table = pd.DataFrame(columns["data"], columns=columns["columns"])
        chosen = json.loads(settings)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"the saved basket {ident} is damaged in the store: save it again") from None
    return SavedBasket(ident, created_at, table, chosen if isinstance(chosen, dict) else {})
