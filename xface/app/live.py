"""The live-practice engine, without Streamlit: frames in, labelled frames and readings out.

A `LiveSession` is shared by three threads: the video thread (streamlit-webrtc's frame callback
calls `process`), one analysis thread at a time, and the page (which reads `snapshot()` twice a
second and starts or stops recording). Why it is built this way:

* Analysis takes 100-400 ms on a laptop CPU, a camera sends a frame every 33-66 ms. Queueing frames
  would make the labels fall further and further behind, so `process` never waits: if the
  analyser is free (a non-blocking `Lock.acquire`), the frame goes to a fresh analysis thread,
  otherwise it is *dropped* from analysis. Either way the frame is returned at once with the
  latest boxes and labels drawn on it, so the video stays smooth while labels update as fast as
  the CPU allows.
* Results reach the page only through `snapshot()`, under a lock; the video thread never touches
  Streamlit.
* A new `AnalyzerStream` is made for each camera session (face ids start again at #1), because
  tracks from an old stream mean nothing in a new one.
* Recording goes through the same path: each analysed frame's readings are offered to a
  `journal.Recorder` (≤ 1 row per face per second, probabilities only, never pixels).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from xface.app.draw import draw_readings, reading_explanation
from xface.journal.recorder import Recorder
from xface.journal.schema import JournalError
from xface.journal.store import Journal
from xface.teach.explain import Explanation
from xface.vision.images import load_image
from xface.vision.pipeline import Analyzer, AnalyzerStream, FaceReading

__all__ = [
    "APP_THREADS",
    "LiveSession",
    "LiveSnapshot",
    "RecordingEnd",
    "RecordingStatus",
    "ice_servers",
    "label_tone",
    "parse_ice_servers",
]

NO_FACE_SEEN = "No face was seen while recording, so nothing was saved."

APP_THREADS = 1
"""Threads per network in the app. Measured on a 2-core machine with the ONNX Runtime path: `xface bench`
is faster with two on an idle machine (one face 82 vs 71 frames a second, four faces 35 vs 27), but at
a camera's pace one already keeps up (real browser, 15 fps fake camera: 13.3 labels a second with one
thread, 13.6 with two; with another process busy on one core, 10.7 and 10.0). A second thread would
only take a core from the video call and the browser that people run beside Xface."""

RATE_WINDOW_S = 3.0
"""Frame rates are counted over this many recent seconds."""


ICE_ENV = "XFACE_ICE_SERVERS"
"""JSON list of ICE servers, for using the camera from another computer (not needed on localhost)."""


def parse_ice_servers(text: str) -> list[dict]:
    """Check a JSON list of ICE servers (`[{"urls": ["stun:..."]}, ...]`); empty text means none.

    On localhost no STUN or TURN server is needed, and none is contacted unless the person asks:
    an ICE server learns this computer's address, which is private.
    """
    if not text.strip():
        return []
    try:
        servers = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"The ICE servers are not valid JSON ({error.msg}, line {error.lineno}).") from None
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError('ICE servers must be a JSON list like [{"urls": ["stun:stun.example.org:3478"]}].')
    return servers


def ice_servers() -> list[dict]:
    """ICE servers from the environment (XFACE_ICE_SERVERS), or none; a bad value raises ValueError."""
    return parse_ice_servers(os.environ.get(ICE_ENV, ""))


@dataclass(frozen=True)
class RecordingStatus:
    session_id: int
    started: float
    """`clock()` time when recording began."""
    written: int
    error: str | None
    """Why recording stopped on its own (a sentence to show as it is), or None while it runs."""


@dataclass(frozen=True)
class RecordingEnd:
    """How a recording ended: the saved session (None when nothing was kept) and what to tell the person."""

    session_id: int | None
    message: str | None = None


@dataclass(frozen=True)
class LiveSnapshot:
    """What the page shows, copied under the lock so it can't change while being drawn."""

    readings: list[FaceReading] = field(default_factory=list)
    explanations: dict[int | None, Explanation] = field(default_factory=dict)
    """The words for each reading, by face id, made once per analysis (about the held label)."""
    analysed_at: float | None = None
    """`clock()` time of the frame the readings come from."""
    analysis_fps: float = 0.0
    """Frames analysed per second, recently."""
    video_fps: float = 0.0
    """Frames passed through per second, recently (what the person sees)."""
    frames_seen: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0
    """Frames that arrived while the analyser was busy: shown with the last labels, not analysed."""
    stream_started: float | None = None
    """`clock()` time of this camera session's first frame."""
    first_face_at: float | None = None
    """`clock()` time when the first face label of this camera session was ready."""
    last_frame_at: float | None = None
    error: str | None = None
    """Why the last analysis failed, if it did (the video keeps running)."""
    analysis_errors: int = 0
    """Frames whose analysis failed in this camera session (the soak benchmark checks it stays 0)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of the last analysis (`AnalyzerStream.last_timings`, when it reports them)."""
    recording: RecordingStatus | None = None

    def label_latency(self) -> float | None:
        """Seconds from the first frame to the first face label: how long a person waits to see words."""
        if self.stream_started is None or self.first_face_at is None:
            return None
        return self.first_face_at - self.stream_started


TONE_NOTES: dict[str, tuple[float, float]] = {
    "happy": (523.25, 659.25),  # C5 → E5: rising
    "surprise": (523.25, 783.99),  # C5 → G5: a jump up
    "neutral": (440.0, 440.0),  # A4, level
    "sad": (440.0, 349.23),  # A4 → F4: falling
    "fear": (493.88, 466.16),  # B4 → B♭4: tense half step
    "angry": (220.0, 207.65),  # A3 → G♯3: low and tense
    "disgust": (261.63, 246.94),  # C4 → B3: low, sinking
}
"""Two notes per emotion, so each label change has its own short sound (made here: nothing to download)."""


def label_tone(emotion: str, seconds: float = 0.3, rate: int = 16_000) -> bytes:
    """A short, soft two-note WAV (16-bit mono) for a label change; the sound is optional and off by default."""
    import io
    import wave

    first, second = TONE_NOTES[emotion]
    half = int(seconds * rate / 2)
    t = np.arange(half) / rate
    notes = np.concatenate([np.sin(2 * np.pi * first * t), np.sin(2 * np.pi * second * t)])
    fade = np.minimum(1.0, np.minimum(np.arange(notes.size), np.arange(notes.size)[::-1]) / (0.02 * rate))
    samples = (0.3 * 32767 * notes * fade).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def _rate(times: deque[float], now: float) -> float:
    recent = [t for t in times if now - t <= RATE_WINDOW_S]
    if len(recent) < 2:
        return 0.0
    return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)


class LiveSession:
    """One person's live practice: analyses frames without ever blocking the video, and records on request.

    `process` is the frame callback's body (RGB uint8 in, RGB uint8 out). `background=False`
    analyses inside `process` instead of in a thread (still dropping frames that arrive while
    another call is analysing): simpler to reason about, used in tests.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        background: bool = True,
        clock: Callable[[], float] = time.monotonic,
        **stream_settings,
    ) -> None:
        self.analyzer = analyzer
        self.clock = clock
        self.stream_settings = stream_settings
        self._busy = threading.Lock()
        """Held while a frame is analysed; never waited on by the video thread."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xface-analysis") if background else None
        """One long-lived analysis thread: the runtimes keep per-thread state, so a fresh thread for every
        frame would pay for it on every frame."""
        self._lock = threading.Lock()
        """Guards every field below that the page reads."""
        self._record_lock = threading.Lock()
        """Held while readings are offered to the recorder, so stopping waits for the last write."""
        self._recorder: Recorder | None = None
        self._recording_started = 0.0
        self.hide_labels = False
        """Guess first: boxes and face numbers only, until the person has said what they see."""
        self.revealed: set[int | None] = set()
        """Faces whose reading is shown although `hide_labels` is on (the person has guessed)."""
        self._recording_stopped: RecordingStatus | None = None
        """A recording that stopped on its own (write error, camera gone), until the page has shown it."""
        self._recording_end: RecordingEnd | None = None
        self._reset_stream()

    def _reset_stream(self) -> None:
        """Forget the camera session (caller holds `_lock`, or nobody else can see us yet)."""
        self._stream: AnalyzerStream | None = None
        self._generation = getattr(self, "_generation", 0) + 1
        self._readings: list[FaceReading] = []
        self.revealed = set()  # face numbers start again at #1
        self._explanations: dict[int | None, Explanation] = {}
        self._analysed_at: float | None = None
        self._seen_times: deque[float] = deque(maxlen=120)
        self._analysed_times: deque[float] = deque(maxlen=60)
        self._frames_seen = self._frames_analysed = self._frames_dropped = 0
        self._stream_started: float | None = None
        self._first_face_at: float | None = None
        self._error: str | None = None
        self._analysis_errors = 0
        self._timings: dict[str, float] = {}

    # --- the video thread ------------------------------------------------------------------------

    def process(self, frame: np.ndarray) -> np.ndarray:
        """Analyse the frame if the analyser is free (else drop it), and return it as RGB uint8 with the latest
        labels drawn.

        Takes every array `images.load_image` takes (grey, RGB, RGBA; uint8, or floats from 0 to 1); any other
        raises ImageError, one sentence, before anything is counted or analysed.
        """
        frame = load_image(frame)
        now = self.clock()
        with self._lock:
            if self._stream is None:
                self._stream = self.analyzer.stream(**self.stream_settings)
                self._stream_started = now
            self._frames_seen += 1
            self._seen_times.append(now)
            stream, generation = self._stream, self._generation
        if self._busy.acquire(blocking=False):
            if self._worker is not None:
                frame = np.array(frame, copy=True)  # the caller may reuse its buffer
                self._worker.submit(self._analyse, stream, generation, frame, now)
            else:
                self._analyse(stream, generation, frame, now)
        else:
            with self._lock:
                self._frames_dropped += 1
        with self._lock:
            readings, explanations = self._readings, self._explanations
        hidden = {r.face_id for r in readings if r.face_id not in self.revealed} if self.hide_labels else ()
        return draw_readings(frame, readings, explanations, hidden)

    def _analyse(self, stream: AnalyzerStream, generation: int, frame: np.ndarray, at: float) -> None:
        """Run on one frame (the caller took `_busy`; it is released here, whatever happens)."""
        try:
            started = self.clock()
            try:
                readings = stream.process(frame)
                explanations = {r.face_id: reading_explanation(r) for r in readings}
                error = None
            except Exception as exc:  # a bad frame must not stop the video; the page shows why
                readings, error = None, f"{type(exc).__name__}: {exc}"
            done = self.clock()
            with self._lock:
                if generation != self._generation:
                    return  # the camera session ended meanwhile: these results belong to no one
                self._error = error
                if readings is None:
                    self._analysis_errors += 1
                    return
                self._readings, self._explanations = readings, explanations
                self._timings = dict(getattr(stream, "last_timings", {}) or {})
                self._timings["total"] = done - started
                self._analysed_at = at
                self._frames_analysed += 1
                self._analysed_times.append(done)
                if readings and self._first_face_at is None:
                    self._first_face_at = done
            with self._record_lock:
                if self._recorder is not None and readings:
                    self._recorder.offer(max(at - self._recording_started, 0.0), readings)
                    if self._recorder.error is not None:
                        self._stop_on_error()
        finally:
            self._busy.release()

    def capture_baseline(self, face_id: int | None = None) -> None:
        """Learn the relaxed face of one face (or all) from the next frames: see `AnalyzerStream.capture_baseline`."""
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.capture_baseline(face_id)

    def baseline_ready(self, face_id: int) -> bool:
        """Are this face's cues measured against its own relaxed face yet?"""
        with self._lock:
            stream = self._stream
        return stream is not None and stream.baseline_ready(face_id)

    def stream_ended(self) -> None:
        """The camera stopped (streamlit-webrtc's `on_video_ended`): the next frame starts a new stream.

        Leaving the page stops the camera too, so a recording stops here as well (see `stop_recording`).
        """
        with self._lock:
            self._reset_stream()
        if self.recording:
            self._recording_end = self.stop_recording()

    # --- the page --------------------------------------------------------------------------------

    def snapshot(self) -> LiveSnapshot:
        now = self.clock()
        with self._lock:
            snapshot = LiveSnapshot(
                readings=list(self._readings),
                explanations=dict(self._explanations),
                analysed_at=self._analysed_at,
                analysis_fps=_rate(self._analysed_times, now),
                video_fps=_rate(self._seen_times, now),
                frames_seen=self._frames_seen,
                frames_analysed=self._frames_analysed,
                frames_dropped=self._frames_dropped,
                stream_started=self._stream_started,
                first_face_at=self._first_face_at,
                last_frame_at=self._seen_times[-1] if self._seen_times else None,
                error=self._error,
                analysis_errors=self._analysis_errors,
                timings=dict(self._timings),
            )
        recorder = self._recorder
        if recorder is None:
            return snapshot if self._recording_stopped is None else replace(snapshot, recording=self._recording_stopped)
        status = RecordingStatus(
            session_id=recorder.session_id,
            started=self._recording_started,
            written=recorder.written,
            error=None if recorder.error is None else str(recorder.error),
        )
        return replace(snapshot, recording=status)

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    def start_recording(self, journal: Journal, interval: float = 1.0) -> int:
        """Open a 'live' session in the journal; from now on analysed readings are written to it."""
        with self._record_lock:
            if self._recorder is not None:
                return self._recorder.session_id
            session_id = journal.start_session("live")
            self._recording_started = self.clock()
            self._recorder = Recorder(journal, session_id, interval=interval)
            self._recording_stopped = self._recording_end = None
            return session_id

    def _stop_on_error(self) -> None:
        """The journal refused a write (caller holds `_record_lock`): stop now, keep what was saved, say why."""
        recorder, self._recorder = self._recorder, None
        if recorder is None or recorder.error is None:
            return
        error = recorder.error
        reason = error.reason if isinstance(error, JournalError) else str(error).rstrip(".")
        self._recording_stopped = RecordingStatus(
            session_id=recorder.session_id,
            started=self._recording_started,
            written=recorder.written,
            error=f"Recording stopped: {reason}. What was saved so far is kept.",
        )
        try:
            recorder.journal.end_session(recorder.session_id)
        except (JournalError, ValueError):
            pass  # the file can't take even this; the rows already written stay, the session just has no end

    def stop_recording(self) -> RecordingEnd | None:
        """Stop writing and close the journal session (after any write in progress); None if not recording.

        The journal stores the session's summary as it ends. A recording in which no face was seen
        is deleted rather than kept as an empty session, and the message says so.
        """
        with self._record_lock:
            recorder, self._recorder = self._recorder, None
            self._recording_stopped = None  # the person has seen it: Stop clears the message
        if recorder is None:
            return None
        journal, session_id = recorder.journal, recorder.session_id
        try:
            if journal.end_session(session_id)["observations"] == 0:
                journal.delete_session(session_id)
                return RecordingEnd(None, NO_FACE_SEEN)
        except JournalError as error:
            return RecordingEnd(
                session_id if recorder.written else None,
                f"Recording stopped: {error.reason}. What was saved so far is kept.",
            )
        except ValueError:  # the session was deleted meanwhile (e.g. on the Journal page)
            return RecordingEnd(None, "This recording was deleted from the journal while it ran.")
        return RecordingEnd(session_id)

    def recording_ended_on_its_own(self) -> RecordingEnd | None:
        """A recording the camera's end stopped (the person left the page), once; the page offers its check-in."""
        end, self._recording_end = self._recording_end, None
        return end

    @property
    def busy(self) -> bool:
        """Is a frame being analysed right now (new frames are then dropped, not queued)?"""
        return self._busy.locked()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no frame is being analysed (tests, and a tidy stop)."""
        if not self._busy.acquire(timeout=timeout):
            return False
        self._busy.release()
        return True
