"""What a load reports: rejected rows, the load report, the error, and a staged source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[float, str], None]
MAX_REJECTS_LISTED = 1000
MAX_CONFLICTS_LISTED = 100
#: what a load does with a row whose key is stored with different values (``load_file(..., on_conflict=...)``)
ON_CONFLICT = ("refuse", "replace", "keep")


@dataclass(frozen=True)
class Reject:
    """One reason a row was refused: its line in the file (1 = header), the column, and why."""

    line: int
    column: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True)
class Conflict:
    """A file row whose key is already stored with other values: its line, its key, and what differs."""

    line: int
    key: str
    differences: str  # e.g. "close 10.8, stored 10.5"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "key": self.key, "differences": self.differences}

    def sentence(self) -> str:
        return f"line {self.line} ({self.key}): {self.differences}"


@dataclass(frozen=True)
class LoadReport:
    """What a load did (or, for a dry run or a refused file, would have done).

    Attributes
    ----------
    table, source, format : where the rows went and came from.
    columns : our column -> the file's column it was read from (or a note such as "--symbol").
    rows_read : data rows in the file.
    rows_loaded : rows added to the store (0 for a dry run or a refused file).
    rows_already_present : good rows already in the store with the same values (nothing written for them).
    rows_rejected : rows with at least one problem.
    problems : number of (row, column, reason) problems found.
    rejects : the problems, by line (at most ``MAX_REJECTS_LISTED`` listed).
    warnings : remarks that did not stop the load (e.g. timestamps out of order).
    symbols : symbols in the good rows.
    markets : each symbol's market, where it came from and the sentence saying so (``markets.MarketNote``).
    time_zone_note : how times written without an offset were read (empty when every time had one).
    rows_in_session, rows_outside_session, rows_off_calendar : good rows inside their symbol's regular session,
        outside it on a trading day (pre-/post-market, a half day's afternoon, a lunch break), and on days that
        are not trading days of the calendar (weekends, holidays); all are stored, calibration uses the first.
    on_conflict : the policy for rows whose key is stored with other values (``ON_CONFLICT``).
    rows_conflicting : good rows whose key is stored with other values.
    rows_replaced : of those, rows whose stored values the file's replaced (``replace``).
    rows_kept : of those, rows whose stored values were kept and the file's ignored (``keep``).
    conflicts : the conflicting rows, by line (at most ``MAX_CONFLICTS_LISTED`` listed).
    changes : what a load changed in stored rows, in words ("XYZ: time_zone UTC -> Asia/Tokyo"); instruments list
        every change, other tables the first ones.
    rows_new_prints : rows of a file without a seq column added as further prints at a time that already had prints.
    committed : whether the rows are now in the store.
    """

    table: str
    source: str
    format: str
    columns: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_already_present: int = 0
    rows_rejected: int = 0
    problems: int = 0
    rejects: tuple[Reject, ...] = ()
    warnings: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    markets: tuple[Any, ...] = ()
    time_zone_note: str = ""
    rows_in_session: int | None = None
    rows_outside_session: int | None = None
    rows_off_calendar: int | None = None
    on_conflict: str = "refuse"
    rows_conflicting: int = 0
    rows_replaced: int = 0
    rows_kept: int = 0
    conflicts: tuple[Conflict, ...] = ()
    changes: tuple[str, ...] = ()
    rows_new_prints: int = 0
    committed: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``load --json`` document (DESIGN.md section 7) plus extra fields."""
        return {
            "table": self.table,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rejects": [r.to_json() for r in self.rejects],
            "rows_read": self.rows_read,
            "rows_already_present": self.rows_already_present,
            "problems": self.problems,
            "rejects_truncated": self.problems > len(self.rejects),
            "warnings": list(self.warnings),
            "symbols": list(self.symbols),
            "source": self.source,
            "format": self.format,
            "columns": dict(self.columns),
            "markets": [m.to_json() for m in self.markets],
            "time_zone_note": self.time_zone_note,
            "rows_in_session": self.rows_in_session,
            "rows_outside_session": self.rows_outside_session,
            "rows_off_calendar": self.rows_off_calendar,
            "on_conflict": self.on_conflict,
            "rows_conflicting": self.rows_conflicting,
            "rows_replaced": self.rows_replaced,
            "rows_kept": self.rows_kept,
            "conflicts": [c.to_json() for c in self.conflicts],
            "conflicts_truncated": self.rows_conflicting > len(self.conflicts),
            "changes": list(self.changes),
            "rows_new_prints": self.rows_new_prints,
            "committed": self.committed,
            "seconds": round(self.seconds, 4),
        }

    def notes(self) -> list[str]:
        """The report's sentences about markets, time zones and where the rows fall."""
        out = [m.sentence for m in self.markets]
        if self.time_zone_note:
            out.append(self.time_zone_note)
        if self.rows_outside_session is not None:
            total = (self.rows_in_session or 0) + self.rows_outside_session + (self.rows_off_calendar or 0)
            out.append(
                f"{self.rows_outside_session:,} of {total:,} rows are outside the regular session (pre-/post-market) "
                f"and {self.rows_off_calendar:,} on days outside the calendar (weekends, holidays); they are kept in "
                "the store and calibration ignores them"
            )
        return out


class LoadError(ValueError):
    """A file that cannot be loaded; ``report`` holds the per-row reasons when there are any."""

    def __init__(self, message: str, report: LoadReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Source:
    """A staged input: SQL producing one column per file column, how to find each of ours in it.

    ``select_sql`` is a SELECT whose columns are ``exprs`` values keyed by our column names;
    ``line_sql`` gives the file line of a staged row (an expression over its ``_row`` column).
    """

    from_sql: str
    params: dict[str, Any]
    exprs: dict[str, str]  # our column -> SQL expression over from_sql (raw value)
    labels: dict[str, str]  # our column -> the user's name for it (for messages)
    line_sql: str
    line_fix: tuple[int, ...] = ()  # lines DuckDB's reader skipped (structural rejects), sorted
    early_rejects: tuple[Reject, ...] = ()
    file_columns: tuple[str, ...] = ()  # the file's own column names, by position
    first_line: int = 2  # file line of the first data row (2 below a header, 1 without)
    prepare: Callable[[Any], None] | None = None  # run on the load's cursor before staging


#: command-line words in messages -> the Data page's words (the page never tells the user a flag)
_PAGE_WORDS = (
    (r"python -m optexec db market \S+(?: --[a-z]+ \S+)*", "the Markets tab of this page"),
    (r"--calendar CODE(?: \(e\.g\. XNYS\))?", "the Calendar input (e.g. XNYS)"),
    (r"--tz ZONE(?: \(e\.g\. --tz UTC\))?", "the Time zone input (e.g. UTC)"),
    (r"--session HH:MM-HH:MM", "the Session input (HH:MM-HH:MM)"),
    (r"--calendar (\S+)", r"the calendar \1"),
    (r"--tz (\S+)", r"the time zone \1"),
    (r"--session (\S+)", r"the session \1"),
    (r"--skip-bad-rows", "the 'Skip bad rows' option"),
    (r"--on-conflict (replace|keep|refuse)", r"the 'On conflict' choice '\1'"),
    (r"--map FILE_COLUMN=OUR_COLUMN", "renaming the file's columns"),
    (r"--table", "the Table input"),
    (r"--symbol", "the Symbol input"),
    (r"--format (\S+)", r"the Format input (\1)"),
    (r"--db PATH", "another database (OPTEXEC_DB)"),
)


def for_page(message: str) -> str:
    """A load or market message in the Data page's words: its inputs instead of command-line flags."""
    import re

    for pattern, words in _PAGE_WORDS:
        message = re.sub(pattern, words, message)
    return message
