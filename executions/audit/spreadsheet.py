"""Cells for CSV files that people open in spreadsheets: every CSV the panel writes goes through csv_cell."""

from __future__ import annotations

import json

# OWASP's list: a spreadsheet evaluates a cell starting with any of these (tab and CR included) as a formula.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The value as a CSV cell: dicts as compact JSON, None empty, formula-like text behind a leading quote."""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return "" if value is None else value
