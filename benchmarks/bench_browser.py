"""Benchmark: slider-to-updated-chart latency on the Plan page in a real browser (Debian chromium + Playwright).

Moves the risk-aversion slider one notch at a time. Per move, on the browser's clock: from just before the key press
until the schedule chart has been drawn again (Streamlit mounts a new Plotly chart whenever the figure changes), the
caption shows the new λ and the run has finished, whichever comes last (the page watcher of benchmarks.bench_desks
stamps each of the three). A move whose schedule figure is the same as the previous notch's (the default ticket's
figures at λ = 2e-4, 5e-4 and 1e-3 are equal: every strategy that λ changes is capped by the ticket's 25%
participation limit, so its schedule no longer changes) gets no new chart: Streamlit rightly does not redraw an
unchanged figure. The figure of every notch is computed first, in this process, by the app itself (streamlit.testing
AppTest on the same database and link); such a move is timed to the caption and the run's end and counted in the
"unchanged" column. Beside the latency: the CPU seconds per move of the app server and of the browser (chromium's
processes and Playwright's driver, from /proc), and the websocket bytes the page received per move. Two patterns:
"new values" steps to a value not seen before every time (the Plan page plans the slider's neighbouring notches in
the background, so the wait before the move decides how much of that is done), "revisited" goes back and forth
between two values (plans come from the cache). Prints a table.

With ``--profile``, one more session moves the slider back and forth (cached plans) under chromium's sampling
profiler (CDP ``Profiler``) and prints where the page's main thread spent its time per move: JavaScript by script
file (self time; Plotly's bundle, React, Streamlit's), the renderer's own work outside JavaScript ("(program)":
style, layout, paint, message handling) and garbage collection, beside chromium's counters
(``Performance.getMetrics``: script, style and layout durations, DOM nodes).

    python -m benchmarks.bench_browser [--moves 20] [--slices 390] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.bench_desks import (
    SLIDER,
    WATCH_PAGE,
    _children,
    _cpu_ticks,
    _tree,
    caption_text,
    fresh_app_server,
)
from optexec.ui.ticket import RISK_AVERSION_GRID
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, ROOT, wait_idle

START_NOTCH = RISK_AVERSION_GRID.index(1e-6)  # the page's default


def cpu_s(server_pid: int) -> tuple[float, float]:
    """CPU seconds so far of the app server (with its children) and of the client (this process's other
    children: chromium and Playwright's driver)."""
    tree = _children()
    server = set(_tree(server_pid, tree))
    client = set(_tree(os.getpid(), tree)) - server - {os.getpid()}
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(map(_cpu_ticks, server)) / ticks, sum(map(_cpu_ticks, client)) / ticks


def schedule_specs(db_path: Path, slices: int, notches: set[int]) -> dict[int, dict]:
    """The Plan page's schedule figure (Plotly JSON) at each risk-aversion notch, from the app run by AppTest on
    ``db_path`` with the benchmark's link (``?slices=``)."""
    from streamlit.testing.v1 import AppTest

    previous = os.environ.get("OPTEXEC_DB")
    os.environ["OPTEXEC_DB"] = str(db_path)
    try:
        specs = {}
        for notch in sorted(notches):
            app = AppTest.from_file(str(ROOT / "tests" / "app_entry.py"), default_timeout=300)
            app.query_params["slices"] = str(slices)
            app.session_state["risk_aversion"] = RISK_AVERSION_GRID[notch]
            app.run()
            if app.exception or not app.get("plotly_chart"):
                raise RuntimeError(f"the Plan page at λ = {RISK_AVERSION_GRID[notch]:g} drew no schedule chart")
            specs[notch] = json.loads(app.get("plotly_chart")[0].proto.spec)
        return specs
    finally:
        if previous is None:
            os.environ.pop("OPTEXEC_DB", None)
        else:
            os.environ["OPTEXEC_DB"] = previous


def measure(url: str, server_pid: int, moves: int, slices: int, keys: list[str], pause_s: float,
            specs: dict[int, dict]) -> list[dict]:  # fmt: skip
    """Per move: latency (ms), server and client CPU seconds, websocket bytes and whether the schedule figure is
    unchanged from the previous notch's (``specs``: the figure per notch; module docstring)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        received = [0]
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.__setitem__(0, received[0]
                                                                                 + len(payload))))  # fmt: skip
        page.goto(f"{url}/?slices={slices}")
        wait_idle(page)
        page.wait_for_selector("[data-testid='stMetricValue']")
        page.wait_for_selector(".main-svg")
        page.evaluate(WATCH_PAGE)
        slider = page.get_by_role("slider", name=SLIDER)
        notch, out = START_NOTCH, []
        for i in range(moves):
            page.wait_for_timeout(1000 * pause_s)
            key = keys[i % len(keys)]
            unchanged = specs[notch] == specs[notch + (1 if key == "ArrowRight" else -1)]
            notch += 1 if key == "ArrowRight" else -1
            page.evaluate("(text) => { window.expected = text; window.stamps.text = 0; }", caption_text(
                RISK_AVERSION_GRID[notch]))  # fmt: skip
            before = (*cpu_s(server_pid), received[0])
            slider.focus()
            start_ms = page.evaluate("() => performance.now()")
            slider.press(key)
            deadline = time.perf_counter() + 60
            watched = "[window.stamps.text]" if unchanged else "[window.stamps.chart, window.stamps.text]"
            while min(page.evaluate(f"() => {watched}")) < start_ms:
                if time.perf_counter() > deadline:
                    stamps = {name: round(ms - start_ms) for name, ms in page.evaluate("() => window.stamps").items()}
                    raise RuntimeError(f"move {i + 1}: no change after the key press (ms after it: {stamps})")
                page.wait_for_timeout(5)
            wait_idle(page)
            page.wait_for_timeout(100)  # let a late redraw of the chart land before reading the stamps
            # the run's end, if the page showed it: a run that starts and ends between two renders leaves the
            # script-state attribute as it was (React batches the two changes)
            stamps = page.evaluate("() => window.stamps")
            if unchanged:
                stamps.pop("chart")  # an earlier move's redraw, or none
            latency = max(stamps.values()) - start_ms
            after = (*cpu_s(server_pid), received[0])
            out.append({"ms": latency, "server_s": after[0] - before[0], "client_s": after[1] - before[1],
                        "bytes": after[2] - before[2], "unchanged": unchanged})  # fmt: skip
        browser.close()
    return out


def profile_moves(url: str, moves: int, slices: int, top: int = 8) -> list[str]:
    """Lines of the main thread's time per move over ``moves`` revisiting moves under CDP's sampling profiler (module
    docstring); the first move is not profiled (it warms the plans' cache)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.goto(f"{url}/?slices={slices}")
        wait_idle(page)
        page.wait_for_selector(".main-svg")
        slider = page.get_by_role("slider", name=SLIDER)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})  # µs

        def move(key: str) -> None:
            slider.focus()
            slider.press(key)
            page.wait_for_timeout(200)
            wait_idle(page)
            page.wait_for_timeout(800)  # the chart's redraw lands after the run's end

        move("ArrowRight")
        move("ArrowLeft")
        before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        cdp.send("Profiler.start")
        for i in range(moves):
            move(("ArrowRight", "ArrowLeft")[i % 2])
        profile = cdp.send("Profiler.stop")["profile"]
        after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        browser.close()
    nodes = {node["id"]: node for node in profile["nodes"]}
    by_file: collections.Counter[str] = collections.Counter()
    for node_id, delta_us in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[node_id]["callFrame"]
        by_file[Path(frame["url"]).name or frame["functionName"] or "(anonymous)"] += delta_us
    by_file.pop("(idle)", None)
    busy_ms = sum(by_file.values()) / 1000 / moves
    lines = [f"main thread per move, {moves} moves (revisited, sampled): {busy_ms:.0f} ms busy"]
    lines += [f"  {us / 1000 / moves:7.1f} ms  {name}" for name, us in by_file.most_common(top)]
    counters = {"ScriptDuration": "script", "RecalcStyleDuration": "style", "LayoutDuration": "layout",
                "TaskDuration": "tasks"}  # fmt: skip
    lines.append("  counters per move: " + ", ".join(
        f"{label} {1000 * (after[name] - before[name]) / moves:.0f} ms" for name, label in counters.items())
        + f", DOM nodes {after['Nodes']:.0f}")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--slices", type=int, default=390)
    parser.add_argument("--profile", action="store_true", help="also profile the page's main thread (docstring)")
    args = parser.parse_args()
    # From the default 1e-6 there are 9 larger values on the slider: "new values" steps through them, the next
    # move 0.1 s after the previous one has finished (the notch's background plan is then usually still running)
    # or 1 s after (a trader reading the result: it has finished).
    patterns = {
        "new values, 0.1 s apart": (["ArrowRight"], min(args.moves, 9), 0.0),
        "new values, 1 s apart": (["ArrowRight"], min(args.moves, 9), 0.9),
        "revisited": (["ArrowRight", "ArrowLeft"], args.moves, 0.0),
    }
    from optexec.store.sample import build_sample_database

    with tempfile.TemporaryDirectory() as tmp:
        build_sample_database(Path(tmp) / "db.duckdb")
        notches = set(range(START_NOTCH - 1, len(RISK_AVERSION_GRID)))
        specs = schedule_specs(Path(tmp) / "db.duckdb", args.slices, notches)
    print(f"{'page':<6} {'slices':>6} {'pattern':<24} {'moves':>6} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} "
          f"{'CPU s/move srv/cli':>18} {'kB/move':>8} {'unchanged':>9}")  # fmt: skip

    for pattern, (keys, moves, pause_s) in patterns.items():
        with fresh_app_server() as (url, pid):
            result = measure(url, pid, moves, args.slices, keys, pause_s, specs)
        ms = sorted(r["ms"] for r in result)
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        server_s, client_s = (statistics.mean(r[k] for r in result) for k in ("server_s", "client_s"))
        cpu = f"{server_s:.2f}/{client_s:.2f}"
        kb = statistics.mean(r["bytes"] for r in result) / 1000
        print(
            f"{'Plan':<6} {args.slices:>6} {pattern:<24} {len(ms):>6} {statistics.median(ms):>10.0f} {p90:>8.0f} "
            f"{ms[-1]:>8.0f} {cpu:>18} {kb:>8.1f} {sum(r['unchanged'] for r in result):>9}"
        )
    print(
        "unchanged: moves whose schedule figure equals the previous notch's (timed to the caption and the run's "
        f"end); load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    if args.profile:
        with fresh_app_server() as (url, _):
            print("\n".join(profile_moves(url, max(4, args.moves), args.slices)))


if __name__ == "__main__":
    main()
