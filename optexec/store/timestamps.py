"""SQL that reads a timestamp as written: an offset, a zone name or abbreviation, or a naive local time.

A timestamp value becomes a UTC instant by what is written after its time of day:

* an offset (``-05:00``, ``+0530``, ``Z``, ``UTC``): honoured;
* a common abbreviation (``EST``, ``CEST``, ``JST``, ... in ``ABBREVIATIONS``; ``CST`` is US Central, ``BST``
  British Summer Time): its fixed offset, whatever the date; an ambiguous one (``IST``, ...) is rejected;
* an IANA name (``America/New_York``): that zone's local time, checked for DST as below;
* anything else after the time (``09:36:00 XYZ``): rejected, "unknown time zone";
* nothing (a naive time): local time in the load's naive zone (chosen by the user or inferred; UTC reads as is).

A local time that does not exist in its zone (the hour skipped when clocks move forward) is rejected with the
reason. A local time that occurs twice (the hour repeated when clocks move back) is rejected as ambiguous, except
in one case that needs no guess: when the file holds that same wall-clock time exactly twice for the same symbol
(as a 24-hour bar file does), the first in file order is the earlier instant (daylight time) and the second the
later one (standard time). Only our own SQL text is built here; the naive zone travels as the ``$naive_tz``
parameter and the IANA names DuckDB knows (``zone_names``) as ``$zone_names``.

Each zone conversion is worked out once per row, in its own layer (``candidate_layers``): a file's million rows
cost a few conversions each, and none at all when its times carry an offset or read as UTC.
"""

from __future__ import annotations

#: a time written with a UTC offset or zone letter after the seconds, e.g. "09:30:00-05:00", "14:30:00Z"
OFFSET_RE = r":\d\d(\.\d+)?\s*([Zz]|UTC|[+-]\d\d(:?\d\d)?)$"
#: a zone written after the time, separated by a space: "09:36:00 EST", "09:36 America/New_York"
TOKEN_RE = r"\s([A-Za-z][A-Za-z0-9_+\-/]*)$"
#: common abbreviations and their fixed UTC offsets in minutes
ABBREVIATIONS = {
    "GMT": 0, "UT": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420,
    "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "JST": 540, "KST": 540,
    "HKT": 480, "SGT": 480, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660, "NZST": 720,
    "NZDT": 780,
}  # fmt: skip
#: abbreviations that mean different zones in different places
AMBIGUOUS_ABBREVIATIONS = {"IST": "India, Israel or Ireland", "AST": "Atlantic or Arabia", "ADT": "Atlantic"}

MACROS = (
    "CREATE OR REPLACE TEMP MACRO _ox_text(x) AS NULLIF(trim(CAST(x AS VARCHAR)), '')",
    # the instant whose UTC wall clock is u (TIMESTAMP -> TIMESTAMPTZ), and the UTC wall clock of an instant x:
    # timezone('UTC', ...) by its microseconds, which costs nothing where a zone conversion costs a lookup per row
    # (an infinite time keeps the conversion, which keeps it infinite)
    (
        "CREATE OR REPLACE TEMP MACRO _ox_instant(u) AS "
        "CASE WHEN isfinite(u) THEN make_timestamptz(epoch_us(u)) ELSE timezone('UTC', u) END"
    ),
    (
        "CREATE OR REPLACE TEMP MACRO _ox_utc_wall(x) AS "
        "CASE WHEN isfinite(x) THEN make_timestamp(epoch_us(x)) ELSE timezone('UTC', x) END"
    ),
    # local minus UTC at the UTC instant u (TIMESTAMP) in zone z
    "CREATE OR REPLACE TEMP MACRO _ox_off(z, u) AS timezone(z, _ox_instant(u)) - u",
    "CREATE OR REPLACE TEMP MACRO _ox_local(z, u) AS timezone(z, _ox_instant(u))",
    (
        "CREATE OR REPLACE TEMP MACRO _ox_fmt_off(m) AS (CASE WHEN m < 0 THEN '-' ELSE '+' END) || "
        "lpad(CAST(abs(m) // 60 AS VARCHAR), 2, '0') || ':' || lpad(CAST(abs(m) % 60 AS VARCHAR), 2, '0')"
    ),
)


def create_macros(cur) -> None:
    """Create the temporary SQL macros the expressions below use (on the load's cursor)."""
    for sql in MACROS:
        cur.execute(sql)


def _abbreviation_case(token: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in ABBREVIATIONS.items())
    return f"CASE upper({token}) {whens} END"


def parts_sql(n: str) -> list[str]:
    """Layer 1 over ``_raw_<n>``: text, token, kind, wall clock, the UTC instant of offset/abbreviation times."""
    t, tok = f"_t_{n}", f"_tok_{n}"
    ambiguous = ", ".join(f"'{k}'" for k in AMBIGUOUS_ABBREVIATIONS)
    wall = f"CASE WHEN {tok} = '' THEN {t} ELSE rtrim(left({t}, length({t}) - length({tok}))) END"
    return [
        f"_ox_text(_raw_{n}) AS {t}",
        f"CASE WHEN regexp_matches({t}, '{OFFSET_RE}') THEN '' ELSE regexp_extract({t}, '{TOKEN_RE}', 1) END AS {tok}",
        f"""CASE WHEN {t} IS NULL THEN NULL WHEN regexp_matches({t}, '{OFFSET_RE}') THEN 'offset'
            WHEN {tok} = '' THEN 'naive' WHEN upper({tok}) IN ({ambiguous}) THEN 'ambiguous_abbreviation'
            WHEN {_abbreviation_case(tok)} IS NOT NULL THEN 'abbreviation'
            WHEN contains($zone_names, '|' || {tok} || '|') THEN 'iana' ELSE 'unknown_zone' END AS _k_{n}""",
        f"TRY_CAST({wall} AS TIMESTAMP) AS _w_{n}",
    ]


def known_utc_sql(n: str) -> str:
    """The UTC instant of a row whose time carries an offset, an abbreviation or a zone name (NULL for naive)."""
    k, w, t, tok = f"_k_{n}", f"_w_{n}", f"_t_{n}", f"_tok_{n}"
    return f"""CASE {k} WHEN 'offset' THEN _ox_utc_wall(TRY_CAST({t} AS TIMESTAMPTZ))
        WHEN 'abbreviation' THEN {w} - to_minutes(CAST({_abbreviation_case(tok)} AS BIGINT))
        WHEN 'iana' THEN _ox_utc_wall(timezone({tok}, {w})) END"""


def zone_names(cur) -> str:
    """The IANA zone names DuckDB knows, as ``|name|name|...|`` (``$zone_names`` of ``parts_sql``): a token (which
    holds no ``|``) is a name when ``|token|`` is in it. A text searched per row, not a list: DuckDB turns a
    list or ``IN`` into a join that every row of the file goes through, where a text is only searched for the
    rows that reach that test (a zone written after the time)."""
    names = [r[0] for r in cur.execute("SELECT name FROM pg_timezone_names() ORDER BY 1").fetchall()]
    return "|" + "|".join(n for n in names if "|" not in n) + "|"


def candidate_layers(n: str) -> list[list[str]]:
    """Layers 2a-2d, each over the one before: the zone to check (named or naive, not UTC), the two UTC readings of
    the wall time in it (its offset a day before and a day after), and whether each reads back as the wall time
    (``_aok_<n>``, ``_bok_<n>``; the second is the first when both readings are the same instant)."""
    k, w, z, a, b = f"_k_{n}", f"_w_{n}", f"_z_{n}", f"_a_{n}", f"_b_{n}"
    return [
        [f"CASE {k} WHEN 'iana' THEN _tok_{n} WHEN 'naive' THEN NULLIF(CAST($naive_tz AS VARCHAR), 'UTC') END AS {z}"],
        [f"{w} - _ox_off({z}, {w} - INTERVAL 1 DAY) AS {a}", f"{w} - _ox_off({z}, {w} + INTERVAL 1 DAY) AS {b}"],
        [f"(_ox_local({z}, {a}) = {w}) AS _aok_{n}"],
        [f"CASE WHEN {a} IS NOT DISTINCT FROM {b} THEN _aok_{n} ELSE (_ox_local({z}, {b}) = {w}) END AS _bok_{n}"],
    ]


def final_sql(n: str) -> list[str]:
    """Layer 3 (over ``candidate_layers``): the UTC instant ``<n>`` (NULL when refused), the reason ``_why_<n>``,
    and the ambiguous pair."""
    k, w, z, a, b, t, tok = (f"_{p}_{n}" for p in ("k", "w", "z", "a", "b", "t", "tok"))
    a_ok, b_ok = f"_aok_{n}", f"_bok_{n}"
    amb = f"({z} IS NOT NULL AND {a_ok} AND {b_ok} AND {a} <> {b})"
    gap = f"({z} IS NOT NULL AND NOT {a_ok} AND NOT {b_ok})"
    early, late = f"least({a}, {b})", f"greatest({a}, {b})"
    day, hhmm = f"strftime({w}, '%Y-%m-%d')", f"strftime({w}, '%H:%M')"
    off = "_ox_fmt_off(CAST(epoch({w} - {x}) // 60 AS BIGINT))".replace("{w}", w)
    ambiguous_names = " ".join(f"WHEN '{k2}' THEN '{v}'" for k2, v in AMBIGUOUS_ABBREVIATIONS.items())
    why = f"""CASE WHEN {k} = 'unknown_zone' THEN 'unknown time zone ''' || {tok} || ''' in ''' || {t} ||
              ''' (write an offset like -05:00 or a name like America/New_York)'
          WHEN {k} = 'ambiguous_abbreviation' THEN 'the zone abbreviation ''' || {tok} || ''' is ambiguous ('
              || (CASE upper({tok}) {ambiguous_names} END) || '); write an offset like +05:30'
          WHEN {w} IS NULL THEN NULL
          WHEN {gap} THEN {hhmm} || ' does not exist in ' || {z} || ' on ' || {day} || ': clocks moved forward'
          WHEN {amb} THEN 'ambiguous: ' || {hhmm} || ' occurs twice in ' || {z} || ' on ' || {day} ||
              ' (clocks moved back); write its offset (' || {off.format(x=early)} || ' or ' || {off.format(x=late)}
              || ')' END"""
    value = f"""CASE WHEN {k} IN ('offset', 'abbreviation') THEN {known_utc_sql(n)}
          WHEN {k} IN ('iana', 'naive') AND {w} IS NOT NULL THEN
              CASE WHEN {z} IS NULL THEN {w} WHEN {gap} OR {amb} THEN NULL WHEN {a_ok} THEN {a} ELSE {b} END END"""
    return [
        f"{value} AS {n}",
        f"{why} AS _why_{n}",
        f"({amb}) IS TRUE AS _amb_{n}",
        f"{early} AS _early_{n}",
        f"{late} AS _late_{n}",
    ]
