"""What the browser shows of a Streamlit markdown body: CommonMark backslash escapes resolved (``formats.plain``)."""

import base64
import json
import re

import numpy as np

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before any ASCII punctuation character


def shown(body: str) -> str:
    """The text a markdown ``body`` displays once its backslash escapes are read: ``SYN\\-LARGE`` -> ``SYN-LARGE``
    (and without the invisible word joiners that keep a bare address from being linked)."""
    return _ESCAPE.sub(r"\1", body).replace("\u2060", "")


def warning_texts(at) -> list[str]:
    """Each warning a page shows, one per message: a box holding one, or each bullet of the box that groups several
    (``optexec.ui.state.show_warnings``), as the browser displays it."""
    texts = []
    for box in at.warning:
        body = shown(box.value)
        bullets = [line[2:] for line in body.split("\n") if line.startswith("- ")]
        texts += bullets or [body]
    return texts


def open_app(**query: str):
    """The app (tests/app_entry.py) run once in AppTest with ``query`` as its link's query parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("app_entry.py", default_timeout=60)
    at.query_params.update(query)
    return at.run()


def order_header(at) -> str:
    """The Plan page's order header (its first markdown) as the browser shows it."""
    return shown(at.markdown[0].value)


def plotted(values) -> np.ndarray:
    """A trace's x or y as numbers: Plotly's JSON holds numpy arrays as base64 ``{"dtype", "bdata"}``."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.array(values)


def chart_traces(at, index: int = 0) -> list[dict]:
    """The traces of the page's ``index``-th Plotly chart, as its JSON spec holds them."""
    return json.loads(at.get("plotly_chart")[index].proto.spec)["data"]
