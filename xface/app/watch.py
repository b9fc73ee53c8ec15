"""The Watch page's engine, without Streamlit: read a clip, chart its readings, draw a moment, export CSV.

The clip itself stays where it is: an upload's bytes in the page's memory, or a file the person named on
this computer. Only its readings (numbers, never pictures) are kept while the page is open, and only
what the person asks for leaves it: a CSV export, or guesses saved to the journal.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import numpy as np

from xface.app.draw import draw_readings, mesh_overlay
from xface.emotions import EMOTIONS, emotion_word
from xface.journal.charts import PALETTE
from xface.teach.scenes import Moment, timeline_rows
from xface.vision.pipeline import Analyzer, FaceReading
from xface.vision.video import (
    CsvRows,
    VideoError,
    VideoFile,
    VideoInfo,
    clock,
    cut_short,
    frame_rows,
    read_video,
)

CHART_WIDTH = 560
"""Pixels: a faceted chart (one row per face) can't take the container's width."""
MAX_CLIP_S = 30 * 60
"""Longer clips are for `xface analyze` (it streams to a file); the page keeps every reading in memory."""


@dataclass(frozen=True)
class Clip:
    """Where a clip is: an upload's bytes, or a path on this computer (read only there, never copied)."""

    name: str
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None

    def open(self) -> VideoFile:
        return VideoFile(self.data if self.data is not None else self.path, name=self.name)


@dataclass(frozen=True)
class ClipReadings:
    info: VideoInfo
    rows: list[dict]
    """Every face's row per analysed frame (`xface.vision.video.frame_rows`), in clip order."""
    seconds: float
    """How much of the clip the readings cover: all of it, or up to where a damaged file stopped reading."""
    stopped_early: str = ""
    """Why reading stopped before the end (a sentence for the page), or empty."""


def analyse(analyzer: Analyzer, clip: Clip, progress: Callable[[float, str], None]) -> ClipReadings:
    """Read the whole clip through the stream path; `progress(share done, words)` after each analysed frame.

    Refuses (VideoError) a clip longer than MAX_CLIP_S: before reading it when the file says its length, and
    once reading passes that time when it does not (a browser's WebM recording often does not). A file damaged
    or cut short part way keeps what was read before, and says where it stopped; one with no readable picture
    at all is refused."""
    with clip.open() as video:
        info = video.info
    if info.duration and info.duration > MAX_CLIP_S:
        raise _too_long(clip.name, f"is {clock(info.duration)} long")
    rows: list[dict] = []
    source = clip.data if clip.data is not None else clip.path
    unreadable = VideoError(f"{clip.name}: no picture in this video could be read; it may be damaged or cut short.")
    last_time: float | None = None
    stopped_early = ""
    with closing(read_video(analyzer, source, name=clip.name)) as frames:
        while True:
            try:
                frame = next(frames, None)
            except VideoError as error:
                if last_time is None:
                    raise unreadable from None
                stopped_early = f"{error} Readings are shown up to {clock(last_time)}."
                break
            if frame is None:
                break
            if frame.time > MAX_CLIP_S:
                raise _too_long(clip.name, f"is longer than {MAX_CLIP_S // 60} minutes")
            last_time = frame.time
            for row in frame_rows(clip.name, frame):
                row.pop("file")
                rows.append(row)
            if info.duration:
                progress(min(1.0, frame.time / info.duration), f"{clock(frame.time)} of {clock(info.duration)} read")
            else:
                progress(0.0, f"{clock(frame.time)} read")
    if last_time is None:
        raise unreadable
    if not stopped_early and (short := cut_short(info, last_time)):
        stopped_early = f"{short} Readings are shown up to {clock(last_time)}."
    progress(1.0, "done")
    seconds = last_time if stopped_early or not info.duration else info.duration
    return ClipReadings(info, rows, seconds, stopped_early)


def _too_long(name: str, length: str) -> VideoError:
    return VideoError(
        f"{name}: the clip {length}; this page reads clips up to {MAX_CLIP_S // 60} minutes. "
        "Use `xface analyze` for longer ones (it writes a CSV as it goes)."
    )


def reading_from_row(row: Mapping) -> FaceReading:
    """A row back as a reading, for drawing (no pixels: the crop and mesh are measured again when needed)."""
    probs = {name: float(row["probs"][name]) for name in EMOTIONS}
    return FaceReading(
        box=tuple(row["box"]),
        landmarks=np.asarray(row["landmarks"], dtype=np.float64),
        detection_score=float(row["detection_score"]),
        probs=probs,
        emotion=row["emotion"],
        confidence=float(row["confidence"]),
        face_id=row.get("face_id"),
        cues=dict(row["cues"]) if row.get("cues") else None,
        cues_against_typical=bool(row.get("cues_against_typical", True)),
    )


def rows_at(rows: Sequence[Mapping], seconds: float) -> list[Mapping]:
    """The rows of the analysed frame nearest to `seconds` (every face there)."""
    if not rows:
        return []
    nearest = min(rows, key=lambda row: abs(row["time"] - seconds))
    return [row for row in rows if row["frame"] == nearest["frame"]]


@dataclass(frozen=True)
class MomentPicture:
    frame: np.ndarray
    """The clip's frame with each face's box and label (or only its number, where hidden)."""
    cue_pictures: dict[int, np.ndarray]
    """Per face id: its face with the parts that moved drawn thick (where a face mesh fits)."""
    time: float


def moment_picture(
    analyzer: Analyzer, clip: Clip, rows: Sequence[Mapping], hidden: Sequence[int] = ()
) -> MomentPicture:
    """The frame of these rows (one analysed frame) with boxes and labels, and each face's cue overlay."""
    at = float(rows[0]["time"])
    with clip.open() as video:
        pixels = video.frame_at(at)
    readings = [reading_from_row(row) for row in rows]
    with analyzer.inference_lock:
        crops = analyzer.align(pixels, [_detection(r) for r in readings])
        meshes = analyzer.meshes(pixels, [_detection(r) for r in readings])
    cue_pictures = {}
    for reading, crop, mesh in zip(readings, crops, meshes, strict=True):
        reading.aligned = crop
        if mesh is not None and reading.face_id is not None and reading.face_id not in hidden:
            reading.mesh = mesh.points
            cue_pictures[reading.face_id] = mesh_overlay(reading, size=200, typical=reading.cues_against_typical)
    return MomentPicture(draw_readings(pixels, readings, hidden=hidden), cue_pictures, at)


def _detection(reading: FaceReading):
    from xface.vision.detect import Detection

    return Detection(reading.box, reading.detection_score, reading.landmarks)


def moment_rows(rows: Sequence[Mapping], moment: Moment) -> list[Mapping]:
    """Every face's row at a moment's frame (the guessed face and any others in the picture)."""
    return [row for row in rows if row["frame"] == moment.frame]


def timeline_chart(rows: Sequence[Mapping], duration: float | None) -> alt.Chart:
    """Per face: the reading over time (colour), its confidence (height), the strongest cues (tooltip).

    A click on a point selects that moment (`time`)."""
    records = timeline_rows(rows)
    words = [emotion_word(name) for name in EMOTIONS]
    colours = alt.Scale(domain=words, range=[PALETTE[name] for name in EMOTIONS])
    pick = alt.selection_point(name="moment", fields=["time"], on="click", nearest=True)
    x = alt.X("time:Q", title="Clip time (seconds)", scale=alt.Scale(domain=[0, duration or None]))
    points = (
        alt.Chart()
        .mark_circle(size=45)
        .encode(
            x=x,
            y=alt.Y("confidence:Q", title="How sure", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("reading:N", title="Reading", scale=colours),
            tooltip=[
                alt.Tooltip("time:Q", title="Seconds", format=".1f"),
                alt.Tooltip("reading:N", title="Reading"),
                alt.Tooltip("confidence:Q", title="How sure", format=".0%"),
                alt.Tooltip("cues:N", title="Strongest cues"),
            ],
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.6)),
        )
        .add_params(pick)
    )
    line = alt.Chart().mark_line(color="#bbbbbb", strokeWidth=1).encode(x=x, y="confidence:Q")
    return (
        alt.layer(line, points, data=alt.Data(values=records))
        .properties(width=CHART_WIDTH, height=140)
        .facet(row=alt.Row("face:N", title=None, header=alt.Header(labelFontWeight="bold")))
    )


def readings_csv(rows: Sequence[Mapping], name: str) -> bytes:
    """The readings as CSV (the same columns as `xface analyze --csv`)."""
    buffer = io.StringIO()
    writer = CsvRows(buffer)
    for row in rows:
        writer.write({"file": name, **row})
    return buffer.getvalue().encode("utf-8")


def guess_question(moment: Moment, clip_name: str | None) -> str:
    """How the journal names a guessed moment: with the clip's name only when the person allowed it."""
    where = f"{clip_name} at {clock(moment.time)}" if clip_name else f"a clip at {clock(moment.time)}"
    return f"{where}, face {moment.face_id}"


def save_guess(journal, session_id: int | None, moment: Moment, guess: str, clip_name: str | None) -> int:
    """Store a guess as a "clip" answer (a session of its own kind, opened on the first guess); returns the session.

    The session's summary is brought up to date after each guess: a person may stop guessing at any moment."""
    from xface.teach.scenes import verdict

    if session_id is None:
        session_id = journal.start_session("clip")
    journal.add_quiz_answer(
        session_id,
        question=guess_question(moment, clip_name),
        guess=guess,
        answer=moment.emotion,
        answer_source="model",
        model_emotion=moment.emotion,
        model_confidence=moment.confidence,
        face_source="clip",
        verdict=verdict(moment),
    )
    journal.end_session(session_id)
    return session_id
