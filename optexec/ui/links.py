"""The plan as a link: every URL value and every typed value checked before use, and the URL written back.

Nothing is repaired silently. A link value that cannot be used gives a note naming the parameter, the value
given and what is used instead ("Link value slices=100000000 is not valid (1–5,000): using 390."); a typed
value that cannot be used gives an error saying the plan is not updated until it is fixed. The app writes the
URL itself (``write``) from what the ticket holds, so the link is always the plan on the screen.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optexec.ui import formats

NOTES_KEY = "_optexec_link_notes"
PAGE_RAW_KEY = "_optexec_link_page_values"


@dataclass(frozen=True)
class Number:
    """A number the ticket takes: its label, unit-free range (None = unbounded), whether it is whole, and the
    range in words when the bare numbers would not say it (``words``)."""

    label: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    words: str | None = None

    def rule(self) -> str:
        """The valid range in words: "> 0", "1–5,000", "≥ 0", "any number" (or ``words``)."""
        if self.words:
            return self.words
        if self.low is not None and self.high is not None:
            low = f"> {number_text(self.low)}, " if self.low_open else f"{number_text(self.low)}–"
            return f"{low}≤ {number_text(self.high)}" if self.low_open else f"{low}{number_text(self.high)}"
        if self.low is not None:
            return f"{'>' if self.low_open else '≥'} {number_text(self.low)}"
        if self.high is not None:
            return f"≤ {number_text(self.high)}"
        return "a finite number"

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is valid, else the rule it breaks."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"a number {self.rule()}"
        if not math.isfinite(value) or (self.integer and float(value) != int(value)):
            return ("a whole number, " if self.integer else "") + self.rule()
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and value > self.high
        return self.rule() if below or above else None

    def parse(self, raw: str) -> float | int:
        """The link's text as a number; ValueError when it is not one."""
        value = float(raw)
        if self.integer and math.isfinite(value) and value == int(value):
            return int(value)
        return value


def number_text(value: float) -> str:
    """A number as a trader reads it: 5,000, 0.25, 1e-06."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if float(value) == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def url_text(value: Any) -> str:
    """A value as written into the URL: 390, 0.5, 1e-06, sell (round-trips through ``float``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    return str(value)


def link_note(key: str, raw: str, rule: str, instead: str) -> str:
    """ "Link value slices=100000000 is not valid (1–5,000): using 390." """
    return f"Link value {key}={raw} is not valid ({rule}): {instead}."


def input_error(label: str, value: Any, rule: str) -> str:
    """ "Shares = −5,000 is not valid (> 0): the plan is not updated until it is fixed." """
    shown = "empty" if value is None else number_text(value) if isinstance(value, (int, float)) else str(value)
    return f"{label} = {shown.replace('-', '−')} is not valid ({rule}): the plan is not updated until it is fixed."


def add_note(note: str) -> None:
    """Keep a note about the link for the top of the page (shown until dismissed or reset)."""
    notes = st.session_state.setdefault(NOTES_KEY, [])
    if note not in notes:
        notes.append(note)


def notes() -> list[str]:
    """The notes about the link this session was opened with."""
    return list(st.session_state.get(NOTES_KEY, []))


def dismiss_notes() -> None:
    """Forget the link notes (the dismiss button, and reset)."""
    st.session_state.pop(NOTES_KEY, None)


def raw_params() -> dict[str, str]:
    """The URL's parameters as text (the last one of a repeated name)."""
    return {key: (value[-1] if isinstance(value, list) else value) for key, value in st.query_params.to_dict().items()}


def write(values: Mapping[str, Any], keep: Sequence[str] | None = None) -> None:
    """Make the URL hold ``values`` (None = absent); with ``keep``, also drop every other name not in ``keep``."""
    current = raw_params()
    for key, value in values.items():
        if value is None:
            if key in current:
                del st.query_params[key]
        elif current.get(key) != url_text(value):
            st.query_params[key] = url_text(value)
    if keep is not None:
        allowed = set(keep) | set(values)
        for key in current:
            if key not in allowed:
                del st.query_params[key]


def page_choice(key: str, label: str, options: Sequence[Any], default: Any, format_func=str) -> None:
    """Seed a page widget ``key`` from the link once, or say on the page why the link's value is not used."""
    raw = st.session_state.get(PAGE_RAW_KEY, {}).pop(key, None)
    if raw is None:
        return
    by_text = {url_text(option): option for option in options}
    if raw in by_text:
        st.session_state[key] = by_text[raw]
    else:
        choices = ", ".join(url_text(option) for option in options)
        st.warning(formats.plain(link_note(key, raw, f"{label}: one of {choices}", f"using {format_func(default)}")))


def page_number(key: str, spec: Number, default: float) -> None:
    """Seed a page number ``key`` from the link once, or say on the page why the link's value is not used."""
    raw = st.session_state.get(PAGE_RAW_KEY, {}).pop(key, None)
    if raw is None:
        return
    try:
        value = spec.parse(raw)
    except ValueError:
        value = None
    rule = spec.problem(value)
    if rule:
        st.warning(formats.plain(link_note(key, raw, f"{spec.label}: {rule}", f"using {number_text(default)}")))
    else:
        st.session_state[key] = value


def plan_link() -> str | None:
    """The link to the plan on the screen (the app's address and the URL's parameters), if the browser said it."""
    base = st.context.url
    if not base:
        return None
    query = urllib.parse.urlencode(raw_params())
    return f"{base}?{query}" if query else base
