"""Benchmark: slider-to-updated-chart latency on the Plan page in a real browser (Debian chromium + Playwright).

Moves the risk-aversion slider one notch at a time. Per move, on the browser's clock: from just before the key
press until the schedule chart has been drawn again (Streamlit mounts a new Plotly chart whenever the figure
changes), the metrics show the new numbers and the run has finished, whichever comes last; a MutationObserver
stamps each of the three in the page. Two patterns: "new values" steps to a value not
seen before every time (the Plan page plans the slider's neighbouring notches in the background, so the wait
before the move decides how much of that is done), "revisited" goes back and forth between two values (plans
come from the cache). Prints a table.

    python -m benchmarks.bench_browser [--moves 20] [--slices 390]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, running_app, wait_idle

WATCH_PAGE = """() => {
    const values = () => document.querySelectorAll("[data-testid='stMetricValue']");
    const metrics = () => [...values()].map(e => e.innerText).join("|");
    const app = document.querySelector("[data-testid='stApp']");
    let shown = metrics();
    window.stamps = {chart: 0, metrics: 0, idle: 0};
    new MutationObserver((mutations) => {
        const now = performance.now();
        for (const mutation of mutations) {
            if (mutation.type === "attributes" && app.getAttribute("data-test-script-state") === "notRunning")
                window.stamps.idle = now;
            for (const node of mutation.addedNodes)
                if (node.nodeType === 1 && (node.matches(".main-svg") || node.querySelector(".main-svg")))
                    window.stamps.chart = now;
        }
        if (metrics() !== shown) { shown = metrics(); window.stamps.metrics = now; }
    }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                               attributeFilter: ["data-test-script-state"]});
}"""


def measure(url: str, moves: int, slices: int, keys: list[str], pause_s: float) -> list[float]:
    """Latency of each move in ms (module docstring)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.goto(f"{url}/?slices={slices}")
        wait_idle(page)
        page.wait_for_selector("[data-testid='stMetricValue']")
        page.wait_for_selector(".main-svg")
        page.evaluate(WATCH_PAGE)
        slider = page.get_by_role("slider", name="Risk aversion λ (1/$)")
        latencies = []
        for i in range(moves):
            page.wait_for_timeout(1000 * pause_s)
            slider.focus()
            start_ms = page.evaluate("() => performance.now()")
            slider.press(keys[i % len(keys)])
            deadline = time.perf_counter() + 60
            while min(page.evaluate("() => [window.stamps.chart, window.stamps.metrics]")) < start_ms:
                if time.perf_counter() > deadline:
                    stamps = {name: round(ms - start_ms) for name, ms in page.evaluate("() => window.stamps").items()}
                    raise RuntimeError(f"move {i + 1}: no change after the key press (ms after it: {stamps})")
                page.wait_for_timeout(5)
            wait_idle(page)
            page.wait_for_timeout(100)  # let a late redraw of the chart land before reading the stamps
            # the run's end, if the page showed it: a run that starts and ends between two renders leaves the
            # script-state attribute as it was (React batches the two changes)
            latencies.append(max(page.evaluate("() => Object.values(window.stamps)")) - start_ms)
        browser.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--slices", type=int, default=390)
    args = parser.parse_args()
    # From the default 1e-6 there are 9 larger values on the slider: "new values" steps through them, the next
    # move 0.1 s after the previous one has finished (the notch's background plan is then usually still running)
    # or 1 s after (a trader reading the result: it has finished).
    patterns = {
        "new values, 0.1 s apart": (["ArrowRight"], min(args.moves, 9), 0.0),
        "new values, 1 s apart": (["ArrowRight"], min(args.moves, 9), 0.9),
        "revisited": (["ArrowRight", "ArrowLeft"], args.moves, 0.0),
    }
    print(f"{'page':<6} {'slices':>6} {'pattern':<24} {'moves':>6} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for pattern, (keys, moves, pause_s) in patterns.items():
        with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "db.duckdb", Path(tmp) / "st.log") as url:
            ms = sorted(measure(url, moves, args.slices, keys, pause_s))
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        print(
            f"{'Plan':<6} {args.slices:>6} {pattern:<24} {len(ms):>6} {statistics.median(ms):>10.0f} {p90:>8.0f} "
            f"{ms[-1]:>8.0f}"
        )


if __name__ == "__main__":
    main()
