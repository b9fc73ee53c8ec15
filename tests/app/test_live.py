"""The live-practice engine with the real model and real photos: dropping frames, recording, resets."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from xface.app.draw import reading_explanation
from xface.app.live import LiveSession, RecordingEnd, parse_ice_servers
from xface.emotions import EMOTIONS
from xface.journal.schema import TABLES
from xface.journal.store import Journal
from xface.vision.pipeline import FaceReading


class FakeClock:
    """Stream time under the test's control, so recording intervals are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SignallingLock:
    """The analyzer's inference lock, also saying (an event) when an analysis is waiting for it.

    The test holds the real lock, so an analysis that has started stays in progress until the
    test lets it go: no race with the machine's speed.
    """

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.asked = threading.Event()

    def __enter__(self) -> SignallingLock:
        self.asked.set()
        self.lock.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()


@pytest.fixture
def held_analyzer(analyzer, monkeypatch):
    """The real analyzer, its models held back until the test releases `held_analyzer.inference_lock.lock`."""
    gate = SignallingLock(threading.Lock())
    monkeypatch.setattr(analyzer, "inference_lock", gate)
    return analyzer


def test_frames_arriving_while_busy_are_dropped_not_queued(held_analyzer, portrait):
    gate = held_analyzer.inference_lock
    live = LiveSession(held_analyzer)  # background analysis, as in the app
    with gate.lock:
        outputs = [live.process(portrait) for _ in range(5)]
        assert gate.asked.wait(120) and live.busy  # the first frame's analysis waits for the models
    assert live.wait_idle(timeout=120)
    snap = live.snapshot()
    assert snap.frames_seen == 5
    assert snap.frames_analysed == 1 and snap.frames_dropped == 4
    # No labels existed yet, so those frames went back untouched; the next one carries the labels.
    assert all(np.array_equal(out, portrait) for out in outputs)
    assert snap.readings and snap.readings[0].face_id == 1
    assert snap.timings["total"] > 0  # the page shows how long reading a frame takes
    labelled = live.process(portrait)
    assert not np.array_equal(labelled, portrait)
    assert live.wait_idle(timeout=120)
    assert live.snapshot().frames_analysed == 2


def test_a_second_caller_is_turned_away_while_a_frame_is_analysed(held_analyzer, portrait):
    gate = held_analyzer.inference_lock
    live = LiveSession(held_analyzer, background=False)
    with gate.lock:
        worker = threading.Thread(target=live.process, args=(portrait,))
        worker.start()
        assert gate.asked.wait(120), "the first frame never started"
        assert live.busy
        out = live.process(portrait)  # must not wait for the first frame's analysis
    worker.join(120)
    assert out.shape == portrait.shape
    snap = live.snapshot()
    assert (snap.frames_analysed, snap.frames_dropped) == (1, 1)
    assert not live.busy


def test_recording_writes_one_observation_per_face_per_second_and_no_pixels(analyzer, portrait, tmp_path):
    clock = FakeClock()
    live = LiveSession(analyzer, background=False, clock=clock)
    path = tmp_path / "journal.db"
    journal = Journal(path)
    session_id = live.start_recording(journal)
    assert live.recording and live.start_recording(journal) == session_id  # pressing twice is harmless
    for _ in range(6):  # 3 s of stream time at 2 frames a second
        live.process(portrait)
        clock.now += 0.5
    status = live.snapshot().recording
    assert status is not None and status.session_id == session_id and status.error is None
    faces = {r.face_id for r in live.snapshot().readings}
    assert 1 in faces  # the photo's main face (a neighbour at its edge may be found too)
    assert live.stop_recording() == RecordingEnd(session_id)
    assert not live.recording and live.stop_recording() is None
    live.process(portrait)  # after stopping nothing more is written
    journal.close()

    with sqlite3.connect(path) as db:
        rows = db.execute("select session_id, t, face_id, emotion from observations order by face_id, t").fetchall()
        assert {s for s, *_ in rows} == {session_id}
        assert [t for _, t, f, _ in rows if f == 1] == [0.0, 1.0, 2.0]  # 6 frames, half a second apart
        for face in {f for _, _, f, _ in rows}:
            times = [t for _, t, f, _ in rows if f == face]
            assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))
        assert all(emotion in EMOTIONS for *_, emotion in rows)
        written = len(rows)
        kind, ended, summary = db.execute("select kind, ended_at, summary from sessions").fetchone()
        assert kind == "live" and ended is not None and f'"observations": {written}' in summary
        for table in TABLES:
            columns = [c[1] for c in db.execute(f"pragma table_info({table})")]
            for column in columns:
                blobs = db.execute(f"select count(*) from {table} where typeof({column}) = 'blob'").fetchone()[0]
                assert blobs == 0, f"{table}.{column} holds bytes"
    assert path.stat().st_size < 200_000  # one 640x480 frame alone would be 921,600 bytes


def test_summary_after_stopping_reports_what_was_seen(analyzer, portrait, tmp_path):
    clock = FakeClock()
    live = LiveSession(analyzer, background=False, clock=clock)
    journal = Journal(tmp_path / "journal.db")
    session_id = live.start_recording(journal)
    for _ in range(3):
        live.process(portrait)
        clock.now += 1.0
    assert live.stop_recording() == RecordingEnd(session_id)
    summary = journal.session(session_id)["summary"]
    assert summary["faces"] >= 1 and summary["observations"] == 3 * summary["faces"]
    assert sum(summary["emotion_share"].values()) == pytest.approx(1.0, abs=0.01)


def test_a_new_camera_session_starts_a_new_stream(analyzer, portrait):
    clock = FakeClock()
    live = LiveSession(analyzer, background=False, clock=clock)
    live.process(portrait)
    first = live.snapshot()
    first_ids = [r.face_id for r in first.readings]
    assert first.readings and first.stream_started == 100.0
    assert first.label_latency() == 0.0
    live.stream_ended()
    assert live.snapshot().readings == [] and live.snapshot().frames_seen == 0
    clock.now += 5
    live.process(portrait)
    again = live.snapshot()
    assert again.stream_started == 105.0
    assert [r.face_id for r in again.readings] == first_ids == list(range(1, len(first_ids) + 1))  # ids restart


def test_results_of_a_frame_from_an_ended_stream_are_discarded(analyzer, portrait):
    live = LiveSession(analyzer)
    live.process(portrait)
    live.stream_ended()  # while the first frame is still being analysed
    assert live.wait_idle(timeout=120)
    snap = live.snapshot()
    assert snap.readings == [] and snap.frames_analysed == 0


def test_rates_count_recent_frames():
    clock = FakeClock()

    class Slow:
        def stream(self, **settings):
            return self

        def process(self, frame):
            return []

    live = LiveSession(Slow(), background=False, clock=clock)  # type: ignore[arg-type]
    frame = np.zeros((48, 64, 3), np.uint8)
    for _ in range(11):
        live.process(frame)
        clock.now += 0.1
    snap = live.snapshot()
    assert snap.video_fps == pytest.approx(10.0)
    assert snap.analysis_fps == pytest.approx(10.0)
    assert snap.label_latency() is None  # no face was ever found


def test_an_analysis_error_is_reported_and_the_video_goes_on():
    class Broken:
        def stream(self, **settings):
            return self

        def process(self, frame):
            raise RuntimeError("out of memory")

    live = LiveSession(Broken(), background=False)  # type: ignore[arg-type]
    frame = np.zeros((48, 64, 3), np.uint8)
    assert np.array_equal(live.process(frame), frame)
    assert "out of memory" in live.snapshot().error
    assert not live.busy


def _reading(probs: dict[str, float], held: str) -> FaceReading:
    return FaceReading((0, 0, 1, 1), np.zeros((5, 2)), 1.0, {e: probs.get(e, 0.0) for e in EMOTIONS}, held, 0.5, 1)


def test_words_follow_the_held_label_until_the_stream_changes_it():
    # The smoothed numbers already favour neutral, but the stream still holds "happy".
    explanation = reading_explanation(_reading({"happy": 0.40, "neutral": 0.45, "sad": 0.15}, held="happy"))
    assert explanation.emotion == "happy"
    assert explanation.headline == "Not sure: happy or neutral"
    assert reading_explanation(_reading({"happy": 0.9, "neutral": 0.1}, held="happy")).headline == "Looks happy"


def test_ice_servers_are_checked():
    assert parse_ice_servers("") == []
    servers = parse_ice_servers('[{"urls": ["stun:stun.example.org:3478"]}]')
    assert servers == [{"urls": ["stun:stun.example.org:3478"]}]
    for bad in ("{", '{"urls": "stun:x"}', '[{"url": "stun:x"}]'):
        with pytest.raises(ValueError):
            parse_ice_servers(bad)


def test_background_analysis_runs_on_one_long_lived_thread(analyzer, portrait, monkeypatch):
    """Not a fresh thread per frame: torch sets up per-thread state, and the app runs for hours."""
    threads: set[int] = set()
    predict = analyzer.classifier.predict

    def recording_thread(*args, **kwargs):
        threads.add(threading.get_ident())
        return predict(*args, **kwargs)

    monkeypatch.setattr(analyzer.classifier, "predict", recording_thread)
    live = LiveSession(analyzer)
    for _ in range(4):
        live.process(portrait)
        assert live.wait_idle(timeout=120)
    assert live.snapshot().frames_analysed == 4
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_snapshot_carries_the_words_made_once_per_analysis(analyzer, portrait):
    live = LiveSession(analyzer, background=False)
    for _ in range(3):
        live.process(portrait)
    snap = live.snapshot()
    (reading,) = snap.readings
    assert snap.explanations[reading.face_id] == reading_explanation(reading)
    assert snap.explanations[reading.face_id].emotion == reading.emotion  # the held label leads
    assert reading.cues is not None


def test_guess_first_hides_labels_until_the_face_is_revealed(analyzer, portrait):
    from xface.app.draw import draw_readings

    live = LiveSession(analyzer, background=False)
    for _ in range(3):
        live.process(portrait)
    live.hide_labels = True
    hidden = live.process(portrait)
    snap = live.snapshot()
    (reading,) = snap.readings
    assert np.array_equal(hidden, draw_readings(portrait, snap.readings, snap.explanations, hidden={reading.face_id}))
    assert not np.array_equal(hidden, draw_readings(portrait, snap.readings, snap.explanations))
    live.revealed.add(reading.face_id)
    shown = live.process(portrait)
    snap = live.snapshot()
    assert np.array_equal(shown, draw_readings(portrait, snap.readings, snap.explanations))
    live.stream_ended()
    assert live.revealed == set()  # face numbers start again, so every face is hidden again


def test_baseline_capture_reaches_the_stream(analyzer, portrait):
    live = LiveSession(analyzer, background=False)
    live.capture_baseline()  # no camera yet: nothing to do, no error
    for _ in range(20):
        live.process(portrait)
    (reading,) = live.snapshot().readings
    assert live.baseline_ready(reading.face_id)
    live.capture_baseline(reading.face_id)
    assert not live.baseline_ready(reading.face_id)


def test_each_label_has_its_own_short_sound():
    import io
    import wave

    from xface.app.live import label_tone

    sounds = {emotion: label_tone(emotion) for emotion in EMOTIONS}
    assert len(set(sounds.values())) == len(EMOTIONS)
    for data in sounds.values():
        with wave.open(io.BytesIO(data)) as tone:
            assert tone.getnchannels() == 1 and tone.getsampwidth() == 2
            assert 0.2 <= tone.getnframes() / tone.getframerate() <= 0.5
            samples = np.frombuffer(tone.readframes(tone.getnframes()), "<i2")
        assert 0 < np.abs(samples).max() < 32767 * 0.5  # soft, never clipped
        assert abs(int(samples[0])) < 500 and abs(int(samples[-1])) < 500  # faded in and out: no click


def _frames_of(portrait: np.ndarray) -> dict[str, np.ndarray]:
    grey = portrait.mean(axis=-1).astype(np.uint8)
    rgba = np.dstack([portrait, np.full(portrait.shape[:2], 255, np.uint8)])
    return {
        "grey": grey,
        "rgba": rgba,
        "float 0-1": portrait.astype(np.float32) / 255.0,
        "float 0-255": portrait.astype(np.float64),
        "uint16": portrait.astype(np.uint16),
        "not contiguous": portrait[:, ::-1],
    }


@pytest.mark.parametrize("kind", ["grey", "rgba", "float 0-1", "float 0-255", "uint16", "not contiguous"])
def test_every_frame_images_takes_is_read_and_shown_as_rgb(analyzer, portrait, kind) -> None:
    """The same real face in every form `images.load_image` takes: the frame comes back RGB uint8 with the face
    found and drawn, never as it came (2-D, 4 channels) and never black (floats)."""
    frame = _frames_of(portrait)[kind]
    live = LiveSession(analyzer, background=False)
    shown = live.process(frame)
    assert shown.dtype == np.uint8 and shown.shape == (*portrait.shape[:2], 3)
    assert abs(float(shown.mean()) - float(portrait.mean())) < 0.1 * float(portrait.mean())  # not black
    assert live.snapshot().readings, kind  # the face was read


@pytest.mark.parametrize("shape", [(3, 48, 64), (48, 64, 1), (48, 64, 2), (48,), (0, 64, 3)])
def test_a_frame_of_another_shape_is_refused_in_one_sentence_and_nothing_is_counted(analyzer, shape) -> None:
    from xface.vision.images import ImageError

    live = LiveSession(analyzer, background=False)
    with pytest.raises(ImageError) as raised:
        live.process(np.zeros(shape, np.uint8))
    assert "\n" not in str(raised.value)
    assert live.snapshot().frames_seen == 0
