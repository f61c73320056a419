"""What a load does with rows the store already holds: already there, conflicts, further prints.

DESIGN.md section 5 and issue 14, item 2. The good rows of a file are staged in ``_incoming`` (one per line,
duplicates inside the file already refused) and compared with the stored rows of the same key:

* the same values in every column the file has: "already there", nothing is written;
* the same key and other values: a conflict. ``on_conflict`` decides: ``refuse`` (the default for market data, our
  fills, orders and calibrations) refuses the whole file, naming the count and the first lines with what is stored;
  ``replace`` writes the file's values (only the columns the file has); ``keep`` keeps the stored values. An
  instruments file is a correction by nature: its values replace the stored ones by default and every change is
  named ("XYZ: time_zone UTC -> Asia/Tokyo"); an empty cell there leaves the stored value as it is.
* trades, quotes and fills of a file without a ``seq`` column: a row cannot name the stored print it corrects, so a
  row is "already there" when a stored print at its time has the same values (counted with multiplicity: two
  identical prints in the file match two stored ones), and any other row is a further print at that time, numbered
  after the stored ones. With ``replace`` the file's prints at each time where they differ from the stored ones
  replace the stored prints of that time.

Only our own column names enter SQL here; values are compared and copied inside DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from optexec.store.reports import MAX_CONFLICTS_LISTED, ON_CONFLICT, Conflict, LoadError
from optexec.store.schema import Table

#: instruments columns that make a symbol's market; a change of one of them records where the market came from
MARKET_COLUMNS = ("time_zone", "calendar", "session_open", "session_close")
MAX_CHANGES_LISTED = 1000
#: a time (seqless prints) whose file prints and stored prints are not the same multiset (a row of ``_groups``)
DIFFERING = "(_groups.rows > _groups.matched OR _groups.stored > _groups.matched)"


def default_policy(table: Table) -> str:
    """The policy when the caller does not choose one: instruments files correct, other tables refuse."""
    return "replace" if table.name == "instruments" else "refuse"


def check_policy(on_conflict: str | None, table: Table) -> str:
    """``on_conflict`` checked (refuse, replace or keep), or the table's default when None."""
    if on_conflict is None:
        return default_policy(table)
    policy = str(on_conflict).strip().lower()
    if policy not in ON_CONFLICT:
        raise LoadError(f"unknown on-conflict policy {on_conflict!r}; use one of {', '.join(ON_CONFLICT)}")
    return policy


@dataclass(frozen=True)
class Comparison:
    """How the staged rows compare with the stored ones (see the module docstring)."""

    table: Table
    policy: str
    seqless: bool  # the table numbers prints by seq and the file has none
    value_columns: tuple[str, ...]  # columns of the file outside the key: compared, and written on replace
    incoming: int = 0
    same: int = 0
    conflicting: int = 0
    new_prints: int = 0  # seqless: rows added as further prints at a time that already had prints
    groups_replaced: int = 0  # seqless replace: times whose stored prints the file's replace
    stored_replaced: int = 0  # seqless replace: stored prints deleted
    conflicts: tuple[Conflict, ...] = ()
    changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # sentences for the report's warnings (seqless prints)

    @property
    def part(self) -> list[str]:
        """The key without seq (the time of a print)."""
        return [k for k in self.table.key if k != "seq"]


def _eq(a: str, b: str, col: str) -> str:
    return f"{a}.{col} IS NOT DISTINCT FROM {b}.{col}"


def _same_sql(table: Table, cols: tuple[str, ...]) -> str:
    if not cols:
        return "true"
    if table.name == "instruments":  # an empty cell of an instruments file leaves the stored value
        return " AND ".join(f"(i.{c} IS NULL OR {_eq('i', 's', c)})" for c in cols)
    return " AND ".join(_eq("i", "s", c) for c in cols)


def _text(value) -> str:
    if value is None:
        return "empty"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def stage_incoming(cur, table: Table, present: set[str], good: str, materialise: bool = True) -> None:
    """``_incoming``: the good rows in the table's columns, with the file line; seq from file order if missing.

    A table of its own when ``materialise`` (the comparison with stored rows reads it several times); otherwise a
    view of the staged rows, read once by the insert (a file that cannot meet stored rows is not copied twice).
    """
    exprs = []
    for col in table.column_names:
        if col == "seq" and "seq" not in present:
            part = ", ".join(k for k in table.key if k != "seq")
            exprs.append(f"row_number() OVER (PARTITION BY {part} ORDER BY _line) - 1 AS seq")
        else:
            exprs.append(col)
    drop_incoming(cur)
    kind = "TABLE" if materialise else "VIEW"
    cur.execute(f"CREATE TEMP {kind} _incoming AS SELECT _line, {', '.join(exprs)} FROM _stage WHERE {good}")


def drop_incoming(cur) -> None:
    """Drop ``_incoming``, a table or a view."""
    (kind,) = cur.execute(
        "SELECT coalesce(max(table_type), '') FROM information_schema.tables WHERE table_catalog = 'temp' "
        "AND table_name = '_incoming'"
    ).fetchone()
    if kind:
        cur.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} _incoming")


def compare(cur, table: Table, present: set[str], policy: str, may_overlap: bool) -> Comparison:
    """Compare ``_incoming`` with the stored rows; ``_match(_line, same)`` holds the rows whose key is stored."""
    seqless = table.has_seq and "seq" not in present
    value_columns = tuple(c for c in table.column_names if c in present and c not in table.key)
    (incoming,) = cur.execute("SELECT count(*) FROM _incoming").fetchone()
    result = Comparison(table, policy, seqless, value_columns, incoming=int(incoming))
    cur.execute("CREATE OR REPLACE TEMP TABLE _match (_line BIGINT, same BOOLEAN)")
    if seqless:  # the times of the file that already hold prints (none until compared)
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _groups AS SELECT {', '.join(result.part)}, 0::BIGINT AS rows, "
            "0::BIGINT AS matched, 0::BIGINT AS stored, NULL::BIGINT AS max_seq FROM _incoming LIMIT 0"
        )
    if not may_overlap or not incoming:
        return result
    if seqless:
        return _compare_prints(cur, result)
    on = " AND ".join(_eq("i", "s", k) for k in table.key)
    cur.execute(
        f"INSERT INTO _match SELECT i._line, {_same_sql(table, value_columns)} FROM _incoming i "
        f"JOIN {table.name} s ON {on}"
    )
    same, conflicting = cur.execute(
        "SELECT count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same) FROM _match"
    ).fetchone()
    conflicts, changes = _describe(cur, result, int(conflicting)) if conflicting else ((), ())
    changes = changes if policy == "replace" else ()  # keep and refuse change nothing
    return Comparison(
        **{**result.__dict__, "same": int(same), "conflicting": int(conflicting), "conflicts": conflicts,
           "changes": changes}
    )  # fmt: skip


def _describe(cur, c: Comparison, conflicting: int) -> tuple[tuple[Conflict, ...], tuple[str, ...]]:
    """The first conflicting rows (line, key, the file's and the stored values) and the changes in words."""
    table, cols = c.table, c.value_columns
    on = " AND ".join(_eq("i", "s", k) for k in table.key)
    limit = MAX_CHANGES_LISTED if table.name == "instruments" else MAX_CONFLICTS_LISTED
    picked = ", ".join([f"i.{k}" for k in table.key] + [f"i.{v}" for v in cols] + [f"s.{v}" for v in cols])
    rows = cur.execute(
        f"SELECT i._line, {picked} FROM _incoming i JOIN {table.name} s ON {on} "
        f"WHERE i._line IN (SELECT _line FROM _match WHERE NOT same) ORDER BY i._line LIMIT {int(limit)}"
    ).fetchall()
    conflicts, changes = [], []
    nk, nv = len(table.key), len(cols)
    for row in rows:
        line, key, new, old = row[0], row[1 : 1 + nk], row[1 + nk : 1 + nk + nv], row[1 + nk + nv :]
        key_text = ", ".join(_text(v) for v in key)
        diffs = [
            (col, o, n)
            for col, n, o in zip(cols, new, old, strict=True)
            if n != o and not (table.name == "instruments" and n is None)
        ]
        conflicts.append(
            Conflict(int(line), key_text, "; ".join(f"{col} {_text(n)}, stored {_text(o)}" for col, o, n in diffs))
        )
        changes += [f"{key_text}: {col} {_text(o)} -> {_text(n)}" for col, o, n in diffs]
    return tuple(conflicts[:MAX_CONFLICTS_LISTED]), tuple(changes[:MAX_CHANGES_LISTED])


def _compare_prints(cur, c: Comparison) -> Comparison:
    """Prints of a file without seq: matched to stored prints at their time by their values, with multiplicity."""
    table, part, vals = c.table, c.part, c.value_columns
    by = ", ".join(part + list(vals))
    s_by = ", ".join(f"s.{x}" for x in part + list(vals))
    join_part = " AND ".join(_eq("p", "s", k) for k in part)
    join_all = " AND ".join(_eq("i", "s", x) for x in part + list(vals))
    cur.execute(
        f"""INSERT INTO _match
        WITH i AS (SELECT _line, {by}, row_number() OVER (PARTITION BY {by} ORDER BY _line) AS k FROM _incoming),
        s AS (SELECT {s_by}, row_number() OVER (PARTITION BY {s_by} ORDER BY s.seq) AS k
              FROM {table.name} s SEMI JOIN (SELECT DISTINCT {", ".join(part)} FROM _incoming) p ON {join_part})
        SELECT i._line, true FROM i JOIN s ON {join_all} AND i.k = s.k"""
    )
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE _groups AS
        WITH st AS (SELECT {", ".join("s." + k for k in part)}, count(*) AS stored, max(s.seq) AS max_seq
                    FROM {table.name} s SEMI JOIN (SELECT DISTINCT {", ".join(part)} FROM _incoming) p ON {join_part}
                    GROUP BY ALL),
        inc AS (SELECT {", ".join(part)}, count(*) AS rows, count(*) FILTER (WHERE _line IN (SELECT _line FROM _match))
                AS matched FROM _incoming GROUP BY ALL)
        SELECT inc.*, st.stored, st.max_seq FROM inc JOIN st ON {" AND ".join(_eq("inc", "st", k) for k in part)}"""
    )
    replace = c.policy == "replace"
    same, new_prints, differing, stored_differing = cur.execute(
        f"SELECT coalesce(sum(_groups.matched) FILTER (WHERE NOT {DIFFERING} OR NOT $replace), 0), "
        f"coalesce(sum(_groups.rows - _groups.matched), 0), count(*) FILTER (WHERE {DIFFERING}), "
        f"coalesce(sum(_groups.stored) FILTER (WHERE {DIFFERING}), 0) FROM _groups",
        {"replace": replace},
    ).fetchone()
    first = cur.execute(
        f"SELECT i._line FROM _incoming i SEMI JOIN _groups g ON {' AND '.join(_eq('i', 'g', k) for k in part)} "
        "WHERE i._line NOT IN (SELECT _line FROM _match) ORDER BY i._line LIMIT 5"
    ).fetchall()
    notes: tuple[str, ...] = ()
    if new_prints and not replace:
        lines = ", ".join(str(r[0]) for r in first)
        notes = (
            (
                f"{int(new_prints):,} rows (first at line {lines}) were added as further prints at times that "
                "already had stored prints: the file has no seq column, so a row that matches no stored print is a "
                "new print; if they are corrections of stored prints, load the file with --on-conflict replace"
            ),
        )
    elif replace and differing:
        notes = (
            (
                f"the file's prints replaced the {int(stored_differing):,} stored prints at {int(differing):,} times "
                "where they differed (the file has no seq column: its prints at a time replace that time's prints)"
            ),
        )
    return Comparison(
        **{**c.__dict__, "same": int(same), "new_prints": 0 if replace else int(new_prints),
           "groups_replaced": int(differing) if replace else 0,
           "stored_replaced": int(stored_differing) if replace else 0, "notes": notes}
    )  # fmt: skip


def refusal(source_name: str, c: Comparison) -> str:
    """The message of a load refused because rows conflict with stored ones (policy refuse)."""
    listed = "; ".join(x.sentence() for x in c.conflicts[:3])
    return (
        f"{source_name}: {c.conflicting:,} {'row has' if c.conflicting == 1 else 'rows have'} the key of a row "
        f"already in {c.table.name} but different values "
        f"(first: {listed}); nothing was loaded. Use --on-conflict replace to store the file's values, or "
        "--on-conflict keep to keep the stored ones"
    )


def write(cur, c: Comparison) -> tuple[int, int, int]:
    """Write the rows the policy lets in (inside the load's transaction): (new rows, replaced rows, kept rows)."""
    table = c.table
    cols = ", ".join(table.column_names)
    if c.seqless:
        return _write_prints(cur, c), c.stored_replaced, 0
    (new,) = cur.execute(
        f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM _incoming WHERE _line NOT IN (SELECT _line FROM _match)"
    ).fetchone()
    replaced = kept = 0
    if c.conflicting and c.policy == "keep":
        kept = c.conflicting
    elif c.conflicting and c.policy == "replace":
        t = table.name
        on = " AND ".join(f"{t}.{k} IS NOT DISTINCT FROM i.{k}" for k in table.key)
        if t == "instruments":
            sets = [f"{v} = coalesce(i.{v}, {t}.{v})" for v in c.value_columns]
            market = [v for v in MARKET_COLUMNS if v in c.value_columns]
            if market and "market_source" not in c.value_columns:
                changed = " OR ".join(f"(i.{v} IS NOT NULL AND i.{v} IS DISTINCT FROM {t}.{v})" for v in market)
                sets.append(
                    f"market_source = CASE WHEN {changed} THEN 'the instruments file' ELSE {t}.market_source END"
                )
        else:
            sets = [f"{v} = i.{v}" for v in c.value_columns]
        (replaced,) = cur.execute(
            f"UPDATE {table.name} SET {', '.join(sets)} FROM _incoming i WHERE {on} "
            "AND i._line IN (SELECT _line FROM _match WHERE NOT same)"
        ).fetchone()
    return int(new), int(replaced), int(kept)


def _write_prints(cur, c: Comparison) -> int:
    """Seqless prints: unmatched rows numbered after the stored prints of their time; replace swaps differing times."""
    table, part = c.table, c.part
    cols = ", ".join(table.column_names)
    if c.policy == "replace" and c.groups_replaced:
        in_group = " AND ".join(f"_groups.{k} IS NOT DISTINCT FROM {table.name}.{k}" for k in part)
        cur.execute(f"DELETE FROM {table.name} WHERE EXISTS (SELECT 1 FROM _groups WHERE {DIFFERING} AND {in_group})")
        # the file's prints of those times, numbered in file order, go in place of the stored ones
        of_group = " AND ".join(_eq("i", "_groups", k) for k in part)
        cur.execute(
            f"DELETE FROM _match WHERE _line IN (SELECT i._line FROM _incoming i JOIN _groups ON {of_group} "
            f"WHERE {DIFFERING})"
        )
        cur.execute(f"DELETE FROM _groups WHERE {DIFFERING}")
    exprs = [
        "coalesce(g.max_seq, -1) + row_number() OVER (PARTITION BY "
        + ", ".join(f"i.{k}" for k in part)
        + " ORDER BY i._line)"
        if col == "seq"
        else f"i.{col}"
        for col in table.column_names
    ]
    on = " AND ".join(_eq("i", "g", k) for k in part)
    (new,) = cur.execute(
        f"INSERT INTO {table.name} ({cols}) SELECT {', '.join(exprs)} FROM _incoming i LEFT JOIN _groups g ON {on} "
        "WHERE i._line NOT IN (SELECT _line FROM _match)"
    ).fetchone()
    return int(new)


def record(cur, report, policy: str, outcome: str = "loaded") -> None:
    """Add a load to ``load_history``: a committed one inside its transaction, a refused one on its own."""
    cur.execute(
        "INSERT INTO load_history (loaded_at, file, table_name, format, rows_read, rows_loaded, rows_already_present, "
        "rows_conflicting, rows_replaced, rows_kept, rows_rejected, on_conflict, outcome) "
        "VALUES (current_timestamp AT TIME ZONE 'UTC', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.source,
            report.table,
            report.format,
            report.rows_read,
            report.rows_loaded,
            report.rows_already_present,
            report.rows_conflicting,
            report.rows_replaced,
            report.rows_kept,
            report.rows_rejected,
            policy,
            outcome,
        ],
    )
