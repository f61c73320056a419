"""What the browser shows of a Streamlit markdown body: CommonMark backslash escapes resolved (``formats.plain``)."""

import re

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before any ASCII punctuation character


def shown(body: str) -> str:
    """The text a markdown ``body`` displays once its backslash escapes are read: ``SYN\\-LARGE`` -> ``SYN-LARGE``
    (and without the invisible word joiners that keep a bare address from being linked)."""
    return _ESCAPE.sub(r"\1", body).replace("\u2060", "")
