from __future__ import annotations

from pathlib import Path

import pytest

from optexec import cli
from optexec.store import db, sample

#: ../shared/marketdata beside the checkout (or beside a folder above it: a git worktree under /work/wt/NAME)
MARKETDATA = next(
    (p / "shared" / "marketdata" for p in Path(__file__).resolve().parents if (p / "shared" / "marketdata").exists()),
    Path(__file__).resolve().parents[3] / "shared" / "marketdata",
)
BAR_HEADER = "symbol,ts,open,high,low,close,volume\n"


def bar_lines(symbol: str, n: int, start_minute: int = 0) -> str:
    """n valid one-minute bars as CSV lines (UTC, explicit Z)."""
    rows = []
    for k in range(start_minute, start_minute + n):
        hour, minute = divmod(14 * 60 + 30 + k, 60)
        day = 2 + hour // 24
        rows.append(f"{symbol},2025-01-{day:02d}T{hour % 24:02d}:{minute:02d}:00Z,10,11,9,10.5,{100 + k}\n")
    return "".join(rows)


@pytest.fixture
def con(tmp_path):
    connection = db.open_database(tmp_path / "test.duckdb")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    sample.build_sample_database(path)
    return path


def run_command(argv, capsys) -> tuple[int, str, str]:
    """Run a store sub-command (``load``, ``db ...``) in this process: (exit code, stdout, stderr)."""
    code = cli.main(argv)
    db.close_all()
    out = capsys.readouterr()
    return code, out.out, out.err


def count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
