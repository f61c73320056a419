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


#: the core's command-line advice -> what a user of the web app can do (the app never tells a user a flag; the
#: Data page first puts its own inputs' names in for the load options, ``optexec.store.reports.for_page``)
_COMMAND_LINE_ADVICE = (
    (re.compile(r" \(or wait longer with \w+=SECONDS, or choose another database with --db\)"), ""),
    (re.compile(r"Use a new database \((?:--db PATH|another database \(OPTEXEC_DB\))\) for the sample"),
     "Start the app on a new database (the OPTEXEC_DB setting) for the sample"),
    (re.compile(r" \(`python -m optexec --db \S+ db init --sample`\)"),
     " (start the app with OPTEXEC_DB set to a new file)"),
    (re.compile(r": write one with `export --lake [^`]*`"),
     ": choose the folder of a lake written by optexec's export"),
    (re.compile(r"Map them with (?:--map FILE_COLUMN=OUR_COLUMN|renaming the file's columns)"),
     "Rename those columns in the file to one of the accepted names"),
    (re.compile(r" or give (?:--symbol|the Symbol input)"), " or fill in the Symbol input"),
)  # fmt: skip


def web_words(text: str) -> str:
    """``text`` with the core's command-line advice put as what the web app's user can do (``_COMMAND_LINE_ADVICE``)."""
    for pattern, words in _COMMAND_LINE_ADVICE:
        text = pattern.sub(words, text)
    return text


def message(text: object) -> str:
    """A message from the core (an error, a warning, a note quoting a user's value) for the page: command-line advice
    in the web app's words (``web_words``), machine details removed (``machine_free``) and shown as text
    (``plain``)."""
    return plain(machine_free(web_words(str(text))))


_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(*parts: str) -> str:
    """A download's file name from its parts (a symbol, a side, what it is), joined by ``_``: any character but
    letters, digits, ``.``, ``_`` and ``-`` becomes ``_``, and no name starts with a dot or a dash."""
    stem = "_".join(_UNSAFE_IN_FILE_NAMES.sub("_", part) for part in parts)
    return stem.lstrip(".-") or "optexec"


def days(value: float) -> str:
    """1 trading day, 2.5 trading days."""
    return f"{value:g} trading day{'' if value == 1 else 's'}"


#: the dash a table shows where there is no number (not estimated, not applicable); the page says what it means
NO_VALUE = "—"
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(value: object, digits: int = 4) -> str:
    """A number as a trader reads it: ``digits`` significant digits with thousands separators between 0.001 and
    1,000,000, scientific notation beyond (3.854 × 10⁻⁸), and ``NO_VALUE`` for None or NaN (never "None")."""
    if value is None or isinstance(value, bool):
        return NO_VALUE if value is None else str(value)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return NO_VALUE
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    sign = "−" if x < 0 else ""
    size = abs(x)
    if 1e-3 <= size < 1e6:
        text = f"{size:,.{max(digits - 1 - math.floor(math.log10(size)), 0)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return sign + text
    mantissa, exponent = f"{size:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{sign}{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPTS)}"


def with_unit(value: object, unit: str, digits: int = 4) -> str:
    """``number(value)`` followed by its unit ("3.854 × 10⁻⁸ $/share per share/day"); the dash alone without a value."""
    text = number(value, digits)
    return text if text == NO_VALUE or not unit else f"{text} {unit}"


def percent_change(better_pct: float, better: str = "cheaper", worse: str = "dearer") -> str:
    """A signed improvement in words, so that better reads as better: +16.9 -> "16.9% cheaper", -3.2 -> "3.2%
    dearer", 0 -> "the same"; ``NO_VALUE`` for NaN."""
    if better_pct is None or not math.isfinite(better_pct):
        return NO_VALUE
    if round(better_pct, 1) == 0:
        return "the same"
    return f"{abs(better_pct):.1f}% {better if better_pct > 0 else worse}"
