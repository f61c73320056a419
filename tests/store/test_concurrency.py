"""Short-lived connections: the app holds no lock while idle, threads share a path, other processes wait or get
a clear message (optexec.store.db)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from optexec.store import db
from optexec.store.loading import load_file

from .conftest import BAR_HEADER, bar_lines

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# another process: open the file (read-only or not), report, optionally hold it for a while
OTHER = textwrap.dedent(
    """
    import sys, time
    from optexec.store import db
    path, mode, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    try:
        con = db.open_database(path, read_only=(mode == "ro"))
    except db.DatabaseBusyError as exc:
        print(exc); sys.exit(3)
    if mode == "rw":
        con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('OTHER', 'UTC') ON CONFLICT DO NOTHING")
    print("opened", flush=True)
    time.sleep(hold)
    con.close()
    """
)


def other_process(path, mode: str, hold: float = 0.0, wait: float = 0.0, background: bool = False):
    """Run OTHER in a new Python process (``background``: return the Popen once it has the file open)."""
    env = {**os.environ, db.WAIT_ENV_VAR: str(wait), "PYTHONPATH": ROOT}
    args = [sys.executable, "-c", OTHER, str(path), mode, str(hold)]
    if not background:
        return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "opened", proc.stderr.read()
    return proc


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "store.duckdb"
    with db.writing(file) as con:
        load_file(con, _csv(tmp_path, "A", 30), calendar="XNYS")
    yield file
    db.close_all()


def _csv(tmp_path, symbol: str, n: int, start_minute: int = 0):
    file = tmp_path / f"{symbol}_{start_minute}.csv"
    file.write_text(BAR_HEADER + bar_lines(symbol, n, start_minute))
    return file


def test_nothing_is_held_between_blocks(path):
    with db.reading(path) as con:
        assert db.list_symbols(con) == ["A"]
    with db.writing(path) as con:
        con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('B', 'UTC')")
    result = other_process(path, "rw")  # no waiting allowed: the file must be free right away
    assert result.returncode == 0, result.stdout + result.stderr
    with db.reading(path) as con:
        assert db.list_symbols(con) == ["A", "B", "OTHER"]


def test_readers_in_two_processes_at_once_and_a_writer_gets_a_clear_message(path):
    with db.reading(path) as con:
        assert other_process(path, "ro").returncode == 0  # another reader is fine
        started = time.monotonic()
        result = other_process(path, "rw", wait=0.5)
        assert result.returncode == 3, result.stdout + result.stderr
        assert f"process {os.getpid()}" in result.stdout and "busy" in result.stdout
        assert "stop the app" not in result.stdout
        assert time.monotonic() - started < 30
        assert db.list_symbols(con) == ["A"]


def test_an_open_waits_for_another_process_and_announces_it_once(path):
    notices = []
    db.set_wait_notice(notices.append)
    holder = other_process(path, "rw", hold=1.0, background=True)
    try:
        started = time.monotonic()
        with db.reading(path) as con:
            waited = time.monotonic() - started
            assert db.list_symbols(con) == ["A", "OTHER"]  # the other process's write, once it let go
    finally:
        db.set_wait_notice(None)
        holder.wait(30)
    assert waited > 0.3
    assert len(notices) == 1 and f"held by process {holder.pid}" in notices[0]


def test_busy_past_the_wait_names_the_holder(path, monkeypatch):
    monkeypatch.setenv(db.WAIT_ENV_VAR, "0.3")
    holder = other_process(path, "rw", hold=3.0, background=True)
    try:
        with pytest.raises(db.DatabaseBusyError, match=f"process {holder.pid}") as caught:
            with db.reading(path):
                pass
    finally:
        holder.wait(30)
    assert "open for writing" in str(caught.value) and "stop the app" not in str(caught.value)


def test_sixteen_threads_read_and_write_one_file(path, tmp_path):
    files = [_csv(tmp_path, f"T{k % 8}", 20, start_minute=20 * (k // 8)) for k in range(32)]
    loaded, errors, reads = [], [], [0]
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            mine = files[i::16]
            for _ in range(6):
                if mine:
                    with db.writing(path) as con:
                        report = load_file(con, mine.pop(), calendar="XNYS")
                    with lock:
                        loaded.append(report.rows_loaded)
                with db.reading(path) as con:
                    assert con.execute("SELECT count(*) FROM bars").fetchone()[0] >= 30
                    db.info(con)
                with lock:
                    reads[0] += 1
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(loaded) == len(files) and sum(loaded) == 32 * 20
    assert reads[0] == 16 * 6
    with db.reading(path) as con:
        assert con.execute("SELECT count(*) FROM bars").fetchone()[0] == 30 + 32 * 20
    assert other_process(path, "rw").returncode == 0  # and nothing is left open


def test_a_writer_waits_for_this_process_readers_and_new_readers_queue_behind_it(path):
    events = []
    reader_in = threading.Event()

    def writer() -> None:
        reader_in.wait(10)
        with db.writing(path) as con:
            events.append("write")
            con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('W', 'UTC')")

    thread = threading.Thread(target=writer)
    thread.start()
    with db.reading(path) as con:
        reader_in.set()
        time.sleep(0.3)
        with db.reading(path) as nested:  # the same thread again: joins, never waits for the queued writer
            assert db.list_symbols(nested) == ["A"]
        events.append("read")
    thread.join(30)
    with db.reading(path) as con:
        assert db.list_symbols(con) == ["A", "W"]
    assert events == ["read", "write"]


def test_reading_inside_reading_cannot_write(path):
    with db.reading(path):
        with pytest.raises(ValueError, match="read-only"):
            with db.writing(path):
                pass


def test_blocks_join_a_connect_handle_of_this_process(path):
    con = db.connect(path)
    assert db.connect(str(path)) is con and db.connect(path, read_only=True) is con
    con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('C', 'UTC')")
    with db.reading(path) as reader:
        assert db.list_symbols(reader) == ["A", "C"]
    with db.writing(path) as writer:
        writer.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('D', 'UTC')")
    assert db.list_symbols(con) == ["A", "C", "D"]  # still open after the blocks
    db.close_all()
    assert other_process(path, "rw").returncode == 0


def test_a_block_joins_an_unmanaged_connection_of_this_process(path):
    con = db.open_database(path)
    try:
        with db.reading(path) as reader:
            assert db.list_symbols(reader) == ["A"]
    finally:
        con.close()


def test_missing_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="does not exist"):
        with db.reading(tmp_path / "none.duckdb"):
            pass
    with pytest.raises(ValueError, match="does not exist"):
        db.connect(tmp_path / "none.duckdb", read_only=True, build_sample=False)
    with db.writing(tmp_path / "new" / "new.duckdb") as con:  # a writer creates it, with the schema
        assert db.list_symbols(con) == []
    monkeypatch.setattr(db, "DEFAULT_DB_PATH", tmp_path / "default" / "optexec.duckdb")
    with db.reading(tmp_path / "default" / "optexec.duckdb") as con:  # the default one is built from the sample
        assert "SYN-LARGE" in db.list_symbols(con)


def test_not_a_database_is_a_plain_error(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database\n" * 100)
    with pytest.raises(ValueError, match="cannot open the database"):
        with db.reading(bad):
            pass


def test_version_changes_when_another_process_writes(path):
    before = db.version(path)
    holder = other_process(path, "rw", hold=1.0, background=True)  # committed, still open: in the WAL
    during = db.version(path)
    holder.wait(30)  # closed: checkpointed into the file
    after = db.version(path)
    assert len({before, during, after}) == 3
    with db.reading(path):
        pass
    assert db.version(path) == after  # reading changes nothing


def test_wait_setting(monkeypatch):
    monkeypatch.delenv(db.WAIT_ENV_VAR, raising=False)
    assert db.wait_seconds() == db.DEFAULT_WAIT_SECONDS == 10.0
    monkeypatch.setenv(db.WAIT_ENV_VAR, "2.5")
    assert db.wait_seconds() == 2.5
    monkeypatch.setenv(db.WAIT_ENV_VAR, "soon")
    with pytest.raises(ValueError, match="OPTEXEC_DB_WAIT_SECONDS must be a number of seconds >= 0, got 'soon'"):
        db.wait_seconds()


def test_env_var_picks_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTEXEC_DB", str(tmp_path / "env.duckdb"))
    assert db.resolve_path() == (tmp_path / "env.duckdb").resolve()
    assert db.resolve_path(tmp_path / "x.duckdb") == (tmp_path / "x.duckdb").resolve()
    monkeypatch.delenv("OPTEXEC_DB")
    assert db.resolve_path() == db.DEFAULT_DB_PATH
