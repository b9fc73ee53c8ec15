"""Video clips made by hand for tests, from the real photos: a face, a cut to no face, two faces."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import NO_FACES, portrait_frame

PEXELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "woman_emotions_pexels.mp4"
"""The real 20 s clip: crying, then surprise, then laughing (Pexels licence)."""


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    fps: int | Fraction = 25,
    display_rotation: int = 0,
    faststart: bool = False,
    sound_seconds: float = 0.0,
) -> Path:
    """An H.264 clip (.mp4, or by the name another container) of these RGB frames (all the same size, even sides).

    `display_rotation` (degrees counter-clockwise) goes in the file's display matrix, as a phone writes it
    when it stores a portrait video on its side: players turn the frames by it before showing them.
    `faststart` puts the index before the pictures, as a file made for the web has it: cut short, such a
    file still plays up to the cut. `sound_seconds` adds a silent AAC sound track that long, which may run on
    after the pictures, as a recording's often does: the file's length is then the sound's."""
    import av

    with av.open(str(path), "w", options={"movflags": "+faststart"} if faststart else {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        if display_rotation:
            stream.set_display_rotation(display_rotation)
        stream.options = {"preset": "ultrafast", "crf": "18"}
        rate, samples = 16_000, 1024
        sound = container.add_stream("aac", rate=rate, layout="mono") if sound_seconds else None
        _encode(container, stream, frames)
        if sound is not None:
            for start in range(0, int(sound_seconds * rate), samples):
                silence = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.float32), format="fltp", layout="mono")
                silence.sample_rate, silence.pts = rate, start
                for packet in sound.encode(silence):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def write_webm_without_duration(path: Path, frames: Sequence[np.ndarray], fps: float = 25) -> Path:
    """A VP8 .webm that does not say how long it is, as a browser's recorder (MediaRecorder) writes one."""
    import av

    with av.open(str(path), "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx", rate=Fraction(fps).limit_denominator(1000))
        _encode(container, stream, frames)
    return path


def moving_face(count: int) -> list[np.ndarray]:
    """`count` frames of the portrait's face moving a little from side to side (a clip's face that is tracked)."""
    face = portrait_frame()
    return [np.roll(face, 2 * (i % 10), axis=1) for i in range(count)]


def _encode(container, stream, frames: Sequence[np.ndarray]) -> None:
    """Encode the RGB frames into the stream (sized by the first one) and flush it."""
    import av

    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = "yuv420p"
    for pixels in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def truncate_bytes(path: Path, share: float) -> Path:
    """The file, in place, with only its first `share` of bytes, as an interrupted download or copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


def cut_after_picture(path: Path, pictures: int, to: Path) -> Path:
    """The file with only its first `pictures` pictures whole, written to `to`: cut at a picture's edge, a
    download ends quietly, with no decoding error (`path` needs its index first: `write_clip(faststart=True)`)."""
    import av

    with av.open(str(path)) as container:
        ends = [packet.pos + packet.size for packet in container.demux(video=0) if packet.size]
    to.write_bytes(path.read_bytes()[: ends[pictures - 1]])
    return to


def no_face_frame() -> np.ndarray:
    """A 640×480 photo of dogs: no human face."""
    return np.asarray(Image.open(NO_FACES / "dlib_dogs.jpg").convert("RGB").resize((640, 480)))


def two_faces_frame() -> np.ndarray:
    """The portrait's face twice, side by side, at half size, on 640×480."""
    half = np.asarray(Image.fromarray(portrait_frame()).resize((320, 240)))
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[120:360, :320] = half
    frame[120:360, 320:] = half
    return frame


def cut_clip(path: Path, fps: int = 25) -> Path:
    """2 s of one face (moving a little), 1 s of no face, 1 s of two faces."""
    frames = moving_face(2 * fps)
    frames += [no_face_frame()] * fps
    frames += [two_faces_frame()] * fps
    return write_clip(path, frames, fps)
