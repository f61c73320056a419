"""Benchmark: how long each page of the app takes to show, in a real browser (Debian chromium + Playwright).

One app server on a fresh copy of the bundled sample. For every page in turn, on the browser's clock: the
**first view** (the page opened for the first time since the server started, in a new tab: nothing cached) and
the **repeat view** (the same page opened again in a new tab: a new session, the server's caches warm), each
from the navigation until the page's title is shown, its script run has finished and no spinner or progress bar
is left. Targets (issue 17): first view under 2 s, repeat view under 1 s. Prints a table.

    python -m benchmarks.bench_pages [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.bench_desks import streamlit_server
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port

#: (label, URL path) of every page, in the navigation's order
PAGES = [
    ("Plan", ""),
    ("Compare", "compare"),
    ("Sensitivity", "sensitivity"),
    ("Simulate", "simulate"),
    ("Basket", "basket"),
    ("RL agent", "rl"),
    ("Calibrate", "calibrate"),
    ("Post-trade", "posttrade"),
    ("Data", "data"),
]

#: true once the page is shown and settled: a title, the run finished, no spinner or progress bar left
SETTLED = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  const title = document.querySelector("[data-testid='stMain'] h1");
  const busy = document.querySelector("[data-testid='stSpinner'], [data-testid='stStatusWidgetRunningIcon']");
  return !!(app && title && app.getAttribute("data-test-script-state") === "notRunning" && !busy);
}"""


def view_s(browser, url: str, timeout_s: float = 120.0) -> float:
    """Seconds from navigating a new tab to ``url`` until the page has settled (``SETTLED``, twice 100 ms apart:
    a rerun that the first run asks for is waited for too)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    deadline = started + timeout_s
    settled_at = None
    while True:
        if page.evaluate(SETTLED):
            if settled_at is None:
                settled_at = time.perf_counter()
            elif time.perf_counter() - settled_at >= 0.1:
                break
        else:
            settled_at = None
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} did not settle in {timeout_s:.0f} s")
        page.wait_for_timeout(20)
    page.close()
    return settled_at - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeat views per page (the median is shown)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "OPTEXEC_DB": str(work / "db.duckdb")}
        subprocess.run([sys.executable, "-m", "optexec", "db", "init", "--sample"], env=env, check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
        with streamlit_server(ROOT / "app.py", free_port(), work / "st.log", env) as (url, _pid):
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                view_s(browser, f"{url}/")  # the server's own start-up (imports, the store) is not a page's
                for label, path in PAGES:
                    first = view_s(browser, f"{url}/{path}")
                    repeats = [view_s(browser, f"{url}/{path}") for _ in range(args.repeat)]
                    rows.append((label, first, statistics.median(repeats), max(repeats)))
                browser.close()
    print(f"{'page':<12}{'first view s':>14}{'repeat median s':>17}{'repeat max s':>14}  target first < 2, repeat < 1")
    for label, first, median, worst in rows:
        flag = "" if first < 2 and median < 1 else "  over target"
        print(f"{label:<12}{first:>14.2f}{median:>17.2f}{worst:>14.2f}{flag}")
    print(f"machine load average at the end: {os.getloadavg()[0]:.2f} (a quiet 2-core machine reads < 0.3)")


if __name__ == "__main__":
    main()
