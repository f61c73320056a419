"""Fixtures: the bundled sample database (built once per session) and one calibration per sample symbol."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optexec.calibration import run
from optexec.store import db, sample

#: ../shared/marketdata beside the checkout (or beside a folder above it: a git worktree under /work/wt/NAME)
MARKETDATA = next(
    (p / "shared" / "marketdata" for p in Path(__file__).resolve().parents if (p / "shared" / "marketdata").exists()),
    Path(__file__).resolve().parents[3] / "shared" / "marketdata",
)
SYMBOLS = ("SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE")


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("calibrate") / "sample.duckdb"
    sample.build_sample_database(path)
    return path


@pytest.fixture(scope="session")
def sample_con(sample_db):
    con = db.open_database(sample_db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def calibrations(sample_con) -> dict[str, run.Calibration]:
    """A full calibration of every sample symbol over the whole sample (computed once)."""
    return {symbol: run.calibrate(sample_con, symbol) for symbol in SYMBOLS}


@pytest.fixture
def db_copy(sample_db, tmp_path) -> Path:
    """A writable copy of the sample database for tests that save runs."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(sample_db, path)
    return path


@pytest.fixture
def planted() -> dict:
    return sample.planted_params()["symbols"]
