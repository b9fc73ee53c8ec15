"""Recording from the live page when things go wrong: a full disk, a read-only file, no face, leaving the page.

The journal is always a real SQLite file. The full disk is a real small filesystem (a tmpfs mounted
for the test, when the test may mount), and also SQLite's own size limit (``max_page_count``), which
makes SQLite fail with the very error a full disk gives, on any machine.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from xface.app.live import NO_FACE_SEEN, LiveSession, RecordingEnd
from xface.journal.schema import JournalError
from xface.journal.store import Journal

FULL = "Recording stopped: the disk is full. What was saved so far is kept."


class FakeClock:
    """Stream time under the test's control, so recording intervals are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _mounted(tmp_path: Path, size: str):
    """A real filesystem (tmpfs) of ``size``, mounted for one test; skipped where mounting is not allowed."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("Mounting a small filesystem needs root; the max_page_count test covers a full disk instead.")
    point = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"This machine does not allow mounting a small filesystem: {mounted.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "--lazy", str(point)], check=True)  # the page may still hold the file open


@pytest.fixture
def small_disk(tmp_path: Path):
    """320 KB: a recording fills it within a few hundred readings."""
    yield from _mounted(tmp_path, "320k")


@pytest.fixture
def roomy_disk(tmp_path: Path):
    """2 MB: a new journal fits with room to spare, so it closes cleanly (on 320 KB its closing checkpoint found
    the disk full and left the write-ahead log behind)."""
    yield from _mounted(tmp_path, "2m")


def record_until_it_stops(live: LiveSession, clock: FakeClock, frame: np.ndarray, most: int = 5000) -> int:
    """Feed frames a second apart until the recording stops on its own; returns the frames it took."""
    for count in range(1, most + 1):
        live.process(frame)
        clock.now += 1.0
        if not live.recording:
            return count
    raise AssertionError(f"the recording did not stop within {most} frames")


def test_a_full_disk_stops_the_recording_with_a_message_and_keeps_what_was_saved(analyzer, portrait, small_disk):
    path = small_disk / "journal.db"
    journal = Journal(path)
    live = LiveSession(analyzer, background=False, clock=FakeClock())
    session_id = live.start_recording(journal)
    frames = record_until_it_stops(live, live.clock, portrait)
    status = live.snapshot().recording
    # The snapshot the page reads twice a second carries the message as soon as the write failed.
    assert status is not None and status.error == FULL
    assert status.written > 0 and frames > 1
    assert live.stop_recording() is None  # already stopped: Stop does nothing and raises nothing
    assert live.snapshot().recording is None  # pressing Stop clears the message
    live.process(portrait)  # the video goes on; nothing more is written
    journal.close()
    shutil.copy(path, small_disk.parent / "copy.db")  # read the kept rows on a disk with room
    for suffix in ("-wal", "-shm"):
        if (small_disk / f"journal.db{suffix}").exists():
            shutil.copy(small_disk / f"journal.db{suffix}", small_disk.parent / f"copy.db{suffix}")
    with Journal(small_disk.parent / "copy.db") as kept:
        assert len(kept.observations(session_id)) == status.written


def test_sqlite_size_limit_gives_the_same_clear_stop(analyzer, portrait, tmp_path):
    journal = Journal(tmp_path / "journal.db")
    live = LiveSession(analyzer, background=False, clock=FakeClock())
    session_id = live.start_recording(journal)
    live.process(portrait)
    live.clock.now += 1.0
    pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
    journal._db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL
    record_until_it_stops(live, live.clock, portrait)
    status = live.snapshot().recording
    assert status.error == FULL
    journal._db.execute("PRAGMA max_page_count = 1073741823")
    assert len(journal.observations(session_id)) == status.written >= 1
    with pytest.raises(JournalError) as raised:
        journal._db.execute(f"PRAGMA max_page_count = {journal._db.execute('PRAGMA page_count').fetchone()[0]}")
        for _ in range(200):
            journal.add_checkin("calm", "calm", 3, note="x" * 1900)
    assert raised.value.reason == "the disk is full"
    journal.close()


def test_a_journal_held_by_another_program_stops_the_recording_with_a_message(analyzer, portrait, tmp_path):
    path = tmp_path / "journal.db"
    journal = Journal(path)
    live = LiveSession(analyzer, background=False, clock=FakeClock())
    live.start_recording(journal)
    live.process(portrait)
    live.clock.now += 1.0
    # Another program takes the write lock and keeps it: every later write times out.
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    journal._db.execute("PRAGMA busy_timeout = 50")
    try:
        record_until_it_stops(live, live.clock, portrait)
    finally:
        holder.rollback()
        holder.close()
    assert live.snapshot().recording.error == (
        "Recording stopped: another program is using the journal. What was saved so far is kept."
    )
    journal.close()


def test_a_journal_on_a_read_only_disk_is_refused_with_a_clear_message(roomy_disk):
    path = roomy_disk / "journal.db"
    with Journal(path) as journal:
        journal.add_checkin("calm", "calm", 2)
    assert sorted(p.name for p in roomy_disk.iterdir()) == ["journal.db"]  # closed cleanly: no log left behind
    subprocess.run(["mount", "-o", "remount,ro", str(roomy_disk)], check=True)
    with pytest.raises(JournalError) as raised:
        Journal(path)
    assert raised.value.reason == "the journal file can't be opened"
    assert "may be written to" in str(raised.value)


def test_a_recording_without_a_face_is_not_stored(analyzer, tmp_path):
    journal = Journal(tmp_path / "journal.db")
    live = LiveSession(analyzer, background=False, clock=FakeClock())
    live.start_recording(journal)
    for _ in range(3):
        live.process(np.full((240, 320, 3), 90, np.uint8))  # a wall: no face
        live.clock.now += 1.0
    assert live.stop_recording() == RecordingEnd(None, NO_FACE_SEEN)
    assert journal.sessions() == []  # no empty "0 faces seen" session
    live.start_recording(journal)  # also when the camera never started
    assert live.stop_recording() == RecordingEnd(None, NO_FACE_SEEN)
    assert journal.sessions() == []
    journal.close()


def test_the_camera_ending_stops_the_recording_and_offers_its_check_in(analyzer, portrait, tmp_path):
    journal = Journal(tmp_path / "journal.db")
    live = LiveSession(analyzer, background=False, clock=FakeClock())
    session_id = live.start_recording(journal)
    live.process(portrait)
    live.clock.now += 1.0
    live.stream_ended()  # leaving the page (or Stop camera) ends the video stream
    assert not live.recording
    assert live.recording_ended_on_its_own() == RecordingEnd(session_id)
    assert live.recording_ended_on_its_own() is None  # offered once
    (session,) = journal.sessions()
    assert session["ended_at"] is not None and session["summary"]["observations"] >= 1
    live.process(portrait)
    assert len(journal.observations(session_id)) == session["summary"]["observations"]
    journal.close()


def test_a_recording_deleted_while_a_quiz_starts_never_writes_into_the_quiz(analyzer, portrait, tmp_path):
    """The recording's session is deleted on the Journal page and a quiz session starts: the quiz never gets the
    recording's readings (its id is new, never the deleted one), and Stop says what happened (no KeyError)."""
    journal = Journal(tmp_path / "journal.db")
    live = LiveSession(analyzer, background=False, clock=FakeClock())
    recording = live.start_recording(journal)
    live.process(portrait)
    live.clock.now += 1.0
    journal.delete_session(recording)
    quiz = journal.start_session("quiz")
    assert quiz != recording
    for _ in range(3):
        live.process(portrait)
        live.clock.now += 1.0
    assert journal.observations() == []
    end = live.stop_recording()
    assert end is None or end.session_id is None
    assert [session["id"] for session in journal.sessions()] == [quiz]
    journal.close()
