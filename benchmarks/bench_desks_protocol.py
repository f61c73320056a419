"""Benchmark: what one app server gives many desks whose browsers run elsewhere (issue 14, item 8), at the protocol.

``benchmarks.bench_desks`` runs N real chromium sessions on the server's own two cores; there the browsers, not the
server, are the limit. Here each desk speaks Streamlit's own websocket protocol (``/_stcore/stream``, protobuf
BackMsg/ForwardMsg of Streamlit 1.67) from this one Python process, as a browser's frontend would, but draws nothing:

- it fetches the desk's link (the index page), ``/_stcore/health`` (which sets the XSRF cookie) and
  ``/_stcore/host-config``, then opens the websocket with the frontend's subprotocols (``streamlit`` and the XSRF
  token), the cookie and an ``Origin`` of the server, and asks for the first run (a ``rerun_script`` BackMsg with the
  link's query string, no page: the Plan page is the default);
- it keeps what the frontend keeps: the widgets' values as each widget's element first showed them (the value a
  browser reports for a widget it has drawn; the buttons' triggers are not sent, as nobody presses them), the query
  string and page the server last sent, and the forward-message cache (cacheable elements by hash, their hashes sent
  with every rerun, ``ref_hash`` messages resolved from it, entries dropped two runs after last use);
- a first load is timed from the first HTTP request to the end of the run (``script_finished``) with the whole
  page's deltas: the metrics, the schedule chart (Plan) and the caption with the link's λ; the risk-aversion
  slider's widget id and options come from its element;
- a move sets the slider one notch up or down (the widget state a browser sends, all other widgets' values with it)
  and is timed from sending the BackMsg until a new schedule chart delta (Plan), the caption with the new λ and the
  end of the run (the fragment's run: the slider reruns the results only) have arrived; a think time of ``--think`` s
  (±50%) follows each result, as in bench_desks.

Per number of desks N, on the app server and on bench_desks' bare reference page (its slider, a metric, a caption):
N protocol desks from bench_desks' per-desk links (no desk finds its plan in the cache) open at once, then move at
least ``--moves`` times while ``--joins`` more protocol sessions open one after the other ("join": a first load while
N others are busy). Then, on the app server, a mixed level: N−1 protocol desks move while ONE real chromium desk
(Playwright, bench_desks' page watcher, open_page and move timing; it waits for a redrawn chart only when the page was
sent a new figure) opens the page ("first load while busy") and moves: what one trader sees when the other desks'
browsers are on their own machines.

Alongside: the health endpoint's round trip, the server's peak RSS, per cent of one core for the servers, this client
(the protocol desks in this process, and chromium with Playwright's driver) and everything else; the app server's CPU
seconds per first load and per move; the websocket payload bytes a desk received per first load and per move; and
("unch.") the moves whose schedule figure equals the one before (a ticket whose strategies are all held at its
participation limit: the server still sends the chart, as a reference to the desk's cache when it can; the browser
does not draw it again).
Before the levels, a check that the protocol desk sees what the app draws: its schedule figure at three notches (a
first load and two moves on the link ``?slices=390``) equals the figure AppTest computes in this process
(``benchmarks.bench_browser.schedule_specs``). Errors: loads or moves that failed, timed out or showed an exception.

    python -m benchmarks.bench_desks_protocol [--desks 1,8,16] [--moves 10] [--joins 3] [--think 1.0]
        [--no-browser-desk] [--no-check]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks import bench_desks
from benchmarks.bench_desks import (
    MOVE_TIMEOUT_S,
    PAGE_TIMEOUT_S,
    SLIDER,
    Desk,
    Result,
    Sampler,
    desk_arguments,
    desk_servers,
    desks_for,
    parse_desk_arguments,
    poll_health,
    quantiles,
    rss_mb,
)
from optexec.store import sample
from optexec.ui.ticket import RISK_AVERSION_GRID

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
MAX_CACHED_MESSAGE_AGE = 2  # runs; Streamlit's global.maxCachedMessageAge, which the frontend's cache follows
CONTEXT = {"timezone": "UTC", "timezone_offset": 0, "locale": "en-US", "is_embedded": False, "color_scheme": "light"}
_HTTP = ThreadPoolExecutor(max_workers=64, thread_name_prefix="desk-http")  # the desks' HTTP requests block


def caption_mark(risk_aversion: float) -> str:
    """What the page's caption says of λ (bench_desks.caption_text without the "$", which markdown escapes)."""
    return f"λ = {risk_aversion:g} per"


class DeskError(RuntimeError):
    """A load or move that failed: the server showed an exception, ended the run wrongly, or closed the socket."""


# --- the frontend's state: widget values and the message cache ------------------------------------------------


#: elements with a widget id whose browser state is a trigger (a press) or a selection: nothing until a user acts
NO_STATE = {"button", "download_button", "form_submit_button", "dataframe", "plotly_chart", "arrow_vega_lite_chart",
            "deck_gl_json_chart", "map"}  # fmt: skip


def _chosen(options, indices) -> list[str]:
    return [options[int(i)] for i in indices]


def widget_state(element) -> WidgetState | None:
    """The state a browser reports for a widget element it has just drawn (its initial value, or the value the
    script set); None for an element that is no widget or whose value is a trigger (buttons)."""
    kind = element.WhichOneof("type")
    widget = getattr(element, kind)
    if kind in NO_STATE or not getattr(widget, "id", ""):
        return None
    state = WidgetState(id=widget.id)
    if kind in ("selectbox", "radio"):
        if widget.set_value and widget.HasField("raw_value"):
            state.string_value = widget.raw_value
        elif widget.HasField("default"):
            state.string_value = widget.options[widget.default]
    elif kind == "button_group":
        values = list(widget.raw_values) if widget.set_value else [widget.options[i].content for i in widget.default]
        state.string_array_value.data.extend(values)
    elif kind == "number_input":
        present = widget.HasField("value") if widget.set_value else widget.HasField("default")
        if present:
            value = widget.value if widget.set_value else widget.default
            if widget.data_type == widget.INT:
                state.int_value = int(value)
            else:
                state.double_value = value
    elif kind == "slider":
        values = list(widget.value) if widget.set_value else list(widget.default)
        if widget.options:  # a select_slider: the chosen options' labels
            state.string_array_value.data.extend(
                list(widget.raw_value) if widget.set_value and widget.raw_value else _chosen(widget.options, values)
            )
        else:
            state.double_array_value.data.extend(values)
    elif kind == "checkbox":
        state.bool_value = widget.value if widget.set_value else widget.default
    elif kind in ("time_input", "text_input", "text_area"):
        value = widget.value if widget.set_value else widget.default
        if value or widget.HasField("default"):
            state.string_value = value
    elif kind == "date_input":
        state.string_array_value.data.extend(list(widget.value) if widget.set_value else list(widget.default))
    else:
        raise DeskError(f"a {kind} widget: the protocol desk does not know its browser state")
    return state


@dataclass
class Run:
    """What one script run sent: the final status, a schedule chart, the captions' text, an exception."""

    status: int | None = None
    chart: dict | None = None
    texts: list[str] = field(default_factory=list)
    metrics: int = 0
    exception: str = ""
    references: int = 0  # elements sent as a reference to the desk's message cache
    end: float = 0.0  # perf_counter when the run's end arrived


class ProtocolDesk:
    """One session spoken to at the protocol level (module docstring)."""

    def __init__(self, url: str, link: str) -> None:
        self.url, self.link = url, link
        self.query_string = link.split("?", 1)[1] if "?" in link else ""
        self.page_script_hash = ""
        self.widgets: dict[str, WidgetState] = {}
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (message, run it was last used in)
        self.runs = 0
        self.received_bytes = 0
        self.slider_id = ""
        self.slider_options: list[str] = []
        self.notch = -1
        self.chart: dict | None = None  # the schedule figure last received
        self.unchanged = 0  # moves whose schedule figure equals the one before (the server still sends it)
        self.sent = BackMsg()  # the last BackMsg sent
        self.ws: ClientConnection | None = None
        self._inbox: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    # -- connecting -----------------------------------------------------------------------------------------

    def _http(self) -> str:
        """The browser's requests before the websocket: the page, health (its XSRF cookie), host config."""
        with urllib.request.urlopen(self.url + self.link, timeout=PAGE_TIMEOUT_S) as response:
            response.read()
        with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=PAGE_TIMEOUT_S) as response:
            cookies = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
            response.read()
        with urllib.request.urlopen(f"{self.url}/_stcore/host-config", timeout=PAGE_TIMEOUT_S) as response:
            response.read()
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            if name.strip() == "_streamlit_xsrf":
                return rest.split(";", 1)[0]
        raise DeskError("the health endpoint set no XSRF cookie")

    async def open(self, timeout_s: float = PAGE_TIMEOUT_S) -> tuple[float, Run]:
        """Connect and run the link's first run; (seconds from the first request to the page's end, the run)."""
        start = time.perf_counter()
        xsrf = await asyncio.get_running_loop().run_in_executor(_HTTP, self._http)
        ws_url = "ws" + self.url.removeprefix("http") + "/_stcore/stream"
        self.ws = await asyncio.wait_for(
            connect(ws_url, subprotocols=["streamlit", xsrf], origin=self.url,
                    additional_headers={"Cookie": f"_streamlit_xsrf={xsrf}"}, max_size=None),
            timeout_s,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await self._send_rerun()
        run = await self._until_finished(time.perf_counter(), chart=None, mark=None, deadline=start + timeout_s)
        self.chart = run.chart
        return run.end - start, run

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for data in self.ws:
                self._inbox.put_nowait((time.perf_counter(), data if isinstance(data, bytes) else data.encode()))
        except ConnectionClosed:
            pass
        finally:
            self._inbox.put_nowait((time.perf_counter(), None))

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader

    # -- the protocol ---------------------------------------------------------------------------------------

    async def _send_rerun(self) -> None:
        assert self.ws is not None
        self.sent = self.rerun_message()
        await self.ws.send(self.sent.SerializeToString())

    def rerun_message(self) -> BackMsg:
        """The rerun_script BackMsg a browser would send now: query string and page as the server last set them,
        every widget's value, the cached messages' hashes, the browser's context."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_script_hash
        state.widget_states.widgets.extend(self.widgets.values())
        state.cached_message_hashes.extend(self.cache)
        state.context_info.CopyFrom(type(state.context_info)(url=self.url + "/", **CONTEXT))
        return message

    async def _until_finished(self, start: float, chart: bool | None, mark: str | None, deadline: float) -> Run:
        """Read messages until a run ends successfully after ``start``; the run's content. ``chart``: a schedule
        chart is required (None: whatever the page draws); ``mark``: text a caption must show."""
        run, seen = Run(), set()
        while True:
            try:
                stamp, data = await asyncio.wait_for(self._inbox.get(), max(0.01, deadline - time.perf_counter()))
            except TimeoutError:
                raise TimeoutError(f"no end of the run within the timeout ({len(seen)} widgets seen)") from None
            if data is None:
                raise DeskError("the server closed the websocket")
            self.received_bytes += len(data)
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "ref_hash":
                run.references += 1
                if message.ref_hash not in self.cache:
                    raise DeskError(f"a reference to a message not in the cache ({message.ref_hash})")
                cached, _ = self.cache[message.ref_hash]
                metadata = message.metadata
                message = ForwardMsg()
                message.CopyFrom(cached)
                message.metadata.CopyFrom(metadata)
                kind = message.WhichOneof("type")
            if message.metadata.cacheable and message.hash:
                self.cache[message.hash] = (message, self.runs)
            elif message.hash in self.cache:
                self.cache[message.hash] = (self.cache[message.hash][0], self.runs)
            if kind == "navigation" and message.navigation.page_script_hash:
                self.page_script_hash = message.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query_string = message.page_info_changed.query_string
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._element(message, run, seen)
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise DeskError("the script did not compile")
                if status in FINISHED:
                    self.runs += 1
                    self.cache = {h: (m, r) for h, (m, r) in self.cache.items()
                                  if self.runs - r <= MAX_CACHED_MESSAGE_AGE}  # fmt: skip
                    if status == ForwardMsg.FINISHED_SUCCESSFULLY:  # a full run: widgets not drawn are gone
                        self.widgets = {i: w for i, w in self.widgets.items() if i in seen}
                    if run.exception:
                        raise DeskError(f"the page shows an exception: {run.exception}")
                    if chart and run.chart is None:
                        raise DeskError("the run ended without a new schedule chart")
                    if mark is not None and not any(mark in text for text in run.texts):
                        raise DeskError(f"the run ended without the caption's {mark!r}")
                    if chart is None and not run.metrics:
                        raise DeskError("the first run drew no metric")
                    run.status, run.end = status, stamp
                    return run

    def _element(self, message: ForwardMsg, run: Run, seen: set[str]) -> None:
        element = message.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.exception = f"{element.exception.type}: {element.exception.message[:120]}"
        elif kind == "plotly_chart" and message.metadata.delta_path[:1] == [0]:  # the main area's (only) chart
            run.chart = json.loads(element.plotly_chart.spec)
        elif kind == "markdown":
            run.texts.append(element.markdown.body)
        elif kind == "metric":
            run.metrics += 1
        state = widget_state(element)
        if state is None:
            return
        seen.add(state.id)
        if state.id not in self.widgets or getattr(element, kind).set_value:
            self.widgets[state.id] = state
        if kind == "slider" and element.slider.label == SLIDER:
            self.slider_id, self.slider_options = state.id, list(element.slider.options)
            self.notch = self.slider_options.index(self.widgets[state.id].string_array_value.data[0])

    async def move(self, step: int, chart: bool, timeout_s: float = MOVE_TIMEOUT_S) -> tuple[float, Run]:
        """The slider one notch up (``step`` = 1) or down (-1); (seconds from the BackMsg to the new results and
        the run's end, the run)."""
        if not self.slider_id:
            raise DeskError(f"the page drew no slider {SLIDER!r}")
        notch = self.notch + step
        state = WidgetState(id=self.slider_id)
        state.string_array_value.data.append(self.slider_options[notch])
        self.widgets[self.slider_id] = state
        self.notch = notch
        start = time.perf_counter()
        await self._send_rerun()
        run = await self._until_finished(start, chart, caption_mark(RISK_AVERSION_GRID[notch]), start + timeout_s)
        if chart:
            self.unchanged += run.chart == self.chart
            self.chart = run.chart
        return run.end - start, run


# --- a level -------------------------------------------------------------------------------------------------


def _error(where: str, error: BaseException) -> str:
    text = str(error).splitlines()[0][:120] if str(error) else ""
    return f"{where}: {type(error).__name__}: {text}"


async def open_desk(url: str, desk: Desk, kind: str) -> tuple[ProtocolDesk, float]:
    """A protocol desk on ``desk``'s link, its first load done; the slider at the link's notch is checked."""
    session = ProtocolDesk(url, desk.query(kind))
    try:
        seconds, _ = await session.open()
        if session.notch != desk.notch:
            raise DeskError(f"the slider shows notch {session.notch}, the link asked for {desk.notch}")
    except BaseException:
        await session.close()
        raise
    return session, seconds


async def run_protocol_desk(session: ProtocolDesk, chart: bool, args, keep_going: Callable[[], bool],
                            result: Result, rng: random.Random) -> None:  # fmt: skip
    """At least ``args.moves`` moves, then more while ``keep_going()``, one notch at a time, bouncing at the ends."""
    step, done = 1, 0
    while done < args.moves or keep_going():
        if not 0 <= session.notch + step < len(RISK_AVERSION_GRID):
            step = -step
        try:
            seconds, _ = await session.move(step, chart)
        except Exception as error:  # noqa: BLE001 - an error is a result of the benchmark
            result.errors.append(_error("move", error))
            return
        result.moves_s.append(seconds)
        done += 1
        await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))


class FrameWatch:
    """The ForwardMsgs a chromium page receives (Playwright's websocket frames): the runs that ended and the
    schedule figure the page was last sent, so that a move knows whether the page will draw a new chart."""

    def __init__(self, page) -> None:
        self.finished, self.chart, self._run_chart = 0, None, None
        self._specs: dict[str, str] = {}  # hash -> figure of the charts received, for references to them
        self.changed = asyncio.Event()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        message = ForwardMsg()
        message.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        kind = message.WhichOneof("type")
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            if element.WhichOneof("type") == "plotly_chart" and message.metadata.delta_path[:1] == [0]:
                self._run_chart = self._specs[message.hash] = element.plotly_chart.spec
        elif kind == "ref_hash" and message.ref_hash in self._specs:
            self._run_chart = self._specs[message.ref_hash]
        elif kind == "script_finished" and message.script_finished in FINISHED:
            if self._run_chart is not None:
                self.chart = self._run_chart
            self._run_chart = None
            self.finished += 1
            self.changed.set()

    async def run_after(self, finished: int, timeout_s: float) -> None:
        """Wait until more than ``finished`` runs have ended."""
        deadline = time.perf_counter() + timeout_s
        while self.finished <= finished:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.perf_counter()))


class WatchedBrowser:
    """A chromium whose new contexts' pages get a FrameWatch before they load anything (``watch``: the last one),
    for bench_desks.open_page."""

    def __init__(self, browser) -> None:
        self.browser, self.watch = browser, None

    async def new_context(self, **options):
        context = await self.browser.new_context(**options)
        new_page = context.new_page

        async def watched_page():
            page = await new_page()
            self.watch = FrameWatch(page)
            return page

        context.new_page = watched_page
        return context


async def browser_move(page, watch: FrameWatch, notch: int, step: int) -> tuple[float, bool]:
    """bench_desks.move, except that it waits for a new chart only when the page was sent a new figure (a figure
    equal to the one shown is rightly not drawn again, and bench_desks.move would wait for it until its timeout):
    (seconds from the key press to the caption's new λ, the chart drawn (if new) and the run's end; whether the
    figure was unchanged)."""
    expected = bench_desks.caption_text(RISK_AVERSION_GRID[notch])
    before = (watch.finished, watch.chart)
    await page.evaluate("(text) => { window.expected = text; window.stamps.text = 0; }", expected)
    slider = page.get_by_role("slider", name=SLIDER)
    await slider.focus()
    start_ms = await page.evaluate("() => performance.now()")
    await slider.press("ArrowRight" if step > 0 else "ArrowLeft")
    await watch.run_after(before[0], MOVE_TIMEOUT_S)
    changed = watch.chart != before[1]
    handle = await page.wait_for_function(bench_desks.MOVED, arg=[start_ms, changed], polling=20,
                                          timeout=1000 * MOVE_TIMEOUT_S)  # fmt: skip
    if await handle.json_value() == "exception":
        raise RuntimeError("the page shows an exception after a move")
    stamps = await page.evaluate("() => window.stamps")
    return (max(stamps["text"], stamps["chart"] if changed else 0, stamps["idle"]) - start_ms) / 1000, not changed


async def chromium_desk(browser, url: str, desk: Desk, args, result: Result, unchanged: list[int]) -> None:
    """One real chromium desk: its first load (bench_desks.open_page) into ``result.joins_s``, then at least
    ``args.moves`` moves like a protocol desk's, timed by bench_desks' page watcher."""
    context, watched = None, WatchedBrowser(browser)
    try:
        context, page, seconds = await bench_desks.open_page(watched, url, desk, True)
        result.joins_s.append(seconds)
        await page.evaluate(bench_desks.WATCH_PAGE)
        assert watched.watch is not None
        watch = watched.watch
        rng, notch, step = random.Random(99), desk.notch, 1
        for _ in range(args.moves):
            if not 0 <= notch + step < len(RISK_AVERSION_GRID):
                step = -step
            notch += step
            seconds, same = await browser_move(page, watch, notch, step)
            result.moves_s.append(seconds)
            unchanged[0] += same
            await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))
    except Exception as error:  # noqa: BLE001 - an error is a result of the benchmark
        result.errors.append(_error("chromium", error))
    finally:
        if context is not None:
            with contextlib.suppress(Exception):
                await context.close()


@dataclass
class Level:
    """One level's measurements: the protocol desks' (``bench_desks.Result``), this process's CPU seconds, and in
    a mixed level the chromium desk's."""

    result: Result
    own_cpu_s: float = 0.0
    browser: Result | None = None
    unchanged: int = 0  # the protocol desks' moves whose schedule figure equals the one before
    browser_unchanged: list[int] = field(default_factory=lambda: [0])


async def run_level(url: str, pid: int, server_pids: list[int], chart: bool, desks: list[Desk],
                    joiners: list[Desk], args, browser=None, browser_desk: Desk | None = None) -> Level:  # fmt: skip
    """N desks open at once, then move while the joiners open one after the other, or (``browser``) while the
    chromium desk opens and moves."""
    kind = "plan" if chart else "bare"
    result, sessions = Result(), []
    level = Level(result, browser=Result() if browser is not None else None)
    own_start, start = time.process_time(), time.monotonic()
    with Sampler(pid, server_pids) as sampler:
        try:
            opened = await asyncio.gather(*(open_desk(url, d, kind) for d in desks), return_exceptions=True)
            for item, desk in zip(opened, desks, strict=True):
                if isinstance(item, BaseException):
                    result.errors.append(_error(f"load {desk.symbol}", item))
                    continue
                session, seconds = item
                sessions.append(session)
                result.loads_s.append(seconds)
                result.load_bytes.append(session.received_bytes)
            result.load_cpu_s = sampler.cpu_seconds()
            loaded = {id(s): s.received_bytes for s in sessions}
            busy = [True]
            stop = asyncio.Event()

            async def joins() -> None:
                await asyncio.sleep(1.0)
                for joiner in joiners:
                    try:
                        session, seconds = await open_desk(url, joiner, kind)
                        result.joins_s.append(seconds)
                        await session.close()
                    except Exception as error:  # noqa: BLE001
                        result.errors.append(_error("join", error))
                busy[0] = False

            async def chromium() -> None:
                assert level.browser is not None and browser_desk is not None
                await asyncio.sleep(1.0)
                await chromium_desk(browser, url, browser_desk, args, level.browser, level.browser_unchanged)
                busy[0] = False

            health = asyncio.create_task(poll_health(url, result, stop))
            await asyncio.gather(
                chromium() if browser is not None else joins(),
                *(run_protocol_desk(s, chart, args, lambda: busy[0], result, random.Random(i))
                  for i, s in enumerate(sessions)),
            )  # fmt: skip
            stop.set()
            await health
            moved = sampler.cpu_seconds()
            result.move_cpu_s = {group: moved[group] - result.load_cpu_s.get(group, 0.0) for group in moved}
            if level.browser is not None:  # the chromium desk's moves cost the server too; its load is a join
                result.joins_s = []
            result.move_bytes = sum(s.received_bytes - loaded[id(s)] for s in sessions)
            level.unchanged = sum(s.unchanged for s in sessions)
        finally:
            await asyncio.gather(*(s.close() for s in sessions))
    result.rss_peak_mb = sampler.peak_mb
    result.cpu = sampler.cpu()
    result.wall_s = time.monotonic() - start
    level.own_cpu_s = time.process_time() - own_start
    return level


# --- the table -----------------------------------------------------------------------------------------------

HEADER = (
    f"{'desks':>5} {'page':<14} {'first load p50/p90/max s':>24} {'join p50/max s':>14} {'moves':>5} "
    f"{'move p50/p90/max s':>18} {'unch.':>5} {'health p90 ms (t/o)':>19} {'RSS peak MB':>11} {'CPU% srv/cli/oth':>16} "
    f"{'srv CPU s/load':>14} {'srv CPU s/move':>14} {'kB/load':>7} {'kB/move':>7} {'wall s':>6} {'errors':>6}"
)


def row(desks: int, kind: str, level: Level) -> str:
    r = level.result
    joins = "–" if not r.joins_s else f"{statistics.median(r.joins_s):.2f} {max(r.joins_s):.2f}"
    health = sorted(r.health_ms)
    health_p90 = f"{health[min(len(health) - 1, int(0.9 * len(health)))]:.0f}" if health else "–"
    health_p90 += f" ({r.health_timeouts})"
    own_pct = 100 * level.own_cpu_s / max(1e-9, r.wall_s)
    client = r.cpu["client"] + own_pct  # chromium and Playwright's driver, and the protocol desks in this process
    cpu = f"{r.cpu['server']:.0f}/{client:.0f}/{max(0.0, r.cpu['others'] - own_pct):.0f}"
    per_load = r.load_cpu_s.get("server", 0) / max(1, len(r.loads_s))
    moves = len(r.moves_s) + (len(level.browser.moves_s) if level.browser else 0)
    per_move = max(0.0, r.move_cpu_s.get("server", 0.0) - per_load * (len(r.joins_s) + bool(level.browser)))
    per_move /= max(1, moves)
    load_kb = statistics.median(r.load_bytes) / 1000 if r.load_bytes else 0.0
    move_kb = r.move_bytes / 1000 / max(1, len(r.moves_s))
    return (
        f"{desks:>5} {kind:<14} {quantiles(r.loads_s):>24} {joins:>14} {len(r.moves_s):>5} "
        f"{quantiles(r.moves_s):>18} {level.unchanged:>5} {health_p90:>19} {r.rss_peak_mb:>11.0f} {cpu:>16} "
        f"{per_load:>14.2f} {per_move:>14.3f} {load_kb:>7.0f} {move_kb:>7.1f} {r.wall_s:>6.0f} {len(r.errors):>6}"
    )


def browser_row(desks: int, level: Level) -> str:
    b = level.browser
    assert b is not None
    joined = f"{b.joins_s[0]:.2f}" if b.joins_s else "–"
    return (
        f"{desks:>5} {'chromium desk':<14} {'':>24} {joined:>14} {len(b.moves_s):>5} {quantiles(b.moves_s):>18} "
        f"{level.browser_unchanged[0]:>5} "
        f"   (with {desks - 1} protocol desks: their moves p50/p90/max {quantiles(level.result.moves_s)} s, "
        f"{len(level.result.moves_s)} moves){'':>2} {len(b.errors):>6}"
    )


def _print_errors(*results: Result | None) -> None:
    for result in results:
        for error in result.errors[:3] if result else []:
            print(f"      {error}")


# --- the correctness check -----------------------------------------------------------------------------------

CHECK_LINK = "/?slices=390"  # bench_browser's link: the default ticket, λ at the page's default notch


async def check_figures(url: str, db_path: Path, moves: int = 2) -> list[tuple[int, bool]]:
    """A protocol desk on ``CHECK_LINK``: its first load and ``moves`` moves up; per notch, whether the schedule
    figure it received equals the one AppTest draws in this process on the same database."""
    from benchmarks.bench_browser import START_NOTCH, schedule_specs

    session = ProtocolDesk(url, CHECK_LINK)
    try:
        _, run = await session.open()
        if session.notch != START_NOTCH:
            raise DeskError(f"the slider shows notch {session.notch}, the page's default is {START_NOTCH}")
        figures = {session.notch: run.chart}
        for _ in range(moves):
            _, run = await session.move(1, True)
            figures[session.notch] = run.chart
    finally:
        await session.close()
    expected = await asyncio.to_thread(schedule_specs, db_path, 390, set(figures))
    return [(notch, figures[notch] == expected[notch]) for notch in sorted(figures)]


# --- the run -------------------------------------------------------------------------------------------------


async def run_all(args, servers: dict[str, tuple[str, int]], db_path: Path) -> int:
    """The check, the warm-up and the levels; the number of errors."""
    errors = 0
    adv = {s: p["adv_shares"] for s, p in sample.planted_params()["symbols"].items()}
    server_pids = [p for _, p in servers.values()]
    for kind, (url, _) in servers.items():  # a first session each: imports, first run, caches
        session, seconds = await open_desk(url, Desk("SYN-MID", "sell", 75_000, 1.0, 7), kind)
        await session.close()
        print(f"warm-up session ({kind}): first load {seconds:.2f} s")
    if args.check:
        checked = await check_figures(servers["plan"][0], db_path)
        same = all(ok for _, ok in checked)
        errors += not same
        print("check: the protocol desk's schedule figure equals AppTest's at λ = "
              + ", ".join(f"{RISK_AVERSION_GRID[n]:g} ({'yes' if ok else 'NO'})" for n, ok in checked))  # fmt: skip
    print(f"app server RSS after warm-up: {rss_mb(servers['plan'][1]):.0f} MB; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
    playwright = browser = None
    if args.browser_desk:
        from playwright.async_api import async_playwright

        from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS

        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        print(HEADER)
        levels = len(args.desks)
        for level, count in enumerate(args.desks):
            for kind, (url, pid) in servers.items():
                rng = random.Random(1000 * level + count)
                desks = desks_for(count + args.joins, level + 1, adv, rng)
                measured = await run_level(url, pid, server_pids, kind == "plan", desks[:count], desks[count:], args)
                print(row(count, kind, measured), flush=True)
                _print_errors(measured.result)
                errors += len(measured.result.errors)
            if browser is not None:
                url, pid = servers["plan"]
                desks = desks_for(count, levels + level + 1, adv, random.Random(1000 * level + count + 7))
                measured = await run_level(url, pid, server_pids, True, desks[: count - 1], [], args, browser,
                                           desks[-1])  # fmt: skip
                print(row(count, "plan+chromium", measured))
                print(browser_row(count, measured), flush=True)
                _print_errors(measured.result, measured.browser)
                errors += len(measured.result.errors) + len(measured.browser.errors if measured.browser else [])
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()
    return errors


def main() -> None:
    parser = desk_arguments(__doc__.splitlines()[0])
    parser.add_argument("--no-browser-desk", dest="browser_desk", action="store_false",
                        help="no mixed level with one chromium desk")  # fmt: skip
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the check of the protocol desk's figures against AppTest")  # fmt: skip
    args = parse_desk_arguments(parser)
    errors = 0
    with desk_servers(args) as (servers, db_path):
        try:
            errors = asyncio.run(run_all(args, servers, db_path))
        except KeyboardInterrupt:
            print("interrupted: stopping the browser and servers", file=sys.stderr)
            errors = 1
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
