"""Number formats used on every page (bps with one decimal, money with thousands separators) and text as text."""

from __future__ import annotations

import math
import re
import string

#: every ASCII punctuation character: CommonMark lets each be escaped with a backslash, and together they are all
#: that Streamlit's markdown reads as syntax (links, images, HTML, emphasis, LaTeX ``$``, ``:emoji:``/``:red[...]``)
_MARKDOWN_SPECIALS = frozenset(string.punctuation)


def usd(value: float) -> str:
    """$1,234,567 (whole dollars); "not a finite amount" for inf or NaN (a model result that cannot be trusted)."""
    if not math.isfinite(value):
        return "not a finite amount"
    return f"${value:,.0f}" if value >= 0 else f"−${-value:,.0f}"


def bps(value: float) -> str:
    """12.3 bps; "not a finite cost" for inf or NaN."""
    return f"{value:,.1f} bps" if math.isfinite(value) else "not a finite cost"


def shares(value: float) -> str:
    """1,234,567 sh."""
    return f"{value:,.0f} sh"


def markdown_safe(text: str) -> str:
    """Escape $ so Streamlit's markdown does not read money as LaTeX (for the app's own text only; see ``plain``)."""
    return text.replace("$", "\\$")


#: where GitHub-flavoured Markdown links bare text ("http://", "www.", "name@host"): it finds them in the text after
#: the escapes are read, so a WORD JOINER (U+2060, invisible) goes inside each to keep it text
_BARE_LINKS = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """Text for Streamlit's markdown (st.markdown, st.error, captions, labels) that shows exactly ``text``.

    Every ASCII punctuation character is backslash-escaped, so a user's string (a symbol, a file or column name,
    a note, a message that quotes one) is never read as a link, an image, HTML, emphasis, LaTeX or an icon: the
    symbol ``![x](http://host/t.png)`` shows as those characters and the browser fetches nothing. A bare address
    (``http://``, ``www.``, an e-mail's ``@``) gets an invisible word joiner so that it is not made a live link.
    """
    text = _BARE_LINKS.sub(WORD_JOINER, str(text))
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIALS else char for char in text)


#: "process 1234 (python -m optexec load ...)", "PID 1234", "pid=1234": who holds the store, as the core says it
_PROCESS = re.compile(r"\bprocess \d+(?: \((?:[^()]|\([^()]*\))*\))?|\bpid[ =:]?\d+", re.IGNORECASE)
_USER = re.compile(r" by user [^\s.,;:]+")
#: an absolute path of two parts or more ("/srv/data/optexec.duckdb", "C:\\Temp\\up.csv", "~/x/y.csv")
_PATH = re.compile(
    r"""(?<![^\s'"(=\[])(?:[A-Za-z]:|~)?[/\\](?:[^\s/\\'"]+[/\\])+([^\s/\\'",;:)\]]*[^\s/\\'",;:.)\]])"""
)


def machine_free(text: object) -> str:
    """``text`` without what the browser must not learn about the server: absolute paths (their file name is
    kept), process ids with their command lines ("another process") and user names."""
    text = _USER.sub("", _PROCESS.sub("another process", str(text)))
    return _PATH.sub(lambda found: found.group(1), text)


def message(text: object) -> str:
    """A message from the core (an error, a warning, a note quoting a user's value) for the page: machine details
    removed (``machine_free``) and shown as text (``plain``)."""
    return plain(machine_free(text))


_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(*parts: str) -> str:
    """A download's file name from its parts (a symbol, a side, what it is), joined by ``_``: any character but
    letters, digits, ``.``, ``_`` and ``-`` becomes ``_``, and no name starts with a dot or a dash."""
    stem = "_".join(_UNSAFE_IN_FILE_NAMES.sub("_", part) for part in parts)
    return stem.lstrip(".-") or "optexec"


def days(value: float) -> str:
    """1 trading day, 2.5 trading days."""
    return f"{value:g} trading day{'' if value == 1 else 's'}"
