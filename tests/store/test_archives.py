"""Zip archives for --format lean|lobster: corrupt, fake, encrypted, unsupported and oversized ones (issue 14).

Every archive is generated here, from a valid one, by patching its bytes: nothing is committed.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from optexec.cli import main
from optexec.store import archives, db
from optexec.store.loading import LoadError, load_file

REPO = Path(__file__).resolve().parents[2]
LEAN_MEMBER = "20131004_spy_minute_trade.csv"
LOBSTER_MEMBERS = (
    "TEST_2012-06-21_34200000_57600000_message_1.csv",
    "TEST_2012-06-21_34200000_57600000_orderbook_1.csv",
)


def lean_rows(n: int) -> bytes:
    """n distinct LEAN minute trade bars (ms, open, high, low, close, volume; prices x 10,000)."""
    return b"".join(
        f"{34_200_000 + 60_000 * k},{1_000_000 + k},{1_001_000 + k},{999_000 + k},{1_000_500 + k},{100 + k}\n".encode()
        for k in range(n)
    )


def lobster_members() -> dict[str, bytes]:
    messages = b"34200.5,1,2,200,1001000,-1\n34201.25,4,2,50,1001000,-1\n"
    book = b"1001000,200,1000000,100\n1001000,150,1000000,100\n"
    return dict(zip(LOBSTER_MEMBERS, (messages, book), strict=True))


def write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def valid_archive(tmp_path: Path, fmt: str) -> Path:
    if fmt == "lean":
        return write_zip(tmp_path / "20131004_trade.zip", {LEAN_MEMBER: lean_rows(200)})
    return write_zip(tmp_path / "LOBSTER_SampleFile_TEST_2012-06-21_1.zip", lobster_members())


def headers(data: bytes) -> list[tuple[int, int]]:
    """(local header offset, central directory entry offset) of every member of a zip held in ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos, central = zf.infolist(), zf.start_dir
    out = []
    for info in infos:
        out.append((info.header_offset, central))
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + name_len + extra_len + comment_len
    return out


def patch(data: bytes, local_at: int, central_at: int, value: int, fmt: str = "<H") -> bytes:
    """Write ``value`` at offset ``local_at`` of every local header and ``central_at`` of every central entry."""
    out = bytearray(data)
    for local, central in headers(data):
        struct.pack_into(fmt, out, local + local_at, value)
        struct.pack_into(fmt, out, central + central_at, value)
    return bytes(out)


def corrupt(kind: str, data: bytes) -> bytes:
    """A damaged copy of a valid zip's bytes (one kind of damage the loaders must name in one line)."""
    if kind == "fake":
        return b"symbol,ts,price\nSPY,2013-10-04 09:30,100\n"  # a CSV renamed .zip
    if kind == "empty":
        return b""
    if kind == "truncated":
        return data[: len(data) // 2]
    if kind == "zlib":  # the deflate stream's first byte: final block of the reserved type 3 (zlib.error)
        out = bytearray(data)
        for local, _ in headers(data):
            name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
            out[local + 30 + name_len + extra_len] = 0xFF
        return bytes(out)
    if kind == "encrypted":  # general purpose flag bit 0
        return patch(data, 6, 8, 0x1)
    if kind == "method99":  # WinZip AES
        return patch(data, 8, 10, 99)
    if kind == "method77":  # a method number no zip reader knows
        return patch(data, 8, 10, 77)
    if kind == "crc":
        return patch(data, 14, 16, 0xDEADBEEF, "<I")
    raise AssertionError(kind)


KINDS = {
    "fake": "is not a readable zip file",
    "empty": "is not a readable zip file",
    "truncated": "is not a readable zip file",
    "zlib": "the archive is damaged",
    "encrypted": "is encrypted",
    "method99": "is encrypted",
    "method77": "compression method 77",
    "crc": "the archive is damaged",
}


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store.duckdb"
    db.open_database(path).close()
    yield path
    db.close_all()


@pytest.mark.parametrize("fmt", ["lean", "lobster"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_damaged_archive_is_one_line_and_exit_2(tmp_path, store, capsys, fmt, kind):
    good = valid_archive(tmp_path, fmt)
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    bad.write_bytes(corrupt(kind, good.read_bytes()))
    assert main(["--db", str(store), "load", str(bad), "--format", fmt, "--calendar", "XNYS"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {good.name}") and KINDS[kind] in err, err
    assert str(tmp_path) not in err  # the archive is named, not where it lies


def test_the_undamaged_archives_load(tmp_path, store):
    con = db.open_database(store)
    try:
        lean = load_file(con, valid_archive(tmp_path, "lean"), format="lean")
        lobster = load_file(con, valid_archive(tmp_path, "lobster"), format="lobster", calendar="XNAS")
    finally:
        con.close()
    assert lean.rows_loaded == 200 and lobster.rows_loaded == 1


def test_a_fake_zip_without_a_format_is_one_line(tmp_path, store, capsys):
    bad = tmp_path / "20131004_trade.zip"
    bad.write_bytes(corrupt("truncated", valid_archive(tmp_path, "lean").read_bytes()))
    assert main(["--db", str(store), "load", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a readable zip file" in err, err


def bomb(path: Path, member: str, n_bytes: int) -> Path:
    """A zip whose one member is ``n_bytes`` of one row repeated (deflate shrinks it about 1,000 times)."""
    row = b"34200000,1000000,1000000,1000000,1000000,100\n"
    block = row * (1 << 14)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(member, "w", force_zip64=True) as out:
        for _ in range(n_bytes // len(block)):
            out.write(block)
    return path


def test_a_zip_bomb_is_refused_before_extraction(tmp_path, store):
    path = bomb(tmp_path / "20131004_trade.zip", LEAN_MEMBER, 40 << 20)
    assert path.stat().st_size < 200_000
    con = db.open_database(store)
    try:
        with pytest.raises(LoadError) as caught:
            load_file(con, path, format="lean")
    finally:
        con.close()
    message = str(caught.value)
    assert message.startswith(f"20131004_trade.zip: {LEAN_MEMBER} expands ")
    assert re.search(r"times \(1\d\d KB to 39\.\d MB\), above the 100x limit", message), message
    assert f"unzip it and load {LEAN_MEMBER} on its own" in message


def test_a_member_above_the_size_limit_is_refused(tmp_path, store, monkeypatch):
    monkeypatch.setenv(archives.MEMBER_ENV_VAR, "0.5")
    path = write_zip(tmp_path / "20131004_trade.zip", {LEAN_MEMBER: lean_rows(20_000)})
    con = db.open_database(store)
    try:
        with pytest.raises(LoadError, match=r"is 9\d\d KB uncompressed, above the 512 KB limit") as caught:
            load_file(con, path, format="lean")
        monkeypatch.setenv(archives.MEMBER_ENV_VAR, "4")  # the way to load it anyway that the message names
        assert load_file(con, path, format="lean").rows_loaded == 20_000
    finally:
        con.close()
    assert archives.MEMBER_ENV_VAR in str(caught.value) and LEAN_MEMBER in str(caught.value)


def test_an_unzipped_lean_csv_loads_on_its_own(tmp_path, store):
    """The way round the limits that their message names: the member, unzipped, loads without --format."""
    path = tmp_path / LEAN_MEMBER
    path.write_bytes(lean_rows(50))
    con = db.open_database(store)
    try:
        report = load_file(con, path)
    finally:
        con.close()
    assert (report.format, report.table, report.rows_loaded, report.source) == ("lean", "bars", 50, LEAN_MEMBER)


def test_a_header_that_understates_the_size_extracts_no_more_than_it_says(tmp_path, store):
    good = write_zip(tmp_path / "good.zip", {LEAN_MEMBER: lean_rows(5_000)}).read_bytes()
    liar = tmp_path / "20131004_trade.zip"
    liar.write_bytes(patch(good, 22, 24, 1_000, "<I"))  # says 1,000 bytes uncompressed
    con = db.open_database(store)
    try:
        with pytest.raises(LoadError, match="the archive is damaged"):
            load_file(con, liar, format="lean")
    finally:
        con.close()


def test_the_copy_is_capped_while_reading(tmp_path):
    out = io.BytesIO()
    with pytest.raises(LoadError, match="a.zip: m.csv holds more than 1 KB, more than its header says"):
        archives.copy_capped(io.BytesIO(b"x" * 5_000), out, 1_024, "a.zip: m.csv")
    assert len(out.getvalue()) <= 1_024 + archives.CHUNK_BYTES  # stopped at the first chunk past the cap
    assert archives.copy_capped(io.BytesIO(b"x" * 5_000), io.BytesIO(), 5_000, "a.zip: m.csv") == 5_000


@pytest.mark.parametrize("value", ["abc", "0", "-3", "inf"])
def test_a_bad_limit_in_the_environment_is_named(monkeypatch, value):
    monkeypatch.setenv(archives.MEMBER_ENV_VAR, value)
    with pytest.raises(LoadError, match=archives.MEMBER_ENV_VAR):
        archives.member_limit_bytes()


PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
print(done.stderr, end="")
"""


def test_a_zip_bomb_keeps_the_command_line_small(tmp_path, store):
    """A 64 MB member of one repeated row (a 65 KB zip): refused in one line; the CLI's peak RSS stays small.

    Before the limits this load reached about 1 GB (4 GB for the issue's 256 MB member).
    """
    path = bomb(tmp_path / "20131004_trade.zip", LEAN_MEMBER, 64 << 20)
    command = [sys.executable, "-m", "optexec", "--db", str(store), "load", str(path), "--format", "lean"]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *command], capture_output=True, text=True, cwd=REPO, check=True
    )
    first, *err = done.stdout.splitlines()
    code, peak_mb = map(int, first.split())
    assert code == 2 and len(err) == 1 and "expands" in err[0], done.stdout
    assert peak_mb < 400, f"peak RSS {peak_mb} MB"


def test_lean_lines_are_the_files_lines(tmp_path, store):
    """Rows numbered as the reader returns them: a bad row is named by its own line, no false order warning."""
    n = 400_000
    rows = [f"{34_200_000 + k // 20},{1_000_000 + k % 7},{1 + k % 50},Q,00000000,0\n" for k in range(n)]
    bad = 123_457
    rows[bad - 1] = f"{34_200_000 + (bad - 1) // 20},1000000,-5,Q,00000000,0\n"  # a negative size
    rows[999] = "34250000,1000000\n"  # too few columns: dropped by the reader, reported with its own line
    path = write_zip(tmp_path / "20131007_trade.zip", {"20131007_ibm_Trade_Tick.csv": "".join(rows).encode()})
    con = db.open_database(store)
    try:
        report = load_file(con, path, format="lean", skip_bad_rows=True, dry_run=True)
    finally:
        con.close()
    assert sorted({r.line for r in report.rejects}) == [1000, bad], report.rejects[:3]
    assert [r.column for r in report.rejects if r.line == bad] == ["size"]
    assert not [w for w in report.warnings if "earlier than the row before" in w], report.warnings


def test_a_gzipped_csv_bomb_is_refused_early(tmp_path, store):
    path = tmp_path / "bars.csv.gz"
    row = b"SYM,2025-01-02T14:30:00Z,10,11,9,10.5,100\n"
    with gzip.open(path, "wb") as out:
        out.write(b"symbol,ts,open,high,low,close,volume\n")
        for _ in range(40):
            out.write(row * (1 << 15))  # 40 x 1.3 MB of one repeated row
    con = db.open_database(store)
    try:
        with pytest.raises(LoadError, match=r"^bars\.csv\.gz expands more than 100 times \(") as caught:
            load_file(con, path, calendar="XNYS")
    finally:
        con.close()
    assert "gunzip it and load bars.csv on its own" in str(caught.value)


def test_a_gzipped_csv_above_the_size_limit_or_damaged_is_refused(tmp_path, store, monkeypatch):
    rows = "".join(f"SYM,2025-01-02T14:{k // 60 % 60:02d}:{k % 60:02d}Z,10,11,9,10.5,{k}\n" for k in range(20_000))
    path = tmp_path / "bars.csv.gz"
    path.write_bytes(gzip.compress(("symbol,ts,open,high,low,close,volume\n" + rows).encode()))
    damaged = tmp_path / "damaged.csv.gz"
    damaged.write_bytes(path.read_bytes()[:2_000])
    monkeypatch.setenv(archives.MEMBER_ENV_VAR, "0.5")
    con = db.open_database(store)
    try:
        with pytest.raises(LoadError, match=r"^bars\.csv\.gz expands to more than the 512 KB limit"):
            load_file(con, path, calendar="XNYS", skip_bad_rows=True)
        with pytest.raises(LoadError, match=r"damaged\.csv\.gz: Compressed file ended"):
            load_file(con, damaged, calendar="XNYS")
        with pytest.raises(LoadError, match=r"^damaged\.csv\.gz is not a readable gzip file \(Compressed file ended"):
            archives.check_gzip(damaged)
        monkeypatch.delenv(archives.MEMBER_ENV_VAR)
        assert load_file(con, path, calendar="XNYS", skip_bad_rows=True).rows_read == 20_000
    finally:
        con.close()
