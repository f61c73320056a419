"""A burst of key presses on the Plan page's risk-aversion slider ends in one up-to-date run (issue 17, item 5).

Ten ArrowRight presses as fast as chromium takes them: the caption and the schedule chart end on the tenth notch's
λ (the chart equal to the one a new tab opened at that λ draws, and unlike the burst's first value), nothing is
redrawn after that (no stale reruns queued behind the burst), and the burst's last redraw comes well before ten
single moves would have ended. Streamlit's ``runner.fastReruns`` (default true; .streamlit/config.toml) is what
makes it so: a new slider value stops the run still going instead of queueing behind it.
"""

from __future__ import annotations

import statistics

from benchmarks.bench_desks import SLIDER, WATCH_PAGE  # the benchmarks' page watcher: chart and run-end stamps
from optexec.ui.ticket import RISK_AVERSION_GRID
from tests.e2e.server import wait_idle

START = 1e-8
PRESSES = 10

#: the schedule chart's traces as drawn: name and values of each
TRACES = "() => JSON.stringify(document.querySelector('.js-plotly-plot').data.map(t => [t.name, t.x, t.x0, t.dx, t.y]))"
LAMBDAS = """() => [...document.querySelectorAll("[data-testid='stCaptionContainer']")]
  .map(e => (e.innerText.match(/λ = (\\S+) per/) || [])[1]).filter(Boolean)"""


def _caption(value: float) -> str:
    return f"λ = {value:g} per"


def _shows(page, value: float, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        "(t) => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")].some(e => e.innerText"
        ".includes(t))",
        arg=_caption(value),
        timeout=timeout_ms,
    )


def _settled_at(page, start_ms: float) -> float:
    """Ms after ``start_ms`` of the last chart mount or run end, once a second has passed without either."""
    wait_idle(page)
    while True:
        before = page.evaluate("() => ({...window.stamps})")
        page.wait_for_timeout(1000)
        after = page.evaluate("() => ({...window.stamps})")
        if after == before:
            return max(after.values()) - start_ms


def _open(page, url: str, value: float) -> None:
    page.goto(f"{url}/?risk_aversion={value!r}")
    wait_idle(page)
    _shows(page, value)
    page.wait_for_selector(".js-plotly-plot .main-svg")
    wait_idle(page)


def test_a_burst_of_key_presses_ends_in_one_up_to_date_run(page, browser, app_url):
    start = RISK_AVERSION_GRID.index(START)
    final = RISK_AVERSION_GRID[start + PRESSES]
    _open(page, app_url, START)
    first_traces = page.evaluate(TRACES)
    page.evaluate(WATCH_PAGE)
    slider = page.get_by_role("slider", name=SLIDER)
    slider.focus()
    # every notch of the burst planned once (the server's caches), one move at a time
    for notch in range(start + 1, start + PRESSES + 1):
        page.keyboard.press("ArrowRight")
        _shows(page, RISK_AVERSION_GRID[notch])
        wait_idle(page)
    # single moves over the same, now cached notches: what one move takes
    singles = []
    for notch in range(start + PRESSES - 1, start - 1, -1):
        began = page.evaluate("() => performance.now()")
        page.keyboard.press("ArrowLeft")
        _shows(page, RISK_AVERSION_GRID[notch])
        singles.append(_settled_at(page, began))
    assert page.evaluate(TRACES) == first_traces  # back where the burst starts, drawn as when the page opened
    one_move_ms = statistics.median(singles)

    began = page.evaluate("() => performance.now()")
    for _ in range(PRESSES):
        page.keyboard.press("ArrowRight")
    _shows(page, final)
    burst_ms = _settled_at(page, began)

    assert page.evaluate(LAMBDAS) == [f"{final:g}"]  # the final value, and only it
    assert slider.get_attribute("aria-valuetext") == f"{final:g}"
    burst_traces = page.evaluate(TRACES)
    assert burst_traces != first_traces
    fresh = browser.new_page(viewport={"width": 1500, "height": 2200})
    try:
        _open(fresh, app_url, final)
        assert burst_traces == fresh.evaluate(TRACES)  # the chart of the final λ, not of a value on the way
    finally:
        fresh.close()
    print(f"one move (median of {len(singles)}): {one_move_ms:.0f} ms; {PRESSES} presses: {burst_ms:.0f} ms")
    assert burst_ms < 0.5 * PRESSES * one_move_ms, (burst_ms, singles)
