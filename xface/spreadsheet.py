"""Cells a spreadsheet shows as text: what every CSV Xface writes (journal exports, `xface analyze --csv`, the
Watch page's readings) passes through, so a file name or a note can never run as a formula."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection)."""


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet shows as text: a text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value
