"""What the browser shows of a Streamlit markdown body: CommonMark backslash escapes resolved (``formats.plain``)."""

import re

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
