"""SQL over the store's plain tables (so the same queries scale past the sample): symbols, volume shares."""

from __future__ import annotations

import duckdb

from optexec.store.connections import fetch

VOLUME_SHARE_SQL = """
WITH b AS (
    SELECT symbol, ts, volume, time_bucket(INTERVAL 15 MINUTE, ts) AS bucket
    FROM bars WHERE $symbol IS NULL OR symbol = $symbol
),
o AS (  -- the UTC offset of each quarter hour, computed once per bucket instead of once per bar
    SELECT symbol, bucket, timezone(coalesce(i.time_zone, 'UTC'), timezone('UTC', bucket)) - bucket AS utc_offset
    FROM (SELECT DISTINCT symbol, bucket FROM b) LEFT JOIN instruments i USING (symbol)
),
m AS (
    SELECT b.symbol, CAST(b.ts + o.utc_offset AS DATE) AS day,
           hour(b.ts + o.utc_offset) * 60 + minute(b.ts + o.utc_offset) AS minute_of_day, b.volume
    FROM b JOIN o USING (symbol, bucket)
),
d AS (SELECT symbol, day, sum(volume) AS day_volume FROM m GROUP BY ALL)
SELECT symbol, minute_of_day, median(volume / day_volume) AS median_share, count(*) AS days
FROM m JOIN d USING (symbol, day)
WHERE day_volume > 0
GROUP BY ALL
ORDER BY symbol, minute_of_day
"""


def volume_share_by_minute(con: duckdb.DuckDBPyConnection, symbol: str | None = None):
    """Median share of a day's volume traded in each minute of the day (local time), per symbol.

    The raw material of the intraday volume profile (docs/MATH.md section 8, VWAP weights); ``minute_of_day``
    counts minutes after local midnight (570 = 09:30). Local time uses the instrument's time zone;
    the UTC offset is looked up once per quarter hour (time-zone changes fall on quarter hours).
    """
    return fetch(con, VOLUME_SHARE_SQL, {"symbol": symbol}, how="df")


def list_symbols(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every symbol the store knows (instruments plus any symbol with bars), sorted."""
    rows = fetch(con, "SELECT symbol FROM instruments UNION SELECT DISTINCT symbol FROM bars ORDER BY symbol")
    return [r[0] for r in rows]
