"""Trained RL policies in the DuckDB store: table ``rl_policies``, created on first use.

    rl_policies(name VARCHAR, problem_key VARCHAR, agent VARCHAR, trained_at TIMESTAMP, params JSON text,
                summary JSON text, PRIMARY KEY (name, problem_key))

``problem_key`` identifies what a policy was trained for: the order (side, shares, horizon, slices), the market
parameters, the risk aversion and the number of decision periods (``problem_key``). Saving the same name and key
again replaces the row.

``policy_index`` reads every stored policy once and keeps them for the process, keyed by (problem key, agent
kind); it reads the store again only when the database file changed (its and its WAL's modification time) or this
process saved a policy, so looking a policy up for a new risk aversion costs a dictionary look-up, not a query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from optexec.models import MarketParams, Order
from optexec.rl.agents import agent_from_dict
from optexec.store import db

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS rl_policies (
  name VARCHAR NOT NULL,
  problem_key VARCHAR NOT NULL,
  agent VARCHAR NOT NULL,
  trained_at TIMESTAMP NOT NULL,
  params VARCHAR NOT NULL,
  summary VARCHAR NOT NULL,
  PRIMARY KEY (name, problem_key)
)"""


@functools.lru_cache(maxsize=64)
def _profile_hash(profile: tuple[float, ...]) -> str:
    """The volume profile's part of a problem key (kept: a new risk aversion does not hash 390 numbers again)."""
    return hashlib.sha1(json.dumps([round(v, 12) for v in profile]).encode()).hexdigest()


def problem_key(order: Order, market: MarketParams, risk_aversion_per_usd: float, periods: int) -> str:
    """A short hash of everything the trained policy depends on (module docstring)."""
    fields = {
        "side": order.side, "shares": order.shares, "horizon_days": order.horizon_days, "slices": order.slices,
        "start": order.start_minutes_after_open, "price": market.price_usd, "sigma": market.sigma_usd_per_sqrt_day,
        "spread": market.spread_usd, "adv": market.adv_shares, "eta": market.eta_usd_day_per_share2,
        "gamma": market.gamma_usd_per_share2, "drift": market.drift_usd_per_day,
        "profile": _profile_hash(tuple(market.volume_profile)),
        "lambda": risk_aversion_per_usd, "periods": periods,
    }  # fmt: skip
    text = json.dumps({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in fields.items()}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the table is there (a store no policy was ever saved to has none)."""
    cur = con.cursor()
    try:
        found = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rl_policies'").fetchone()
    finally:
        cur.close()
    return bool(found and found[0])


@contextlib.contextmanager
def _store(con: duckdb.DuckDBPyConnection | None, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """The caller's connection, else a short-lived one on the store (``db.writing`` / ``db.reading``)."""
    if con is not None:
        yield con
        return
    with db.writing() if write else db.reading() as opened:
        yield opened


def save_policy(name: str, key: str, agent: Any, summary: dict[str, Any] | None = None,
                con: duckdb.DuckDBPyConnection | None = None) -> None:  # fmt: skip
    """Store (or replace) a trained agent under ``name`` for the problem ``key`` (in ``con``, else the store)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a policy needs a non-empty name")
    with _store(con, write=True) as con, db.write_lock(con):
        cur = con.cursor()
        try:
            forget_index()
            cur.execute(TABLE_SQL)
            cur.execute(
                "INSERT OR REPLACE INTO rl_policies VALUES (?, ?, ?, ?, ?, ?)",
                [name.strip(), key, agent.kind, dt.datetime.now(dt.UTC).replace(tzinfo=None),
                 json.dumps(agent.to_dict()), json.dumps(summary or {})],
            )  # fmt: skip
        finally:
            cur.close()


def load_policy(key: str, kind: str | None = None, name: str | None = None,
                con: duckdb.DuckDBPyConnection | None = None) -> tuple[Any, dict[str, Any]] | None:  # fmt: skip
    """(agent, row info) of the latest policy stored for ``key`` (of that kind / name), or None."""
    sql = "SELECT name, agent, trained_at, params, summary FROM rl_policies WHERE problem_key = ?"
    args: list[Any] = [key]
    if kind:
        sql, args = sql + " AND agent = ?", [*args, kind]
    if name:
        sql, args = sql + " AND name = ?", [*args, name]
    with _store(con, write=False) as con:
        if not _exists(con):
            return None
        cur = con.cursor()
        try:
            row = cur.execute(sql + " ORDER BY trained_at DESC LIMIT 1", args).fetchone()
        finally:
            cur.close()
    if row is None:
        return None
    info = {"name": row[0], "agent": row[1], "trained_at": row[2], "summary": json.loads(row[4])}
    return agent_from_dict(json.loads(row[3])), info


def list_policies(con: duckdb.DuckDBPyConnection | None = None):
    """Every stored policy (without its parameters), newest first, as a DataFrame."""
    with _store(con, write=False) as con:
        if not _exists(con):
            import pandas as pd

            return pd.DataFrame(columns=["name", "agent", "problem_key", "trained_at", "summary"])
        cur = con.cursor()
        try:
            return cur.execute(
                "SELECT name, agent, problem_key, trained_at, summary FROM rl_policies ORDER BY trained_at DESC"
            ).df()
        finally:
            cur.close()


_index_lock = threading.Lock()
_index: dict[str, tuple[Any, dict[tuple[str, str], Any], str | None]] = {}


def _stamp(path: Path) -> tuple[int | None, int | None]:
    """The modification times of the database file and its WAL (None when absent): what says it changed."""

    def mtime(file: Path) -> int | None:
        try:
            return file.stat().st_mtime_ns
        except OSError:
            return None

    return mtime(path), mtime(path.with_name(path.name + ".wal"))


def forget_index() -> None:
    """Drop the cached policy index (after a save in this process)."""
    with _index_lock:
        _index.clear()


def policy_index(path: str | Path | None = None) -> tuple[dict[tuple[str, str], Any], str | None]:
    """(the latest stored agent per (problem key, agent kind), None) from the store, read once per change of the
    file (module docstring); ({}, why) when the store cannot be read (missing, busy or unreadable)."""
    file = db.resolve_path(path)
    stamp = _stamp(file)
    with _index_lock:
        cached = _index.get(str(file))
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
    agents: dict[tuple[str, str], Any] = {}
    problem = None
    try:
        with db.reading(file) as con:
            if _exists(con):
                cur = con.cursor()
                try:
                    rows = cur.execute(
                        "SELECT problem_key, agent, params FROM rl_policies ORDER BY trained_at"
                    ).fetchall()
                finally:
                    cur.close()
                agents = {(key, kind): agent_from_dict(json.loads(params)) for key, kind, params in rows}
    except (ValueError, duckdb.Error) as error:
        problem = str(error).rstrip(".")
    with _index_lock:
        _index[str(file)] = (_stamp(file), agents, problem)
    return agents, problem
