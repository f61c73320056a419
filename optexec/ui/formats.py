"""Number formats used on every page: bps with one decimal, money with thousands separators."""

from __future__ import annotations


def usd(value: float) -> str:
    """$1,234,567 (whole dollars)."""
    return f"${value:,.0f}" if value >= 0 else f"−${-value:,.0f}"


def bps(value: float) -> str:
    """12.3 bps."""
    return f"{value:,.1f} bps"


def shares(value: float) -> str:
    """1,234,567 sh."""
    return f"{value:,.0f} sh"


def markdown_safe(text: str) -> str:
    """Escape $ so Streamlit's markdown does not read money as LaTeX."""
    return text.replace("$", "\\$")


def days(value: float) -> str:
    """1 trading day, 2.5 trading days."""
    return f"{value:g} trading day{'' if value == 1 else 's'}"
