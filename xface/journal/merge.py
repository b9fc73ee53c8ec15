"""Restoring an export into a journal: rows added with their ids, all or none, and never over a different row."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

from sqlite_utils import Database

from xface.journal.schema import ROW_NAMES, TABLES


class MergeCounts(NamedTuple):
    """What a merge did: rows written, and rows skipped because the same row was already there."""

    restored: int
    already_there: int


MERGE_BATCH = 500
"""Rows looked up or inserted per statement while merging (SQLite allows 32,766 parameters per statement)."""


def merge_rows(db: Database, rows: dict[str, list[dict]], withheld: Iterable[str] = ()) -> MergeCounts:
    """Add rows (with their ids, already passed through ``check_row``) inside the caller's write transaction.

    A row whose id is already there with the same content is skipped. One whose id is there with
    different content raises ValueError, and the caller's transaction writes nothing. Parents come first
    (``TABLES`` order), so a row can point at a session added by the same merge. ``withheld`` names columns
    ("quiz_answers.question") that the export left out: they are not compared.
    """
    restored = already_there = 0
    skip = set(withheld)
    for table in TABLES:
        incoming = rows.get(table) or []
        columns = [column for column in db[table].columns_dict if f"{table}.{column}" not in skip]
        stored: dict[int, dict] = {}
        for start in range(0, len(incoming), MERGE_BATCH):  # a few queries, not one per row
            ids = [row["id"] for row in incoming[start : start + MERGE_BATCH]]
            where = f"id in ({', '.join('?' * len(ids))})"
            stored.update((row["id"], row) for row in db[table].rows_where(where, ids))
        new = []
        for row in incoming:
            if row["id"] not in stored:
                new.append(row)
            elif _same(stored[row["id"]], row, columns):
                already_there += 1
            else:
                raise ValueError(
                    f"The export's {ROW_NAMES[table]} {row['id']} differs from the one in your journal "
                    "with the same number, so nothing was restored."
                )
        if new:
            db[table].insert_all(new, batch_size=MERGE_BATCH)
            restored += len(new)
    return MergeCounts(restored, already_there)


def _same(stored: dict, row: dict, columns: list[str]) -> bool:
    """Whether a stored row and a checked row hold the same content (JSON columns compared decoded)."""
    for column in columns:
        left, right = stored.get(column), row.get(column)
        if column in ("summary", "body") and isinstance(left, str) and isinstance(right, str):
            left, right = json.loads(left), json.loads(right)
        if left != right:
            return False
    return True
