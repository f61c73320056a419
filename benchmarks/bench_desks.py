"""Benchmark: many desks at once on one app server (issue 14, item 8), in real browsers (chromium + Playwright).

One ``streamlit run app.py`` server (and, as the bare reference, one server of a trivial page with the same
slider, a metric and a caption) on a private copy of the sample database. For each number of desks N: N browser
sessions (one chromium, one context each, asyncio) open the Plan page at once, each from its own shared link
(symbol, side, size, horizon and risk aversion differ per desk and per N, so no desk finds its plan in the cache),
and wait for the first full render (metrics, schedule chart, the caption's λ, script state ``notRunning``). Then
each desk moves the risk-aversion slider one notch at a time (up, back down at the end), a think time of
``--think`` s (±50%) after each result, at least ``--moves`` times; a move is timed on the browser's clock from
just before the key press until the caption shows the new λ, the schedule chart has been drawn again and the run
has finished. While the N desks move, ``--joins`` more sessions open the page one after the other ("join": a
desk's first load while N others are busy) and close again.

Alongside: the health endpoint's round trip during the moves (p90, and in brackets how often it did not answer
within 2 s), the server's peak RSS, how the machine's cores were spent (per cent of one core: the servers, the
browsers with Playwright, everything else, i.e. other processes on the machine), the servers' CPU seconds and the
level's wall time; the CPU seconds per first load (the N desks opening at once, over N) and per move (the moving
phase less the joins' loads, over the moves) of the app server and of the browsers, and the websocket bytes a
browser received per first load and per move. The browsers run on the same cores as the server here; on a
trading floor they are on the desks' own machines.
Errors: loads or moves that failed or timed out, or showed an exception.

    python -m benchmarks.bench_desks [--desks 1,8,16] [--moves 10] [--joins 3] [--think 1.0] [--port 8601]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import async_playwright

from optexec.store import sample
from optexec.ui.ticket import RISK_AVERSION_GRID
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port

SLIDER = "Risk aversion λ (1/$)"
SYMBOLS = ("SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE")
HORIZONS_DAYS = (0.25, 0.5, 1.0, 2.0)
PAGE_TIMEOUT_S = 180
MOVE_TIMEOUT_S = 120
VIEWPORT = {"width": 1400, "height": 1000}

#: the trivial page: the same slider, a metric and a caption with λ, nothing computed
BARE_PAGE = textwrap.dedent(
    f'''
    """Bare reference for benchmarks.bench_desks: a slider, a metric, a caption."""
    import streamlit as st

    GRID = {RISK_AVERSION_GRID!r}
    if "risk_aversion" not in st.session_state:
        linked = float(st.query_params.get("risk_aversion", 1e-6))
        st.session_state["risk_aversion"] = min(GRID, key=lambda v: abs(v - linked))
    st.title("Bare reference")
    lam = st.sidebar.select_slider({SLIDER!r}, GRID, format_func=lambda v: f"{{v:g}}", key="risk_aversion")
    st.metric("Risk aversion", f"{{lam:g}}")
    st.caption(f"★ = lowest E + λ·Var at λ = {{lam:g}} per $.")
    '''
)

#: stamps (browser clock) of the caption showing the expected λ, a new chart, and the run's end
#: (benchmarks.bench_browser uses it too)
WATCH_PAGE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    window.expected = null;
    window.stamps = {text: 0, chart: 0, idle: 0};
    const shows = (text) => [...document.querySelectorAll("[data-testid='stCaptionContainer']")]
        .some(e => e.innerText.includes(text));
    new MutationObserver((mutations) => {
        const now = performance.now();
        for (const mutation of mutations) {
            if (mutation.type === "attributes" && app.getAttribute("data-test-script-state") === "notRunning")
                window.stamps.idle = now;
            for (const node of mutation.addedNodes)
                if (node.nodeType === 1 && (node.matches(".main-svg") || node.querySelector(".main-svg")))
                    window.stamps.chart = now;
        }
        if (window.expected !== null && window.stamps.text === 0 && shows(window.expected))
            window.stamps.text = now;
    }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                               attributeFilter: ["data-test-script-state"]});
}"""

#: the page is fully drawn: run finished, metrics, (chart), and the caption shows λ
READY = """([expected, chart]) => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
    if (document.querySelector("[data-testid='stException']")) return "exception";
    if (!document.querySelector("[data-testid='stMetricValue']")) return false;
    if (chart && !document.querySelector(".main-svg")) return false;
    return [...document.querySelectorAll("[data-testid='stCaptionContainer']")]
        .some(e => e.innerText.includes(expected)) ? "ok" : false;
}"""

#: a move is done: caption shows the new λ, a chart was drawn after the press (Plan), the run has finished; or
#: ("unchanged") the same, but UNCHANGED_GRACE_MS after the run's end the chart drawn before the press is still on
#: the page: the figure did not change (e.g. every strategy capped by the participation limit at both notches), so
#: Streamlit kept its chart (a new figure is a new element id: the old chart leaves the page as the new one comes).
#: Such moves waited 120 s for a chart that never came.
UNCHANGED_GRACE_MS = 1000
MOVED = """([start, chart, grace]) => {
    const app = document.querySelector("[data-testid='stApp']");
    if (document.querySelector("[data-testid='stException']")) return "exception";
    const s = window.stamps;
    if (app.getAttribute("data-test-script-state") !== "notRunning" || s.text < start) return false;
    if (!chart || s.chart >= start) return "ok";
    if (performance.now() - Math.max(s.text, s.idle) < grace) return false;
    return window.chartBefore && window.chartBefore.isConnected ? "unchanged" : false;
}"""


def caption_text(risk_aversion: float) -> str:
    return f"λ = {risk_aversion:g} per $"


@dataclass(frozen=True)
class Desk:
    """One desk's shared link: the order and the slider's starting notch."""

    symbol: str
    side: str
    shares: int
    horizon_days: float
    notch: int

    def query(self, kind: str) -> str:
        values = {"risk_aversion": repr(RISK_AVERSION_GRID[self.notch])}
        if kind == "plan":
            values = {"symbol": self.symbol, "side": self.side, f"shares.{self.symbol}": str(self.shares),
                      "horizon_days": repr(self.horizon_days), **values}  # fmt: skip
        return "/?" + urllib.parse.urlencode(values)


def desks_for(count: int, level: int, adv_shares: dict[str, float], rng: random.Random) -> list[Desk]:
    """Realistic, distinct links: 1–15% of ADV, both sides, horizons from a quarter day to two days, λ from 1e-7
    to 1e-4 (a size unique to the desk and the level: no plan is in the cache from an earlier desk)."""
    desks = []
    for i in range(count):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        fraction = rng.uniform(0.01, 0.15)
        shares = int(round(fraction * adv_shares[symbol], -2)) + 100 * (level * 64 + i)
        desks.append(Desk(symbol, ("buy", "sell")[i % 2], shares, HORIZONS_DAYS[(i // 2) % 4], rng.randint(4, 15)))
    return desks


@dataclass
class Result:
    """What one level (one page kind, N desks) measured."""

    loads_s: list[float] = field(default_factory=list)
    joins_s: list[float] = field(default_factory=list)
    moves_s: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_timeouts: int = 0
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    rss_peak_mb: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    load_cpu_s: dict[str, float] = field(default_factory=dict)  # server/client CPU s while the N desks opened
    move_cpu_s: dict[str, float] = field(default_factory=dict)  # ... while they moved (the joins' loads too)
    load_bytes: list[int] = field(default_factory=list)  # websocket bytes the browser received per first load
    move_bytes: int = 0  # websocket bytes the desks' browsers received while they moved

    def per_move_cpu_s(self, group: str) -> float:
        """CPU seconds of ``group`` per move: the moving phase's, less the joins' loads (at the load phase's CPU
        per load), over the moves."""
        loads = len(self.loads_s) or 1
        joins = self.load_cpu_s.get(group, 0.0) / loads * len(self.joins_s)
        return max(0.0, self.move_cpu_s.get(group, 0.0) - joins) / max(1, len(self.moves_s))


# --- the machine: RSS and CPU from /proc ---------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _tree(root: int, tree: dict[int, list[int]]) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, []))
    return out


def _cpu_ticks(pid: int) -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    return 0


def _machine_ticks() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return sum(int(f) for f in fields) - int(fields[3]) - int(fields[4])  # all but idle and iowait


class Sampler:
    """Every 0.2 s on a thread: the app server's RSS (peak kept) and the CPU ticks of every process of the
    servers and of the client (Playwright's driver and chromium: this process's other children), each pid's last
    value kept so that processes ending in between (the renderers of closed contexts) still count. ``cpu()``: per
    cent of one core over the interval for the servers, the client and everything else on the machine."""

    def __init__(self, app_pid: int, server_pids: list[int]) -> None:
        self.app_pid, self.server_pids, self.peak_mb = app_pid, server_pids, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last: dict[str, dict[int, int]] = {"server": {}, "client": {}}
        self._sample()
        self._base = {group: dict(ticks) for group, ticks in self._last.items()}
        self._start = self._end = (time.monotonic(), _machine_ticks())

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, rss_mb(self.app_pid))
        tree = _children()
        server = {p for s in self.server_pids for p in _tree(s, tree)}
        client = set(_tree(os.getpid(), tree)) - server - {os.getpid()}
        for group, pids in (("server", server), ("client", client)):
            for pid in pids:
                ticks = _cpu_ticks(pid)
                if ticks:
                    self._last[group][pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._end = (time.monotonic(), _machine_ticks())

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds of the servers and of the client since the start (sampled now)."""
        self._sample()
        return {
            group: sum(t - self._base[group].get(p, 0) for p, t in last.items()) / os.sysconf("SC_CLK_TCK")
            for group, last in self._last.items()
        }

    def cpu(self) -> dict[str, float]:
        ticks_per_percent = max(1e-9, self._end[0] - self._start[0]) * os.sysconf("SC_CLK_TCK") / 100
        used = {
            group: sum(t - self._base[group].get(p, 0) for p, t in last.items()) / ticks_per_percent
            for group, last in self._last.items()
        }
        machine = (self._end[1] - self._start[1]) / ticks_per_percent
        server_s = used["server"] / 100 * (self._end[0] - self._start[0])
        return {**used, "others": max(0.0, machine - used["server"] - used["client"]), "server_s": server_s}


# --- servers -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def streamlit_server(script: Path, port: int, log_path: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`streamlit run <script>` headless on ``port`` (the project's .streamlit/config.toml applies); yields
    (url, pid) once /_stcore/health says ok. Its own session: a Ctrl-C reaches only this process, which stops it."""
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true", "--server.port",
             str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while not _healthy(url):
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"streamlit did not start; see {log_path}")
                time.sleep(0.3)
            yield url, server.pid
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def fresh_app_server() -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` on a free port and a private copy of the bundled sample (a temporary folder): its
    (url, pid)."""
    from optexec.store.sample import build_sample_database

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        build_sample_database(tmp / "db.duckdb")
        env = {**os.environ, "OPTEXEC_DB": str(tmp / "db.duckdb")}
        with streamlit_server(ROOT / "app.py", free_port(), tmp / "st.log", env) as server:
            yield server


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _health_round_trip_ms(url: str) -> float | None:
    start = time.perf_counter()
    return 1000 * (time.perf_counter() - start) if _healthy(url) else None


async def poll_health(url: str, result: Result, stop: asyncio.Event) -> None:
    """The health endpoint's round trip every 0.25 s until ``stop`` (on a thread: urllib blocks)."""
    while not stop.is_set():
        ms = await asyncio.to_thread(_health_round_trip_ms, url)
        if ms is None:
            result.health_timeouts += 1  # no "ok" within 2 s: the reference probe's, not a desk's error
        else:
            result.health_ms.append(ms)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


# --- one desk ------------------------------------------------------------------------------------------------


def count_bytes(page) -> dict[str, int]:
    """A counter of the websocket bytes ``page`` receives from now on (``["bytes"]``)."""
    counter = {"bytes": 0}

    def on_frame(payload) -> None:
        counter["bytes"] += len(payload)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return counter


async def open_page(browser, url: str, desk: Desk, chart: bool) -> tuple[object, object, float]:
    """A new context on the desk's link; (context, page, seconds to the first full render). ``page.received``
    counts the websocket bytes the page has received."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.received = count_bytes(page)
    start = time.perf_counter()
    try:
        await page.goto(url + desk.query("plan" if chart else "bare"), timeout=1000 * PAGE_TIMEOUT_S)
        handle = await page.wait_for_function(
            READY, arg=[caption_text(RISK_AVERSION_GRID[desk.notch]), chart], timeout=1000 * PAGE_TIMEOUT_S
        )
        if await handle.json_value() == "exception":
            raise RuntimeError("the page shows an exception")
    except BaseException:
        await context.close()
        raise
    return context, page, time.perf_counter() - start


async def move(page, notch: int, step: int, chart: bool) -> float:
    """Press the slider one notch (``step`` = ±1) to ``notch``; seconds from the press to the new numbers, drawn
    and idle."""
    expected = caption_text(RISK_AVERSION_GRID[notch])
    await page.evaluate("(text) => { window.expected = text; window.stamps.text = 0; }", expected)
    slider = page.get_by_role("slider", name=SLIDER)
    await page.evaluate("() => { window.chartBefore = document.querySelector('.js-plotly-plot'); }")
    await slider.focus()
    start_ms = await page.evaluate("() => performance.now()")
    await slider.press("ArrowRight" if step > 0 else "ArrowLeft")
    handle = await page.wait_for_function(
        MOVED, arg=[start_ms, chart, UNCHANGED_GRACE_MS], polling=20, timeout=1000 * MOVE_TIMEOUT_S
    )
    outcome = await handle.json_value()
    if outcome == "exception":
        raise RuntimeError("the page shows an exception after a move")
    stamps = await page.evaluate("() => window.stamps")
    drawn = stamps["chart"] if chart and outcome == "ok" else 0  # an unchanged figure: timed to the caption, run end
    return (max(stamps["text"], drawn, stamps["idle"]) - start_ms) / 1000


async def run_desk(page, desk: Desk, chart: bool, args, keep_going, result: Result, rng: random.Random) -> None:
    """At least ``args.moves`` moves, then more while ``keep_going()`` (joins still opening)."""
    notch, step, done = desk.notch, 1, 0
    while done < args.moves or keep_going():
        if not 0 <= notch + step < len(RISK_AVERSION_GRID):
            step = -step
        notch += step
        try:
            result.moves_s.append(await move(page, notch, step, chart))
        except Exception as error:  # noqa: BLE001 - an error is a result of the benchmark
            result.errors.append(f"move: {type(error).__name__}: {str(error).splitlines()[0][:120]}")
            return
        done += 1
        await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))


async def run_level(browser, url: str, pid: int, chart: bool, desks: list[Desk], joiners: list[Desk], args,
                    server_pids: list[int]) -> Result:  # fmt: skip
    """N desks open at once, then move while the joiners open one after the other."""
    result = Result()
    contexts = []
    start = time.monotonic()
    with Sampler(pid, server_pids) as sampler:
        try:
            opened = await asyncio.gather(*(open_page(browser, url, d, chart) for d in desks), return_exceptions=True)
            pages = []
            for item, desk in zip(opened, desks, strict=True):
                if isinstance(item, BaseException):
                    result.errors.append(
                        f"load {desk.symbol}: {type(item).__name__}: {str(item).splitlines()[0][:120]}"
                    )
                    continue
                context, page, seconds = item
                contexts.append(context)
                result.loads_s.append(seconds)
                result.load_bytes.append(page.received["bytes"])
                await page.evaluate(WATCH_PAGE)
                pages.append((page, desk))
            result.load_cpu_s = sampler.cpu_seconds()
            loaded = {id(page): page.received["bytes"] for page, _ in pages}
            joining = [True]
            stop = asyncio.Event()

            async def joins() -> None:
                await asyncio.sleep(1.0)
                for joiner in joiners:
                    try:
                        context, _, seconds = await open_page(browser, url, joiner, chart)
                        result.joins_s.append(seconds)
                        await context.close()
                    except Exception as error:  # noqa: BLE001
                        result.errors.append(f"join: {type(error).__name__}: {str(error).splitlines()[0][:120]}")
                joining[0] = False

            health = asyncio.create_task(poll_health(url, result, stop))
            await asyncio.gather(
                joins(),
                *(run_desk(p, d, chart, args, lambda: joining[0], result, random.Random(i)) for i, (p, d) in
                  enumerate(pages)),
            )  # fmt: skip
            stop.set()
            await health
            moved = sampler.cpu_seconds()
            result.move_cpu_s = {group: moved[group] - result.load_cpu_s.get(group, 0.0) for group in moved}
            result.move_bytes = sum(page.received["bytes"] - loaded[id(page)] for page, _ in pages)
        finally:
            for context in contexts:
                with contextlib.suppress(Exception):
                    await context.close()
    result.rss_peak_mb = sampler.peak_mb
    result.cpu = sampler.cpu()
    result.wall_s = time.monotonic() - start
    return result


# --- the table -----------------------------------------------------------------------------------------------


def quantiles(values: list[float]) -> str:
    if not values:
        return f"{'–':>17}"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.median(ordered):5.2f} {p90:5.2f} {ordered[-1]:5.2f}"


HEADER = (
    f"{'desks':>5} {'page':<5} {'first load p50/p90/max s':>24} {'join p50/max s':>14} {'moves':>5} "
    f"{'move p50/p90/max s':>18} {'health p90 ms (t/o)':>19} {'RSS peak MB':>11} {'CPU% srv/cli/oth':>16} "
    f"{'srv CPU s':>9} {'CPU s/load srv/cli':>18} {'CPU s/move srv/cli':>18} {'kB/load':>7} {'kB/move':>7} "
    f"{'wall s':>6} {'errors':>6}"
)


def row(desks: int, kind: str, r: Result) -> str:
    joins = "–" if not r.joins_s else f"{statistics.median(r.joins_s):.2f} {max(r.joins_s):.2f}"
    health = sorted(r.health_ms)
    health_p90 = f"{health[min(len(health) - 1, int(0.9 * len(health)))]:.0f}" if health else "–"
    health_p90 += f" ({r.health_timeouts})"
    cpu = f"{r.cpu['server']:.0f}/{r.cpu['client']:.0f}/{r.cpu['others']:.0f}"
    loads = max(1, len(r.loads_s))
    per_load = f"{r.load_cpu_s.get('server', 0) / loads:.2f}/{r.load_cpu_s.get('client', 0) / loads:.2f}"
    per_move = f"{r.per_move_cpu_s('server'):.2f}/{r.per_move_cpu_s('client'):.2f}"
    load_kb = statistics.median(r.load_bytes) / 1000 if r.load_bytes else 0.0
    move_kb = r.move_bytes / 1000 / max(1, len(r.moves_s))
    return (
        f"{desks:>5} {kind:<5} {quantiles(r.loads_s):>24} {joins:>14} {len(r.moves_s):>5} {quantiles(r.moves_s):>18} "
        f"{health_p90:>19} {r.rss_peak_mb:>11.0f} {cpu:>16} {r.cpu['server_s']:>9.1f} {per_load:>18} {per_move:>18} "
        f"{load_kb:>7.0f} {move_kb:>7.1f} {r.wall_s:>6.0f} {len(r.errors):>6}"
    )


async def run_all(args, servers: dict[str, tuple[str, int]]) -> None:
    adv = {s: p["adv_shares"] for s, p in sample.planted_params()["symbols"].items()}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for kind, (url, _) in servers.items():  # a first session each: imports, first run, caches
                _, _, seconds = await open_page(browser, url, Desk("SYN-MID", "sell", 75_000, 1.0, 7), kind == "plan")
                print(f"warm-up session ({kind}): first load {seconds:.2f} s")
            print(f"app server RSS after warm-up: {rss_mb(servers['plan'][1]):.0f} MB; "
                  f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
            print(HEADER)
            for level, count in enumerate(args.desks):
                for kind, (url, pid) in servers.items():
                    rng = random.Random(1000 * level + count)
                    desks = desks_for(count + args.joins, level + 1, adv, rng)
                    result = await run_level(browser, url, pid, kind == "plan", desks[:count], desks[count:], args,
                                             [p for _, p in servers.values()])  # fmt: skip
                    print(row(count, kind, result), flush=True)
                    for error in result.errors[:3]:
                        print(f"      {error}")
            print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        finally:
            with contextlib.suppress(Exception):
                await browser.close()


@contextlib.contextmanager
def desk_servers(args) -> Iterator[tuple[dict[str, tuple[str, int]], Path]]:
    """The app server (``--port`` or a free one) and the bare reference's on a private copy of the sample database,
    the machine and the run's settings printed; yields ({"plan": (url, pid), "bare": (url, pid)}, the database's
    path) and, when they stop, prints the first traceback the app server logged."""
    from optexec.store.sample import build_sample_database

    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        tmp = Path(folder)
        build_sample_database(tmp / "db.duckdb")
        (tmp / "bare.py").write_text(BARE_PAGE)
        env = {**os.environ, "OPTEXEC_DB": str(tmp / "db.duckdb")}
        servers = {
            "plan": stack.enter_context(
                streamlit_server(ROOT / "app.py", args.port or free_port(), tmp / "app.log", env)
            ),
            "bare": stack.enter_context(streamlit_server(tmp / "bare.py", free_port(), tmp / "bare.log", env)),
        }
        print(f"{os.cpu_count()} cores; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
              f"{args.moves} moves per desk, think {args.think} s, {args.joins} joins per level")  # fmt: skip
        try:
            yield servers, tmp / "db.duckdb"
        finally:
            log = (tmp / "app.log").read_text()
            if "Traceback" in log:
                print(f"the app server logged {log.count('Traceback')} traceback(s); the first:\n"
                      + log[log.index("Traceback"):][:2000])  # fmt: skip


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def desk_arguments(description: str) -> argparse.ArgumentParser:
    """The options of a many-desks benchmark (this one and bench_desks_protocol)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--desks", default="1,8,16", help="numbers of concurrent desks, e.g. 1,8,16")
    parser.add_argument("--moves", type=int, default=10, help="slider moves per desk (at least)")
    parser.add_argument("--joins", type=int, default=3, help="sessions opened while the desks move")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a result and the next move")
    parser.add_argument("--port", type=int, default=0, help="the app server's port (default: a free one)")
    return parser


def parse_desk_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The parsed options (``--desks`` as a list of ints), with SIGTERM stopping the run like Ctrl-C."""
    args = parser.parse_args()
    args.desks = [int(n) for n in args.desks.split(",")]
    signal.signal(signal.SIGTERM, _interrupt)
    return args


def main() -> None:
    args = parse_desk_arguments(desk_arguments(__doc__.splitlines()[0]))

    with desk_servers(args) as (servers, _db_path):
        try:
            asyncio.run(run_all(args, servers))
        except KeyboardInterrupt:
            print("interrupted: stopping the browsers and servers", file=sys.stderr)


if __name__ == "__main__":
    main()
