"""Where independent tasks run: in this process one after the other (``serial``), or on a Dask cluster (``dask``).

The tasks are plain importable functions of optexec (a worker imports optexec: a local cluster's workers inherit
this process's ``sys.path``; the workers of an existing scheduler need optexec on their ``PYTHONPATH``). The serial
engine runs the very same function in a loop, so both engines give the same numbers, provided the linear algebra
runs the same way: a task runs inside ``single_threaded_blas()``, because OpenBLAS splits a product differently on
one thread (what a Dask worker's nanny gives it) and on several (a plain process), and the rounding differs (an
ill-conditioned fit's standard error moved by 3e-12 between the engines before this).

``dask`` without a scheduler address starts a ``distributed.LocalCluster`` of ``workers`` processes with one thread
each (default: one per core this process may use) for the length of the ``with`` block; with an address
(``tcp://host:port``) it connects to that scheduler and leaves its workers running.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

ENGINES = ("serial", "dask")
#: the names OpenBLAS builds give their thread-count functions (numpy's and scipy's wheels carry their own builds)
_BLAS_THREADS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
)
#: seconds to wait for an existing scheduler to answer
CONNECT_TIMEOUT_SECONDS = 10


def machine_workers() -> int:
    """The cores this process may use (the local cluster's default size)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _blas_libraries() -> list[tuple[Any, Any]]:
    """(get, set) thread-count functions of every OpenBLAS this process has loaded (Linux: /proc/self/maps)."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:  # pragma: no cover - not Linux
        return []
    found = []
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for get_name, set_name in _BLAS_THREADS:
            get, set_ = getattr(library, get_name, None), getattr(library, set_name, None)
            if get is not None and set_ is not None:
                found.append((get, set_))
                break
    return found


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with every loaded OpenBLAS on one thread (module docstring), then restore the thread counts."""
    import numpy  # noqa: F401 - load numpy's BLAS first
    import scipy.linalg  # noqa: F401 - and scipy's

    libraries = _blas_libraries()
    before = [get() for get, _ in libraries]
    for _, set_ in libraries:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), threads in zip(libraries, before, strict=True):
            set_(threads)


@dataclass(frozen=True)
class EngineChoice:
    """An engine as asked for: ``serial`` or ``dask``, the local cluster's size or an existing scheduler."""

    engine: str = "serial"
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"the engine is serial or dask, got {self.engine!r}")
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise ValueError(f"the number of workers must be a whole number >= 1, got {self.workers!r}")
        if self.engine == "serial" and (self.workers is not None or self.scheduler):
            raise ValueError("--workers and --scheduler need --engine dask")
        if self.scheduler and self.workers is not None:
            raise ValueError("--workers sizes a local cluster; an existing scheduler (--scheduler) has its own workers")

    def describe(self) -> str:
        if self.engine == "serial":
            return "serial (this process)"
        if self.scheduler:
            return f"Dask, the scheduler at {self.scheduler}"
        return f"Dask, a local cluster of {self.workers or machine_workers()} worker processes"


def add_engine_options(parser, what: str) -> None:
    """``--engine serial|dask``, ``--workers N`` and ``--scheduler ADDRESS`` on a command's parser (``what`` runs)."""
    parser.add_argument("--engine", choices=ENGINES, default="serial", help=f"where {what} run (default serial)")
    parser.add_argument("--workers", type=int, help="worker processes of a local Dask cluster (default: one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")


@contextlib.contextmanager
def dask_client(choice: EngineChoice) -> Iterator[Any]:
    """A ``distributed.Client`` for the block: on a new local cluster (closed afterwards) or an existing scheduler.

    ValueError with a plain message when the scheduler cannot be reached.
    """
    import distributed

    if choice.scheduler:
        try:
            client = distributed.Client(choice.scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise ValueError(
                f"cannot reach the Dask scheduler at {choice.scheduler} within {CONNECT_TIMEOUT_SECONDS} s ({error})"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    with _importable_main():
        cluster = distributed.LocalCluster(
            n_workers=choice.workers or machine_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # errors only: a worker's chatter is not the user's business
        )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextlib.contextmanager
def engine_client(choice: EngineChoice) -> Iterator[Any]:
    """The ``dask_client`` of a dask choice for the block, None for the serial engine."""
    if choice.engine != "dask":
        yield None
        return
    with dask_client(choice) as client:
        yield client


@contextlib.contextmanager
def _importable_main() -> Iterator[None]:
    """While a local cluster starts its worker processes, an empty ``__main__``.

    A spawned process first runs the parent's ``__main__`` file again; while a Streamlit page runs, ``__main__`` is
    the page, so every worker would run the page. The tasks are optexec's own functions and need nothing from
    ``__main__``.
    """
    import types

    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def run_tasks(
    function: Callable[..., Any],
    arguments: Iterable[tuple[Any, ...]],
    choice: EngineChoice,
    client: Any = None,
    in_flight: int | None = None,
    scatter: bool = False,
) -> Iterator[tuple[int, Any, BaseException | None]]:
    """Run ``function(*args)`` for every ``args`` of ``arguments``; yields ``(index, result, error)`` as each task
    ends (serial: in order; dask: as they finish). A task's exception is yielded as its ``error``, never raised, so
    one failure does not stop the others.

    With dask, at most ``in_flight`` tasks (default: four per worker) are submitted at a time, so a lazy iterable of
    large arguments (a symbol's rows) is not all held at once; with ``scatter`` each task's first argument is sent
    to the workers on its own (``Client.scatter``) rather than inside the task graph. ``client``: the caller's
    ``dask_client``.
    """
    if choice.engine == "serial":
        for index, args in enumerate(arguments):
            try:
                yield index, function(*args), None
            except Exception as error:  # the caller reports it with the task's name
                yield index, None, error
        return
    import distributed

    limit = in_flight or 4 * max(1, len(client.scheduler_info().get("workers", {})) or 1)
    pending = iter(enumerate(arguments))
    index_of: dict[str, int] = {}
    done = distributed.as_completed()

    def submit_next() -> bool:
        try:
            index, args = next(pending)
        except StopIteration:
            return False
        if scatter:
            args = (client.scatter(args[0], hash=False), *args[1:])
        future = client.submit(function, *args, pure=False)
        index_of[future.key] = index
        done.add(future)
        return True

    for _ in range(limit):
        if not submit_next():
            break
    for future in done:
        index = index_of.pop(future.key)
        if future.status == "finished":
            yield index, future.result(), None
        else:  # an error in the task, a lost worker, a cancelled task
            failure: object
            try:
                failure = future.exception()
            except BaseException as raised:  # a cancelled future raises instead of returning its error
                failure = raised
            yield index, None, failure if isinstance(failure, BaseException) else RuntimeError(str(failure))
        future.release()
        submit_next()
