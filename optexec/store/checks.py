"""SQL for parsing and checking staged rows: typed values, per-row checks with reasons, line numbers.

Only our own column names and fixed text are put into SQL here (DESIGN.md section 4).
"""

from __future__ import annotations

from optexec.store.schema import Column, Table

SIDE_BUY = ("buy", "b", "1", "+1", "bot", "bought", "long")
SIDE_SELL = ("sell", "s", "-1", "sld", "sold", "short", "ss")
SIDE_UNKNOWN = ("", "u", "0", "unknown", "n", "na", "none", "?")
#: the times a load accepts (UTC, from inclusive, to exclusive): anything else is a typo or a sentinel value
TIME_WINDOW = ("1970-01-01", "2100-01-01")


def raw_text(expr: str) -> str:
    """SQL for a value as trimmed text, NULL when empty."""
    return f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"


def typed_sql(col: Column, expr: str) -> str:
    """SQL parsing a raw value into the column's type (NULL when it cannot be read).

    Timestamps are not parsed here but in ``optexec.store.timestamps`` (offsets, zone names, DST).
    """
    kind = col.kind
    if kind in ("price", "size", "volume", "number"):
        return f"TRY_CAST({expr} AS DOUBLE)"
    if kind == "seq":
        return f"TRY_CAST({expr} AS BIGINT)"
    if kind == "flag":
        return f"TRY_CAST({raw_text(expr)} AS BOOLEAN)"
    if kind == "side":
        low = f"lower({raw_text(expr)})"
        buy = ", ".join(f"'{s}'" for s in SIDE_BUY)
        sell = ", ".join(f"'{s}'" for s in SIDE_SELL)
        return f"CASE WHEN {low} IN ({buy}) THEN 'buy' WHEN {low} IN ({sell}) THEN 'sell' END"
    return raw_text(expr)


def row_checks(table: Table, present: set[str], required_now: set[str]) -> list[tuple[str, str, str]]:
    """(our column, condition, message) for every per-row check; SQL over the staging table."""
    checks: list[tuple[str, str, str]] = []
    unknown_side = ", ".join(f"'{s}'" for s in SIDE_UNKNOWN if s)
    for col in table.columns:
        name = col.name
        if name not in present:
            continue
        raw = f"r_{name}"
        if name in required_now:
            checks.append((name, f"{name} IS NULL AND {raw} IS NULL", "'missing value'"))
        what = {
            "ts": "a date and time",
            "seq": "a whole number",
            "price": "a number",
            "size": "a number",
            "volume": "a number",
            "number": "a number",
            "flag": "true or false",
        }.get(col.kind)
        if col.kind == "ts":  # a time refused for its zone or a DST change, with the reason; a time far out
            checks.append((name, f"_why_{name} IS NOT NULL", f"_why_{name}"))
            start, end = TIME_WINDOW
            checks.append(
                (
                    name,
                    f"{name} IS NOT NULL AND NOT ({name} >= TIMESTAMP '{start}' AND {name} < TIMESTAMP '{end}')",
                    f"'the time ' || CAST({name} AS VARCHAR) || ' (UTC) is outside {start} to {end}'",
                )
            )
        if what:
            unread = f"{name} IS NULL AND {raw} IS NOT NULL" + (f" AND _why_{name} IS NULL" if col.kind == "ts" else "")
            checks.append((name, unread, f"'cannot read ''' || {raw} || ''' as {what}'"))
        if col.kind in ("price", "size", "volume", "number"):
            checks.append((name, f"NOT isfinite({name})", f"'{name} must be a finite number, got ' || {name}"))
        if col.kind in ("price", "size"):
            checks.append((name, f"isfinite({name}) AND {name} <= 0", f"'{name} must be > 0, got ' || {name}"))
        if col.kind in ("volume", "seq"):
            checks.append((name, f"{name} < 0", f"'{name} must be >= 0, got ' || {name}"))
        if col.kind == "side":
            checks.append(
                (
                    name,
                    f"{name} IS NULL AND {raw} IS NOT NULL AND lower({raw}) NOT IN ({unknown_side})",
                    f"'side must be buy or sell, got ''' || {raw} || ''''",
                )
            )
        if col.kind == "tz":
            checks.append(
                (
                    name,
                    f"{name} IS NOT NULL AND {name} NOT IN (SELECT name FROM pg_timezone_names())",
                    f"'unknown time zone ''' || {name} || ''' (use a name like America/New_York)'",
                )
            )
    if table.name == "bars":
        checks.append(("high", "high < low", "'high ' || high || ' is below low ' || low"))
        for name in ("open", "close"):
            checks.append(
                (
                    name,
                    f"low <= high AND ({name} < low OR {name} > high)",
                    f"'{name} ' || {name} || ' is outside [low ' || low || ', high ' || high || ']'",
                )
            )
    if table.name == "instruments":
        checks += _instrument_checks(present)
    if table.name == "quotes":
        checks.append(("bid", "bid > ask", "'bid ' || bid || ' is above ask ' || ask || ' (crossed quote)'"))
    if table.name == "orders":
        checks.append(("end_ts", "end_ts < start_ts", "'the order ends before it starts'"))
    if table.name == "calibration_runs" and {"window_start", "window_end"} <= present:
        checks.append(("window_end", "window_end < window_start", "'the data window ends before it starts'"))
    return checks


HHMM_RE = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


def _instrument_checks(present: set[str]) -> list[tuple[str, str, str]]:
    """An instruments file's market: a known calendar code, HH:MM session times, the close after the open."""
    import exchange_calendars as xc

    checks = []
    if "calendar" in present:
        codes = ", ".join(f"'{c}'" for c in sorted(xc.get_calendar_names(include_aliases=True)) if "'" not in c)
        checks.append(
            (
                "calendar",
                f"calendar IS NOT NULL AND calendar NOT IN ({codes})",
                "'unknown trading calendar ''' || calendar || ''' (use an exchange code such as XNYS)'",
            )
        )
    for name in ("session_open", "session_close"):
        if name in present:
            checks.append(
                (
                    name,
                    f"{name} IS NOT NULL AND NOT regexp_matches({name}, '{HHMM_RE}')",
                    f"'{name} must be HH:MM (e.g. 09:30), got ''' || {name} || ''''",
                )
            )
    if {"session_open", "session_close"} <= present:
        both = f"regexp_matches(session_open, '{HHMM_RE}') AND regexp_matches(session_close, '{HHMM_RE}')"
        checks.append(
            ("session_close", f"{both} AND session_close <= session_open", "'the session closes before it opens'")
        )
    return checks
