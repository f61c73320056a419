"""A real browser against a real server: Debian's chromium driven by Playwright (DESIGN.md section 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import running_app

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> Iterator[str]:
    """The app served by `streamlit run app.py` on a free port, with a private database."""
    with running_app(
        tmp_path_factory.mktemp("db") / "optexec.duckdb", tmp_path_factory.mktemp("log") / "st.log"
    ) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 2200}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot (the full page, or what the viewport shows) once the frontend has drawn the finished run."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
