"""The Data page under AppTest (issue 14): validation once per uploaded file, no machine details shown, damaged
archives as an error, the on-conflict choice."""

from __future__ import annotations

import functools
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from optexec.store import db, loading
from tests.shown import shown
from tests.store.conftest import BAR_HEADER, bar_lines

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "data.py")
LEAN_MEMBER = "20131004_spy_minute_trade.csv"


@pytest.fixture
def page_db(tmp_path, monkeypatch):
    path = tmp_path / "store" / "page.duckdb"
    path.parent.mkdir()
    con = db.open_database(path)
    csv = tmp_path / "PAGE-A.csv"
    csv.write_text(BAR_HEADER + bar_lines("PAGE-A", 30))
    loading.load_file(con, csv, calendar="XNYS")
    con.close()
    monkeypatch.setenv(db.ENV_VAR, str(path))
    yield path
    db.close_all()


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def texts(at: AppTest) -> list[str]:
    """Everything the page shows as text (markdown, captions, messages), as the browser shows it."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "subheader", "title")
    return [shown(str(element.value)) for kind in kinds for element in at.get(kind)]


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    return at.get("file_uploader")[0].set_value((name, content, "application/octet-stream")).run()


@pytest.fixture
def calls(monkeypatch):
    """The page's calls of the loader: each dry run (a validation), each load, each preview."""
    seen = {"dry_run": 0, "load": 0, "preview": 0}

    def counting(function, name):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            seen[name if name == "preview" else ("dry_run" if kwargs.get("dry_run") else "load")] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(loading, "load_file", counting(loading.load_file, "load"))
    monkeypatch.setattr(loading, "preview_file", counting(loading.preview_file, "preview"))
    return seen


def test_validation_runs_once_per_uploaded_file(page_db, calls):
    at = page()
    at.text_input(key="data_calendar").input("XNYS").run()
    content = (BAR_HEADER + bar_lines("UPL", 5)).encode()
    upload(at, "upload.csv", content)
    assert not at.exception and not at.error
    assert any("5 rows into **bars**: 5 good, 0 rejected" in t for t in texts(at))
    assert calls == {"dry_run": 1, "load": 0, "preview": 1}
    at.checkbox(key="data_skip").check().run()  # reruns of the page: nothing validated again
    at.number_input(key="data_days").set_value(3).run()
    at.selectbox(key="data_symbol").set_value("PAGE-A").run()
    upload(at, "upload.csv", content)  # the same file uploaded again: same content, same result
    assert calls == {"dry_run": 1, "load": 0, "preview": 1}
    assert any("5 rows into **bars**: 5 good, 0 rejected" in t for t in texts(at))
    at.text_input(key="data_tz").input("UTC").run()  # an input the result depends on: validated again
    assert calls["dry_run"] == 2
    upload(at, "other.csv", (BAR_HEADER + bar_lines("UPL", 6)).encode())  # another file
    assert calls["dry_run"] == 3 and any("6 rows into **bars**" in t for t in texts(at))
    at.button(key="data_load_button").click().run()
    assert calls["load"] == 1 and calls["dry_run"] == 3
    assert any("Loaded 6 rows into bars" in t for t in texts(at))
    assert "UPL" in at.dataframe[0].value["symbol"].tolist()  # Browse shows what the load stored
    at.checkbox(key="data_skip").uncheck().run()
    assert calls == {"dry_run": 3, "load": 1, "preview": 3}
    assert any("Loaded 6 rows into bars" in t for t in texts(at))


def test_no_path_of_the_machine_is_shown(page_db, tmp_path):
    at = page()
    assert not at.exception
    upload(at, "prices.parquet", b"PAR1 this is not parquet at all")
    upload(at, "20131004_trade.zip", b"not a zip")
    at.selectbox(key="data_format").set_value("lean").run()
    shown_text = " ".join(texts(at))
    assert "20131004_trade.zip is not a readable zip file" in shown_text
    for secret in (str(tmp_path), str(page_db), "optexec-upload-", "/tmp/"):
        assert secret not in shown_text, secret
    assert "File: 20131004_trade.zip" in shown_text  # the name as uploaded


def test_no_parquet_path_in_its_error(page_db, tmp_path):
    at = page()
    upload(at, "prices.parquet", b"PAR1 this is not parquet at all")
    (error,) = at.error
    assert shown(error.value).startswith("cannot read prices.parquet")
    assert "/" not in shown(error.value).split("prices.parquet", 1)[1], error.value


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


def test_a_busy_store_names_no_process_id(page_db, monkeypatch):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(page_db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        db.close_all()
        monkeypatch.setenv(db.WAIT_ENV_VAR, "0.5")
        at = page()
        assert not at.exception
        (error,) = at.error
        text = shown(error.value)
        assert "busy" in text and "another process" in text, text
        assert str(holder.pid) not in text and str(page_db) not in text and "/" not in text, text
    finally:
        holder.kill()
        holder.wait()


def lean_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def patched(data: bytes, local_at: int, central_at: int, value: int) -> bytes:
    """A one-member zip with a two-byte field of its local header and its central entry set to ``value``."""
    out = bytearray(data)
    out[local_at : local_at + 2] = value.to_bytes(2, "little")
    central = data.rindex(b"PK\x01\x02")
    out[central + central_at : central + central_at + 2] = value.to_bytes(2, "little")
    return bytes(out)


GOOD_LEAN = lean_zip({LEAN_MEMBER: b"34200000,1000000,1001000,999000,1000500,100\n"})
DAMAGED = {
    "encrypted": (patched(GOOD_LEAN, 6, 8, 1), "is encrypted"),
    "method 99": (patched(GOOD_LEAN, 8, 10, 99), "is encrypted"),
    "method 77": (patched(GOOD_LEAN, 8, 10, 77), "compression method 77"),
    "zlib": (GOOD_LEAN[: 30 + len(LEAN_MEMBER)] + b"\xff" + GOOD_LEAN[31 + len(LEAN_MEMBER) :], "is damaged"),
    "fake": (b"ms,open\n1,2\n", "is not a readable zip file"),
}


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_zip_is_an_error_not_an_exception(page_db, kind):
    content, words = DAMAGED[kind]
    at = page()
    at.selectbox(key="data_format").set_value("lean").run()
    upload(at, "20131004_trade.zip", content)
    assert not at.exception
    (error,) = at.error
    assert shown(error.value).startswith("20131004_trade.zip") and words in shown(error.value), error.value


def test_a_zip_bomb_is_refused_by_the_page(page_db):
    buffer = io.BytesIO()
    block = b"34200000,1000000,1000000,1000000,1000000,100\n" * (1 << 14)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(LEAN_MEMBER, "w") as out:
        for _ in range(60):  # 45 MB of one repeated row in a zip of about 130 KB
            out.write(block)
    at = page()
    started = time.process_time()
    upload(at, "20131004_trade.zip", buffer.getvalue())
    assert not at.exception and time.process_time() - started < 30
    (error,) = at.error
    assert re.search(r"expands \d+ times .* above the 100x limit", shown(error.value)), error.value


needs_policy = pytest.mark.skipif(
    "on_conflict" not in __import__("inspect").signature(loading.load_file).parameters,
    reason="loading.load_file has no on_conflict keyword yet (part A)",
)


@needs_policy
def test_the_on_conflict_choice(page_db):
    at = page()
    corrected = (BAR_HEADER + bar_lines("PAGE-A", 3)).replace(",10.5,", ",10.8,", 1).encode()
    upload(at, "corrected.csv", corrected)
    assert not at.exception and not at.error
    assert any("1 stored with other values (conflicts)" in t for t in texts(at)), texts(at)
    choice = at.radio(key="data_on_conflict_bars")
    assert choice.value == "refuse" and list(choice.options) == [
        "refuse: load nothing, list the conflicts",
        "replace: store the file's values",
        "keep: keep the stored values, add only new rows",
    ]
    at.button(key="data_load_button").click().run()
    (error,) = at.error
    assert "nothing was loaded" in shown(error.value) and "the 'On conflict' choice 'replace'" in shown(error.value)
    at.radio(key="data_on_conflict_bars").set_value("replace").run()
    at.button(key="data_load_button").click().run()
    assert not at.exception and not at.error
    assert any("1 stored rows replaced by the file's values" in t for t in texts(at)), texts(at)
    db.close_all()
    with db.reading(os.environ[db.ENV_VAR]) as con:
        closes = con.execute("SELECT close FROM bars WHERE symbol = 'PAGE-A' ORDER BY ts LIMIT 2").fetchall()
    assert closes == [(10.8,), (10.5,)]
