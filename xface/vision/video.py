"""Video files through the stream path: decoded one frame at a time, read as the live page reads a camera.

A clip goes through `AnalyzerStream` (faces followed between full detections, stable face ids, smoothed
readings, labels held steady), `readings_per_second` times a second of clip time: about the live page's
rate, fast enough to see an expression change, and what lets a 720p clip be read faster than it plays on
one core (decoding every frame costs about 2 ms; reading one about 25 ms). Nothing is kept: `read_video`
yields each analysed frame's readings and forgets them, so memory stays flat over hours of video, and a
caller that stops early (Ctrl-C) has everything up to that frame.

Files are checked before anything is decoded: only regular files are opened (a named pipe would block
forever), and a picture size over `MAX_VIDEO_PIXELS` is refused from what the file declares, naming the file.
"""

from __future__ import annotations

import csv
import io
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from xface.emotions import EMOTIONS
from xface.spreadsheet import spreadsheet_safe
from xface.vision.cues import CUE_NAMES
from xface.vision.images import ImageError, printable_name

if TYPE_CHECKING:  # the models load only when a clip is read
    import av

    from xface.vision.pipeline import Analyzer, FaceReading

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".3gp"}
"""What phones, cameras, browsers and screen recorders write (.3gp: older phones, messaging apps)."""
SHORT_BY_S = 1.0
"""Pictures that end this much before the length the video stream states: the file was cut short. A whole clip
read at 10 readings a second ends within a tenth of a second of it."""
MAX_VIDEO_PIXELS = 36_000_000
"""Frames over this are refused before decoding (8K UHD is 33 megapixels): one decoded 16000×16000 frame
would need over a gigabyte."""
READINGS_PER_SECOND = 10.0
"""Frames read per second of clip by default (0: every frame). The live page reads a camera at 10-15 a second."""

CSV_COLUMNS = [
    "file",
    "frame",
    "time",
    "face",
    "face_id",
    "x1",
    "y1",
    "x2",
    "y2",
    "detection_score",
    "emotion",
    "confidence",
    *(f"p_{name}" for name in EMOTIONS),
    *(f"cues_{name}" for name in CUE_NAMES),
]
"""Every CSV column, known before the first row so rows can be written as they come: each reading's probs
become `p_…` columns and its cues `cues_…` columns (empty where no face mesh was fitted); landmarks are left out."""


class VideoError(ImageError):
    """A video that can't be read; the message names the file and says why in plain words."""


@dataclass(frozen=True)
class VideoInfo:
    """What the file declares, read before decoding."""

    name: str
    width: int
    height: int
    fps: float | None
    duration: float | None
    """Seconds: the pictures' own length where the video stream states it, else the file's (some say neither)."""
    pictures_length: float | None = None
    """Seconds the video stream itself states; not the file's length, which a longer sound track sets."""


@dataclass(frozen=True)
class AnalysedFrame:
    """One analysed frame: where it is in the clip and every face read there (largest first)."""

    index: int
    time: float
    readings: list[FaceReading]


def clock(seconds: float) -> str:
    """Clip time as people read it: 75.25 → "1:15.2"."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


class VideoFile:
    """An opened video: its declared size and rate (`info`) and its frames, decoded one at a time.

    `source` is a path (only a regular file is opened) or the bytes of an upload (`name` then says
    what to call it). Use it as a context manager. Any problem raises `VideoError` with one sentence.
    """

    def __init__(self, source: str | Path | bytes, name: str | None = None) -> None:
        import av

        if isinstance(source, bytes):
            self.name = name or "the video"
            opened: str | IO[bytes] = io.BytesIO(source)
        else:
            path = Path(source)
            self.name = name or printable_name(path.name)
            _check_regular_file(path, self.name)
            opened = str(path)
        try:
            self._container = av.open(opened, mode="r")
        except (av.error.FFmpegError, OSError, ValueError):
            raise VideoError(f"{self.name}: this is not a video Xface can read, or it is damaged.") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(f"{self.name}: the file has no picture, only sound or data.")
        self._stream = self._container.streams.video[0]
        self._stream.codec_context.thread_count = 1  # one core: the analysis needs the other
        width, height = self._stream.codec_context.width, self._stream.codec_context.height
        if width <= 0 or height <= 0:
            self._container.close()
            raise VideoError(f"{self.name}: the video does not say its picture size, so it was not read.")
        if width * height > MAX_VIDEO_PIXELS:
            self._container.close()
            raise VideoError(
                f"{self.name}: the video's pictures are too large ({width}×{height}; at most "
                f"{MAX_VIDEO_PIXELS // 1_000_000} megapixels), so it was not read."
            )
        rate = self._stream.average_rate or self._stream.guessed_rate
        pictures_length = _stated_length(self._stream)
        duration = pictures_length
        if duration is None and self._container.duration:
            duration = self._container.duration / 1_000_000
        self.info = VideoInfo(self.name, width, height, float(rate) if rate else None, duration, pictures_length)

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def frames(self, per_second: float = 0.0) -> Iterator[tuple[int, float, np.ndarray]]:
        """(index, seconds, RGB pixels) of frames about `per_second` apart in clip time (0: every frame).

        Skipped frames are decoded (video needs it) but never turned into pixels, the costly part."""
        import av

        step = 1.0 / per_second if per_second > 0 else 0.0
        slack = 0.5 / (self.info.fps or 30.0)  # half a frame: 25 fps read 10 times a second alternates 2 and 3
        due = 0.0
        try:
            for index, frame in enumerate(self._container.decode(self._stream)):
                time = float(frame.time) if frame.time is not None else index / (self.info.fps or 30.0)
                if step and time < due - slack:
                    continue
                due = max(due + step, time + step - slack)
                if frame.width * frame.height > MAX_VIDEO_PIXELS:
                    raise VideoError(f"{self.name}: a picture at {clock(time)} is too large, so reading stopped.")
                yield index, time, _upright(frame)
        except av.error.FFmpegError:
            raise VideoError(f"{self.name}: the video is damaged and can't be read further.") from None

    def frame_at(self, seconds: float) -> np.ndarray:
        """The RGB frame shown at `seconds` into the clip (the nearest one at or after it)."""
        import av

        try:
            self._container.seek(int(max(0.0, seconds) / self._stream.time_base), stream=self._stream, backward=True)
            last = None
            for frame in self._container.decode(self._stream):
                last = frame
                if frame.time is not None and frame.time + 1e-3 >= seconds:
                    break
        except av.error.FFmpegError:
            raise VideoError(f"{self.name}: the video is damaged at {clock(seconds)}.") from None
        if last is None:
            raise VideoError(f"{self.name}: there is no picture at {clock(seconds)}.")
        return _upright(last)


def cut_short(info: VideoInfo, last_seconds: float) -> str:
    """A sentence when the pictures end (the last one read shown at `last_seconds`, for one picture's time) well
    before the length the video states: a download or copy cut short ends quietly, without a decoding error.
    Else empty, and always when only the file's length is known (a sound track may run on after the pictures)."""
    if info.pictures_length is None:
        return ""
    shown_until = last_seconds + (1.0 / info.fps if info.fps else 0.0)
    if shown_until >= info.pictures_length - SHORT_BY_S:
        return ""
    return (
        f"{info.name}: the pictures stop at {clock(last_seconds)}, though the video says it lasts "
        f"{clock(info.pictures_length)}; it may have been cut short."
    )


def _stated_length(stream: av.video.stream.VideoStream) -> float | None:
    """Seconds the video stream says it lasts: its own duration, or the DURATION tag Matroska and WebM files
    carry per stream ("00:01:02.500000000")."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration") or ""
    hours, _, rest = tag.partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """RGB pixels as a player shows them: a phone stores a portrait video on its side and writes in the file's
    display matrix how to turn it (`frame.rotation`, degrees counter-clockwise); unturned, no face is found."""
    pixels = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(pixels, k=turns)) if turns else pixels


def _check_regular_file(path: Path, name: str) -> None:
    """Only plain files: a named pipe or device would block or never end, a folder is not a video."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise VideoError(f"{name}: there is no such file.") from None
    except OSError as error:
        raise VideoError(f"{name}: the file can't be read ({error.strerror or error}).") from None
    if not stat.S_ISREG(mode):
        raise VideoError(f"{name}: this is not a regular file (a pipe, device or folder), so it was not read.")


def read_video(
    analyzer: Analyzer,
    source: str | Path | bytes,
    name: str | None = None,
    readings_per_second: float = READINGS_PER_SECOND,
    **stream_settings,
) -> Iterator[AnalysedFrame]:
    """Every analysed frame of a clip, as it is read, through one `AnalyzerStream` (as live); keeps nothing."""
    with VideoFile(source, name) as video:
        stream = analyzer.stream(**stream_settings)
        for index, time, pixels in video.frames(readings_per_second):
            yield AnalysedFrame(index, time, stream.process(pixels))


def frame_rows(file: str, frame: AnalysedFrame) -> list[dict]:
    """One row per face (a photo's keys, plus frame, time and whether the cues were measured against a typical
    relaxed face rather than this face's own, learned over the first seconds), ready for JSON."""
    return [
        {
            "file": file,
            "frame": frame.index,
            "time": round(frame.time, 3),
            "face": face,
            **reading.to_dict(),
            "cues_against_typical": reading.cues_against_typical,
        }
        for face, reading in enumerate(frame.readings)
    ]


def flat_row(row: dict) -> dict:
    """A row as CSV cells (`CSV_COLUMNS`): the box as x1…y2, probs as `p_…`, other dicts as `<name>_…`."""
    flat = {key: row.get(key, "") for key in CSV_COLUMNS if key in row}
    if "box" in row:
        flat.update(zip(("x1", "y1", "x2", "y2"), row["box"], strict=True))
    for key, value in row.items():
        if isinstance(value, dict):
            prefix = "p_" if key == "probs" else f"{key}_"
            flat.update({f"{prefix}{name}": number for name, number in value.items()})
    return flat


class CsvRows:
    """Rows written to a CSV file as they come: a fixed header first, then each row, flushed per `flush()`."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.written = 0
        self._writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, restval="", extrasaction="ignore")
        self._writer.writeheader()

    def write(self, row: dict) -> None:
        if "error" in row:
            return  # a failed file is said on stderr; the CSV holds readings only
        self._writer.writerow({key: spreadsheet_safe(value) for key, value in flat_row(row).items()})
        self.written += 1

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        self.handle.flush()
