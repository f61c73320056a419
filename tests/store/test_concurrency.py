"""One handle per process, a cursor per thread; a second process gets a clear message."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from optexec.store import db
from optexec.store.loading import load_file

from .conftest import BAR_HEADER, bar_lines


def test_sixteen_threads_mixed_reads_and_loads(tmp_path):
    path = tmp_path / "threads.duckdb"
    con = db.connect(path, build_sample=False)
    files = []
    for k in range(48):
        f = tmp_path / f"bars_{k}.csv"
        f.write_text(BAR_HEADER + bar_lines(f"T{k % 24}", 40, start_minute=40 * (k // 24)))
        files.append(f)
    loaded, errors, reads = [], [], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 3.0

    def worker(i: int) -> None:
        try:
            cur = db.cursor(path)
            assert cur is db.cursor(path)  # one cursor per thread, reused
            mine = files[i::16]
            while time.monotonic() < deadline:
                if mine:
                    report = load_file(con, mine.pop())
                    with lock:
                        loaded.append(report.rows_loaded)
                n = cur.execute("SELECT count(*) FROM bars").fetchone()[0]
                assert n >= 0
                db.info(con)
                db.list_symbols(con)
                with lock:
                    reads[0] += 1
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(loaded) == len(files) and sum(loaded) == 48 * 40
    assert con.cursor().execute("SELECT count(*) FROM bars").fetchone()[0] == 48 * 40
    assert reads[0] > 16
    db.close_all()


def test_same_handle_per_process(tmp_path):
    path = tmp_path / "h.duckdb"
    assert db.connect(path, build_sample=False) is db.connect(str(path), build_sample=False)
    db.close_all()


def test_env_var_picks_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTEXEC_DB", str(tmp_path / "env.duckdb"))
    assert db.resolve_path() == (tmp_path / "env.duckdb").resolve()
    assert db.resolve_path(tmp_path / "x.duckdb") == (tmp_path / "x.duckdb").resolve()
    monkeypatch.delenv("OPTEXEC_DB")
    assert db.resolve_path() == db.DEFAULT_DB_PATH


def test_second_process_gets_a_clear_message_not_a_hang(tmp_path):
    path = tmp_path / "busy.duckdb"
    con = db.open_database(path)
    code = (
        "import sys\n"
        "from optexec.store import db\n"
        "try:\n"
        f"    db.open_database({str(path)!r})\n"
        "except db.DatabaseBusyError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "in use by another program" in result.stdout and "--db" in result.stdout
    assert time.monotonic() - started < 30
    con.close()
    # once the first process lets go, the second one works
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_read_only_requires_an_existing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        db.connect(tmp_path / "none.duckdb", read_only=True, build_sample=False)
