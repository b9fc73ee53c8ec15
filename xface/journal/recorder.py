"""Recording a live session into the journal, a few rows a second, from the video thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from xface.journal.schema import JournalError
from xface.journal.store import Journal


class Recorder:
    """Writes a live session's readings, at most one row per face per ``interval`` seconds of stream time.

    Why: 30 readings a second are the same expression; one a second keeps months of use small
    and keeps the video thread's writes short. ``offer`` is called from the video-callback thread
    while the page uses the same Journal; the Journal's lock makes that safe. If the journal
    refuses a write (disk full, file read-only or held elsewhere, session deleted) recording stops
    at once and ``error`` says why, rather than breaking the video: what was written stays.
    """

    def __init__(self, journal: Journal, session_id: int, interval: float = 1.0) -> None:
        self.journal = journal
        self.session_id = session_id
        self.interval = interval
        self.written = 0
        self.faces: set[int] = set()
        self.error: Exception | None = None
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def offer(self, t: float, readings: Iterable[Any]) -> int:
        """Consider readings (``face_id``, ``probs``, ``emotion``) taken at stream time ``t``; returns rows written."""
        with self._lock:
            if self.error is not None:
                return 0
            due = []
            for reading in readings:
                last = self._last.get(reading.face_id)
                # A jump back in t means the stream restarted: record again at once.
                if last is None or t < last or t - last >= self.interval - 1e-9:
                    self._last[reading.face_id] = t
                    due.append(
                        {"t": t, "face_id": reading.face_id, "probs": dict(reading.probs), "emotion": reading.emotion}
                    )
            if not due:
                return 0
            try:
                self.journal.add_observations(self.session_id, due)
            except (ValueError, JournalError) as error:
                self.error = error
                return 0
            self.written += len(due)
            self.faces.update(row["face_id"] for row in due)
            return len(due)
