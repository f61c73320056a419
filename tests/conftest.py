"""Shared fixtures: a private sample database, and the Almgren–Chriss Table 1 example (docs/MATH.md section 2)."""

import gc
import os
import sys
import types
from pathlib import Path

import pytest

from optexec.models import MarketParams, Order
from optexec.store.sample import build_sample_database
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def table1_order() -> Order:
    """Sell 10^6 shares over 5 days in 5 slices (docs/MATH.md section 2, Table 1)."""
    return Order("DEMO", "sell", 1e6, 5.0, 5)


@pytest.fixture
def table1_market() -> MarketParams:
    """S0 = 50, sigma = 0.95 $/share/sqrt(day), spread 1/8, eta = 2.5e-6, gamma = 2.5e-7 (Table 1)."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)


@pytest.fixture(scope="session", autouse=True)
def _private_sample_database(tmp_path_factory):
    """Every test process works on its own copy of the bundled sample database, never on the user's default database
    (which a running app may hold)."""
    # the exchange calendars' day tables (optexec.store.calendars) too: a test writes nothing under the home folder
    os.environ.setdefault("OPTEXEC_CACHE_DIR", str(tmp_path_factory.mktemp("calendar_cache")))
    path = tmp_path_factory.mktemp("store") / "optexec.duckdb"
    build_sample_database(path)
    previous = os.environ.get("OPTEXEC_DB")
    os.environ["OPTEXEC_DB"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("OPTEXEC_DB", None)
    else:
        os.environ["OPTEXEC_DB"] = previous


def _browser_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="session")
def browser():
    """One chromium for the whole test run (DESIGN.md section 7): the browser tests in tests/e2e and those next to
    the command-line tests share it (a second Playwright in the same process cannot start)."""
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("OPTEXEC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _installed(path: Path) -> bool:
    """True for a file of the interpreter or an installed package (e.g. pytest's own ``__main__``)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(Path(prefix).resolve()) for prefix in {sys.prefix, sys.base_prefix})


def release_page_modules() -> None:
    """Empty the globals of the page modules in-process app runs left behind, then collect the garbage.

    Streamlit runs a page in a new module named ``__main__`` and installs it in ``sys.modules``; the next run replaces
    it there. Hypothesis keeps every module it read constants from (``constants_from_module``, an lru_cache keyed by
    module), so a replaced page module stays alive to the end, outside ``sys.modules``, whose modules alone the
    interpreter empties at exit; it was still alive when DuckDB's bindings checked for leaks. A page's globals hold
    a DuckDB cursor (``with db.reading() as con`` leaves ``con``): "nanobind: leaked 28 instances" (issue 16)."""
    current = sys.modules.get("__main__")
    for module in [o for o in gc.get_objects() if isinstance(o, types.ModuleType)]:
        if module is current or module.__name__ != "__main__":
            continue
        script = getattr(module, "__file__", None)
        if script and not _installed(Path(script)):  # a page run in-process (the app's or a test's), not pytest's
            module.__dict__.clear()
    gc.collect()


def pytest_unconfigure(config):
    """At the end of the run, let go of the page modules in-process app runs left behind (``release_page_modules``)."""
    release_page_modules()
