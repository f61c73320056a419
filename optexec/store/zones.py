"""Time-zone conversions of whole arrays of instants with numpy and ``zoneinfo`` (no pandas).

A zone's UTC offset is a step function of the instant; over the span of the data its steps (the transitions) are
found by asking ``zoneinfo`` every ``PROBE_SECONDS`` and bisecting to the second where the answer changes, and
every instant then looks its offset up in that short table. The results are those of pandas' ``tz_convert`` and
``tz_localize(ambiguous="NaT", nonexistent="NaT")`` with the same zone (pandas uses ``zoneinfo`` too), provided a
zone does not change its offset twice within ``PROBE_SECONDS`` (no zone since 1970 has).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import numpy as np

#: how often the offset is asked for (seconds); transitions closer together than this could be missed
PROBE_SECONDS = 6 * 3600
_NS = 1_000_000_000
_DAY = 86400


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _offset(zone: zoneinfo.ZoneInfo, second: int) -> int:
    moment = dt.datetime.fromtimestamp(int(second), dt.UTC).astimezone(zone)
    return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]


def transitions(name: str, lo_second: int, hi_second: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, offsets): from ``starts[i]`` (UTC seconds) the zone is ``offsets[i]`` seconds ahead of UTC; the
    first start is ``lo_second``, and the table covers up to ``hi_second``."""
    zone = _zone(name)
    probes = list(range(int(lo_second), int(hi_second) + PROBE_SECONDS, PROBE_SECONDS))
    starts, offsets = [probes[0]], [_offset(zone, probes[0])]
    for before, after in zip(probes, probes[1:], strict=False):
        value = _offset(zone, after)
        if value == offsets[-1]:
            continue
        a, b = before, after  # offset(a) is the old one, offset(b) the new one: the change is in (a, b]
        while b - a > 1:
            mid = (a + b) // 2
            if _offset(zone, mid) == offsets[-1]:
                a = mid
            else:
                b = mid
        starts.append(b)
        offsets.append(value)
    return np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64)


def _offsets_at(seconds: np.ndarray, starts: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    at = np.searchsorted(starts, seconds, side="right") - 1
    return offsets[np.clip(at, 0, len(offsets) - 1)]


def _seconds(stamps: np.ndarray) -> np.ndarray:
    return stamps.astype("datetime64[ns]").astype(np.int64) // _NS


def utc_to_local(stamps_utc: np.ndarray, name: str) -> np.ndarray:
    """The local wall clock (datetime64[ns], naive) of UTC instants (datetime64, naive UTC) in zone ``name``."""
    stamps = np.asarray(stamps_utc).astype("datetime64[ns]")
    if name == "UTC" or len(stamps) == 0:
        return stamps
    seconds = _seconds(stamps)
    starts, offsets = transitions(name, int(seconds.min()), int(seconds.max()))
    return stamps + (_offsets_at(seconds, starts, offsets) * _NS).astype("timedelta64[ns]")


def local_to_utc(wall: np.ndarray, name: str) -> np.ndarray:
    """The UTC instants (datetime64[ns], NaT where none or two) of local wall-clock times in zone ``name``: a wall
    time skipped by a change of the clocks, or one that occurs twice, gives NaT."""
    stamps = np.asarray(wall).astype("datetime64[ns]")
    if name == "UTC" or len(stamps) == 0:
        return stamps
    seconds = _seconds(stamps)
    starts, offsets = transitions(name, int(seconds.min()) - 2 * _DAY, int(seconds.max()) + 2 * _DAY)
    # the two readings of a wall time: with the offset a day before and a day after it; each is right when it
    # reads back as the wall time
    first = seconds - _offsets_at(seconds - _DAY, starts, offsets)
    second = seconds - _offsets_at(seconds + _DAY, starts, offsets)
    first_ok = first + _offsets_at(first, starts, offsets) == seconds
    second_ok = second + _offsets_at(second, starts, offsets) == seconds
    ambiguous = first_ok & second_ok & (first != second)
    chosen = np.where(first_ok, first, second)
    shift = ((chosen - seconds) * _NS).astype("timedelta64[ns]")
    out = stamps + shift
    out[~(first_ok | second_ok) | ambiguous] = np.datetime64("NaT")
    return out
