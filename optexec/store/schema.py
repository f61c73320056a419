"""The store's tables: columns, types, keys and the names users give those columns.

One declarative description drives the DDL, the column detection and the validation of loads
(DESIGN.md section 4). All timestamps are stored as UTC ``TIMESTAMP`` values; pages show them
in the instrument's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: unit of each stored calibration parameter (by its JSON name), in ``calibration_parameters.unit``; the old
#: layout's migration gives its rows these units too
PARAMETER_UNITS = {
    "price_usd": "$/share",
    "sigma_daily": "fraction of price per √day",
    "sigma_usd_per_sqrt_day": "$/share/√day",
    "sigma_annual": "fraction of price per √year",
    "adv_shares": "shares/day",
    "adv_median_shares": "shares/day",
    "spread": "$/share (full bid–ask)",
    "eta": "$/share per share/day",
    "gamma": "$/share per share",
    "eta_athl": "$/share per share/day",
    "gamma_athl": "$/share per share",
    "eta_rule_of_thumb": "$/share per share/day",
    "gamma_rule_of_thumb": "$/share per share",
    "power_coefficient": "Y, per $/share/√day of σ (dimensionless)",
    "power_exponent": "dimensionless",
    "power_c": "$/share per (share/day)^p",
    "power_p": "dimensionless",
    "power_impact_at_10pct_adv_usd": "$/share",
    "quad_a": "$/share per share/day",
    "quad_b": "$/share per (share/day)^2",
    "sqrt_law_y": "dimensionless",
    "kyle_lambda_usd_per_share": "$/share per share",
    "transient_kappa_usd_per_share2": "$/share per share",
    "transient_decay_per_day": "1/day",
    "vol_long_run_variance_daily": "(fraction of price)^2 per day",
    "vol_fast_rate_per_day": "1/day",
    "vol_slow_rate_per_day": "1/day",
    "fast_scale_epsilon": "days",
    "slow_scale_delta": "1/day",
}

# Column kinds decide how a raw value is parsed and which per-cell checks apply.
#   symbol/text : trimmed text        ts     : timestamp (converted to UTC)
#   price       : number > 0          size   : number > 0     volume : number >= 0
#   number      : any finite number   seq    : whole number >= 0
#   side        : buy / sell          tz     : IANA time-zone name
#   flag        : true / false
KINDS = ("symbol", "text", "ts", "price", "size", "volume", "number", "seq", "side", "tz", "flag")
SQL_TYPES = {
    "symbol": "VARCHAR",
    "text": "VARCHAR",
    "ts": "TIMESTAMP",
    "price": "DOUBLE",
    "size": "DOUBLE",
    "volume": "DOUBLE",
    "number": "DOUBLE",
    "seq": "BIGINT",
    "side": "VARCHAR",
    "tz": "VARCHAR",
    "flag": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One column of a store table.

    Attributes
    ----------
    name : our column name.
    kind : one of ``KINDS``.
    required : a load fails (or the row is rejected) when the value is missing.
    aliases : other names users give this column (compared after normalising, see ``normalise_name``).
    default_sql : SQL literal used when the file has no such column (optional columns only).
    """

    name: str
    kind: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    default_sql: str = "NULL"

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """A store table: its columns, primary key and the sequence column derived from file order.

    ``seq`` (trades, quotes, fills) numbers rows sharing the rest of the key in file order, so that
    prints at the same microsecond are all kept and a re-load of the same file adds nothing.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str
    time_column: str | None = "ts"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def has_seq(self) -> bool:
        return "seq" in self.column_names

    def ddl(self) -> str:
        cols = ",\n  ".join(f"{c.name} {c.sql_type}{' NOT NULL' if c.name in self.key else ''}" for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols},\n  PRIMARY KEY ({', '.join(self.key)})\n)"


def _c(name: str, kind: str, required: bool = True, aliases: str = "", default_sql: str = "NULL") -> Column:
    return Column(name, kind, required, tuple(a for a in aliases.split() if a), default_sql)


SYMBOL = _c("symbol", "symbol", aliases="ticker sym instrument ric security code")
TS = _c("ts", "ts", aliases="timestamp time datetime date_time dt t time_utc timestamp_utc")
SEQ = _c("seq", "seq", required=False, aliases="sequence seq_no sequence_number trade_id print_id fill_id")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "instruments",
            (
                SYMBOL,
                _c("currency", "text", False, "ccy", "'USD'"),
                _c("time_zone", "tz", False, "timezone tz zone exchange_tz", "'America/New_York'"),
                _c("calendar", "text", False, "exchange_calendar trading_calendar mic"),
                _c("session_open", "text", False, "open_time regular_open"),
                _c("session_close", "text", False, "close_time regular_close"),
                _c("market_source", "text", False, "market_from", "'the instruments file'"),
                _c("tick_size", "price", False, "tick ticksize min_tick"),
                _c("lot_size", "size", False, "lot lotsize round_lot"),
                _c("shares_outstanding", "size", False, "shares_out outstanding shares_outstanding_shares"),
                _c("name", "text", False, "description long_name security_name"),
            ),
            ("symbol",),
            "one row per instrument: currency, time zone, tick and lot size",
            time_column=None,
        ),
        Table(
            "bars",
            (
                SYMBOL,
                TS,
                _c("open", "price", aliases="o open_price px_open open_px"),
                _c("high", "price", aliases="h high_price px_high high_px"),
                _c("low", "price", aliases="l low_price px_low low_px"),
                _c("close", "price", aliases="c close_price px_close close_px last"),
                _c("volume", "volume", aliases="v vol qty quantity shares"),
            ),
            ("symbol", "ts"),
            "one-minute OHLCV bars (bar start time)",
        ),
        Table(
            "trades",
            (
                SYMBOL,
                TS,
                SEQ,
                _c("price", "price", aliases="px p trade_price last_price"),
                _c("size", "size", aliases="qty quantity volume shares sz amount trade_size"),
                _c("side", "side", False, "aggressor aggressor_side direction buy_sell taker_side initiator"),
            ),
            ("symbol", "ts", "seq"),
            "trade prints; side is the aggressor (buy = buyer-initiated) when known",
        ),
        Table(
            "quotes",
            (
                SYMBOL,
                TS,
                SEQ,
                _c("bid", "price", aliases="bid_price bid_px bidpx best_bid bp"),
                _c("bid_size", "volume", False, "bid_qty bidsize bid_sz bid_quantity bq"),
                _c("ask", "price", aliases="ask_price ask_px askpx offer offer_price best_ask ap"),
                _c("ask_size", "volume", False, "ask_qty asksize ask_sz offer_size ask_quantity aq"),
            ),
            ("symbol", "ts", "seq"),
            "level-1 quotes",
        ),
        Table(
            "fills",
            (
                _c("order_id", "text", aliases="orderid order parent_id parent_order_id"),
                SYMBOL,
                TS,
                SEQ,
                _c("side", "side", aliases="direction buy_sell"),
                _c("qty", "size", aliases="quantity size shares filled fill_qty fill_size"),
                _c("price", "price", aliases="px fill_price exec_price execution_price"),
            ),
            ("order_id", "ts", "seq"),
            "executions of our own past orders",
        ),
        Table(
            "orders",
            (
                _c("order_id", "text", aliases="orderid order id parent_id"),
                SYMBOL,
                _c("side", "side", aliases="direction buy_sell"),
                _c("shares", "size", aliases="qty quantity size order_qty"),
                _c("start_ts", "ts", aliases="start start_time begin"),
                _c("end_ts", "ts", aliases="end end_time finish"),
                _c("strategy", "text", False, "algo algorithm"),
                _c("arrival_price", "price", False, "arrival arrival_px arrival_price_usd"),
                _c("expected_cost_usd", "number", False, "expected_cost expected_cost_dollars"),
            ),
            ("order_id",),
            "parent orders: what was asked, when, how, and the pre-trade estimate",
            time_column="start_ts",
        ),
        # calibration results (optexec.calibration.run): one row per run, per fitted parameter, per profile bucket;
        # a run is (symbol, run_ts). Databases made with the older one-table layout are migrated on open
        # (optexec.store.migrations).
        Table(
            "calibration_runs",
            (
                SYMBOL,
                _c("run_ts", "ts", aliases="run_time run_at calibrated_at"),
                _c("window_start", "ts", False, "data_start start"),
                _c("window_end", "ts", False, "data_end end"),
                _c("accepted_at", "ts", False, "accepted_time"),
                _c("acceptance", "text", False, "accepted_note"),
                _c("not_acceptable", "text", False, "refused_because"),
                _c("estimators", "text", False, "estimator methods"),
                _c("warnings", "text", False, "notes"),
                _c("data_summary", "text", False, "data"),
                _c("session_minutes", "number", False),
                _c("bars_used", "number", False),
                _c("days_used", "number", False),
                _c("median_coverage", "number", False),
                _c("bars_ignored", "text", False),
                _c("days_ignored", "text", False),
                _c("seconds", "number", False, "duration_seconds"),
            ),
            ("symbol", "run_ts"),
            "calibration runs: window, when accepted (empty: not accepted), why not acceptable, estimators, data used",
            time_column="run_ts",
        ),
        Table(
            "calibration_parameters",
            (
                SYMBOL,
                _c("run_ts", "ts", aliases="run_time run_at calibrated_at"),
                _c("name", "text", aliases="parameter param"),
                _c("value", "number", aliases="estimate"),
                _c("stderr", "number", False, "std_error se standard_error"),
                _c("unit", "text", False, "units"),
                _c("method", "text", False, "estimator source"),
                _c("fallback", "flag", False, "is_fallback"),
            ),
            ("symbol", "run_ts", "name"),
            "calibrated parameters: one row per run and parameter (value, standard error, unit, method, fallback)",
            time_column="run_ts",
        ),
        Table(
            "calibration_profiles",
            (
                SYMBOL,
                _c("run_ts", "ts", aliases="run_time run_at calibrated_at"),
                _c("bucket", "seq", aliases="bucket_index"),
                _c("start_minute", "number", aliases="minute start_minutes"),
                _c("minutes", "number", False, "bucket_minutes length_minutes"),
                _c("share", "number", aliases="volume_share"),
            ),
            ("symbol", "run_ts", "bucket"),
            "intraday volume profiles: one row per run and bucket (start minute after the open, length, share)",
            time_column="run_ts",
        ),
    )
}

#: Tables the ``load`` command accepts (every table).
LOADABLE_TABLES = tuple(TABLES)


def normalise_name(name: str) -> str:
    """Lower-case a column name and replace runs of non-alphanumerics by one underscore."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


#: one row per load that committed or was refused: which file went into which table, when (UTC), what happened to its
#: rows, the policy, and the outcome ("loaded", or "refused: " and why)
LOAD_HISTORY_DDL = """CREATE TABLE IF NOT EXISTS load_history (
  loaded_at TIMESTAMP NOT NULL,
  file VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  format VARCHAR,
  rows_read BIGINT,
  rows_loaded BIGINT,
  rows_already_present BIGINT,
  rows_conflicting BIGINT,
  rows_replaced BIGINT,
  rows_kept BIGINT,
  rows_rejected BIGINT,
  on_conflict VARCHAR,
  outcome VARCHAR
)"""

#: baskets saved for a shareable link (``?basket=ID``, optexec.baskets.storage): the id is the first 12 hex digits of
#: the SHA-256 of the canonical JSON of the orders and settings, so the same basket always gets the same id
BASKETS_DDL = """CREATE TABLE IF NOT EXISTS baskets (
  id VARCHAR PRIMARY KEY,
  created_at TIMESTAMP NOT NULL,
  orders VARCHAR NOT NULL,
  settings VARCHAR NOT NULL
)"""
