"""The Sensitivity page's closed-form sweeps: each computed once per process, with its progress shown, and the
ticket's default sweep computed ahead in idle time.

A sweep plans every strategy at every point (15 x 13 plans by default, ~0.4 s on a quiet machine, the multiscale
strategy's Riccati solutions most of it): done on entry, it was most of the page's first view. Now

- every sweep is kept per process (``MAX_SWEEPS``, the oldest dropped), so any session that asks for the same one
  reads it;
- a page that must compute one shows a progress bar as the points are done (``sweep_with_progress``), and a page
  that asks for one being computed ahead waits for it (with the same bar) instead of computing it twice;
- after each page run of a session with a valid ticket, the sweep that session's Sensitivity page would show first
  (its default, or the parameter and range the session chose) is computed ahead on one worker thread
  (``prefetch``), one point at a time, only while no page of any session runs and none has run for ``IDLE_S``
  (``busy`` marks the runs, ``MarkRequests`` the HTTP requests of a tab that loads): it never takes the CPU (and
  Python's lock) from a page, a slider move, a tab that opens or another desk. A newer request drops an older one
  not yet asked for by a page.

Numbers: the same ``sensitivity.sweep`` on the same inputs; nothing is approximated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order
from optexec.sensitivity import Sweep, sweep

#: sweeps kept per process (a sweep of 60 points and 13 strategies is a few hundred kB)
MAX_SWEEPS = 32
#: the prefetch works only when no page has run in any session for this long (s)
IDLE_S = 1.0
#: how often a waiting prefetch looks again whether the server is idle (s)
POLL_S = 0.05


class _Dropped(Exception):
    """A prefetch that a newer request replaced before any page asked for it."""


@dataclass
class Job:
    """One sweep: done when ``done`` is set, then ``result`` or ``error`` (the ValueError ``sweep`` raised)."""

    progress: float = 0.0
    result: Sweep | None = None
    error: ValueError | None = None
    wanted: bool = False  # a page waits for it: a prefetch no longer pauses or gets dropped
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Request:
    """A closed-form sweep's inputs, as ``sensitivity.sweep`` takes them (``settings_items``: sorted settings)."""

    order: Order
    market: MarketParams
    settings_items: tuple
    param: str
    values: tuple
    names: tuple

    def key(self) -> tuple:
        """What identifies the sweep: its inputs' exact reprs and the bytes of the volume profile and the values."""
        market = self.market
        scalars = [getattr(market, f.name) for f in dataclasses.fields(market) if f.name != "volume_profile"]
        profile = np.asarray(market.volume_profile, dtype=float).tobytes()
        values = np.asarray(self.values, dtype=float).tobytes()
        return (repr((self.order, scalars, self.settings_items, self.param, self.names)), profile, values)

    def compute(self, progress: Callable[[float], None] | None = None) -> Sweep:
        return sweep(self.order, self.market, dict(self.settings_items), self.param, self.values,
                     self.names, progress=progress)  # fmt: skip


_lock = threading.Lock()
_jobs: OrderedDict[tuple, Job] = OrderedDict()
_activity = {"running": 0, "last_end": 0.0}
_latest = [0]  # the number of the newest prefetch request
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optexec-sweep")


@contextlib.contextmanager
def busy() -> Iterator[None]:
    """Mark the server busy: a page run (app.py's script run, a live view's fragment run) or an HTTP request
    (``MarkRequests``: a tab loading the app's files); the prefetch pauses meanwhile and for IDLE_S after."""
    with _lock:
        _activity["running"] += 1
    try:
        yield
    finally:
        with _lock:
            _activity["running"] -= 1
            _activity["last_end"] = time.monotonic()


class MarkRequests:
    """ASGI middleware (app.py's ``st.App``): every HTTP request marks the server ``busy`` while it is served, so
    that a tab loading the app's files is never slowed by work computed ahead (the websocket's script runs are
    marked by the runs themselves)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        with busy():
            await self.app(scope, receive, send)


def _idle() -> bool:
    with _lock:
        return _activity["running"] == 0 and time.monotonic() - _activity["last_end"] >= IDLE_S


def _keep(key: tuple, job: Job) -> None:
    """Store ``job`` under ``key`` (the lock held), dropping the oldest finished sweeps beyond MAX_SWEEPS."""
    _jobs[key] = job
    _jobs.move_to_end(key)
    for old in list(_jobs):
        if len(_jobs) <= MAX_SWEEPS:
            break
        if _jobs[old].done.is_set():
            del _jobs[old]


def _run(key: tuple, job: Job, request: Request, progress: Callable[[float], None] | None = None) -> None:
    """Compute ``job`` in this thread; a ValueError of the sweep is kept as its result."""
    try:
        job.result = request.compute(progress)
    except ValueError as error:
        job.error = error
    except BaseException:
        with _lock:
            if _jobs.get(key) is job:
                del _jobs[key]
        raise
    finally:
        job.progress = 1.0
        job.done.set()


def sweep_with_progress(request: Request, show: Callable[[float], None]) -> Sweep:
    """The sweep of ``request``: kept from before, waited for when it is being computed ahead, else computed here;
    ``show(fraction done)`` is called while it is computed or waited for (never when it is kept). Raises the
    sweep's ValueError."""
    key = request.key()
    while True:
        with _lock:
            job = _jobs.get(key)
            mine = job is None
            if job is None:
                job = Job()
                _keep(key, job)
            job.wanted = True
            _jobs.move_to_end(key)
        if mine:

            def progress(done: float, job: Job = job) -> None:
                job.progress = done
                show(done)

            _run(key, job, request, progress)
        else:
            while not job.done.wait(0.1):
                show(job.progress)
        if job.error is not None:
            raise job.error
        if job.result is not None:
            return job.result
        # a prefetch dropped just before this page asked for it: compute it here


def prefetch(request: Request, then: Callable[[Sweep], Any] | None = None) -> bool:
    """Compute ``request``'s sweep ahead on the worker thread in idle time (module docstring), then ``then(sweep)``
    (e.g. its figures); False when it is already kept or being computed."""
    key = request.key()
    with _lock:
        if key in _jobs:
            return False
        _latest[0] += 1
        number = _latest[0]
        job = Job()
        _keep(key, job)
    _worker.submit(_prefetch, key, job, request, number, then)
    return True


def _prefetch(key: tuple, job: Job, request: Request, number: int, then: Callable[[Sweep], Any] | None) -> None:
    def wait_for_idle(done: float) -> None:
        job.progress = done
        while not job.wanted:
            if _latest[0] != number:
                raise _Dropped
            if _idle():
                return
            time.sleep(POLL_S)

    try:
        wait_for_idle(0.0)
        _run(key, job, request, wait_for_idle)
    except _Dropped:  # forgotten: a page that asks for it after all computes it (sweep_with_progress)
        with _lock:
            if _jobs.get(key) is job:
                del _jobs[key]
        job.done.set()
        return
    if then is not None and job.result is not None:
        with contextlib.suppress(_Dropped):
            wait_for_idle(1.0)
            then(job.result)


def kept(request: Request) -> bool:
    """True when ``request``'s sweep is computed and kept (tests, the page's notes)."""
    with _lock:
        job = _jobs.get(request.key())
    return job is not None and job.done.is_set()


def forget_all() -> None:
    """Drop every kept sweep (tests)."""
    with _lock:
        _jobs.clear()


def session_request(order: Order, market: MarketParams, settings: dict, state: Any) -> tuple[Request, str, bool] | None:
    """(the closed-form sweep, its axis label, log scale) the Sensitivity page would show first for a session whose
    widget state is ``state`` (``st.session_state``: the parameter, range, points and strategies it chose, else
    the defaults), or None when that page would not sweep in closed form (a Monte Carlo sweep, the horizon's sweep,
    which depends on the unit the horizon was typed in, no strategy, an empty range)."""
    from optexec.strategies import registry
    from optexec.ui import sweep_words

    parameters = sweep_words.sweep_parameters(market, settings)
    names = list(parameters)
    param = state.get("sweep_param", names[0])
    if param not in parameters or param == "horizon_days" or state.get("sweep_simulate", False):
        return None
    label, low_default, high_default, log_default = parameters[param]
    low = float(state.get(f"sweep_low_{param}", float(low_default)))
    high = float(state.get(f"sweep_high_{param}", float(high_default)))
    points = int(state.get("sweep_points", sweep_words.DEFAULT_POINTS))
    log_x = bool(state.get(f"sweep_log_{param}", log_default))
    chosen = tuple(state.get("sweep_names", list(registry.STRATEGIES)))
    if not high > low or (log_x and low <= 0) or not chosen:
        return None
    values = tuple(sweep_words.sweep_values(low, high, points, log_x, param))
    return Request(order, market, tuple(sorted(settings.items())), param, values, chosen), label, log_x
