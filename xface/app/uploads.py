"""Uploaded files → named RGB images, or one plain sentence per file that can't be used.

The photo quiz accepts single photos and zip archives. Everything happens in memory: a zip is read
with ``zipfile`` entry by entry and nothing is ever extracted or written to disk, so a hostile
archive (``../`` paths, absolute paths, links) has nowhere to write. Limits keep a "zip bomb" or
a huge batch from exhausting memory, and every image goes through ``load_image``, so damaged,
truncated, disguised or enormous images become a message instead of a traceback. One bad file
never stops the rest of a batch.

``iter_uploads`` yields items one at a time, so a caller can analyse each photo and drop its
pixels before the next is decoded; ``read_uploads`` collects them (for tests and small batches).
``quiz_batch`` turns the images into quiz questions with a small face crop each.
"""

from __future__ import annotations

import io
import re
import stat
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image

from xface.teach.quiz import Question, label_from_name
from xface.vision.images import IMAGE_SUFFIXES, MAX_PIXELS, ImageError, load_image

if TYPE_CHECKING:
    from xface.vision.pipeline import FaceReading

__all__ = [
    "MAX_PHOTOS",
    "MAX_UPLOAD_BYTES",
    "MAX_ZIP_BYTES",
    "MAX_ZIP_ENTRIES",
    "UPLOAD_TYPES",
    "QuizBatch",
    "UploadProblem",
    "UploadedImage",
    "face_crop",
    "iter_uploads",
    "quiz_batch",
    "read_uploads",
]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""One uploaded file, and one image inside a zip: the same 25 MB as ``server.maxUploadSize``."""
MAX_ZIP_ENTRIES = 1000
"""More entries than this and the archive is refused before anything in it is read."""
MAX_ZIP_BYTES = 200 * 1024 * 1024
"""Total uncompressed size of a zip's images: a zip bomb declares (or unpacks to) far more."""
MAX_PHOTOS = 100
"""Photos per batch; analysing more on a laptop CPU would keep the person waiting too long."""
UPLOAD_TYPES: tuple[str, ...] = (*sorted(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES), "zip")
"""File types the uploader offers, without dots."""

CROP_MARGIN = 0.25
"""Share of the face box added on each side of a quiz crop, so brows and chin stay in view."""
CROP_SIDE = 256
"""Longest side of a quiz crop in pixels: enough to read an expression, small to keep in memory."""

_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|\._[^/]*$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
"""Files that operating systems add to archives on their own; skipped without a message."""


@dataclass(frozen=True)
class UploadedImage:
    """One usable image: ``name`` is its path inside the upload (``happy/img1.jpg`` for a zip entry)."""

    upload: str
    name: str
    pixels: np.ndarray = field(repr=False)

    @property
    def display(self) -> str:
        """How to name the image to a person: the file, or the zip and the path inside it."""
        return self.name if self.name == self.upload else f"{self.upload}/{self.name}"


@dataclass(frozen=True)
class UploadProblem:
    """A file (or zip entry) that was skipped, and why in one sentence."""

    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _too_big(size: int) -> str:
    # "over the limit", not "the limit is": just past 25 MB still reads "25.0 MB" once rounded.
    return f"the file is {_size(size)}, over the {_size(MAX_UPLOAD_BYTES)} limit"


def _image_error_text(error: ImageError) -> str:
    """``load_image`` names a bytes source 'upload' or 'image'; the caller adds the real name instead."""
    text = str(error)
    for prefix in ("upload: ", "image: "):
        text = text.removeprefix(prefix)
    return text


def _decode(upload: str, name: str, data: bytes) -> UploadedImage | UploadProblem:
    shown = name if name == upload else f"{upload}/{name}"
    try:
        return UploadedImage(upload, name, load_image(data))
    except ImageError as error:
        return UploadProblem(shown, _image_error_text(error))
    except (MemoryError, Image.DecompressionBombError):
        return UploadProblem(shown, f"the image is too large (over {MAX_PIXELS // 1_000_000} megapixels)")


def _unsafe_path(name: str) -> bool:
    """True for entry names that point outside the archive: absolute, drive letters, or a '..' part."""
    path = name.replace("\\", "/")
    return path.startswith("/") or bool(re.match(r"^[A-Za-z]:", path)) or ".." in path.split("/")


def _zip_entries(upload: str, data: bytes) -> Iterator[UploadedImage | UploadProblem]:
    """The images in a zip, read in memory; every skipped entry gets a message (system junk excepted)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        yield UploadProblem(upload, "not a zip file Xface can read (it may be damaged or cut short)")
        return
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            yield UploadProblem(
                upload, f"the zip holds {len(entries)} files; Xface opens zips of up to {MAX_ZIP_ENTRIES} files"
            )
            return
        declared = sum(info.file_size for info in entries if not info.is_dir())
        if declared > MAX_ZIP_BYTES:
            yield UploadProblem(
                upload,
                f"the zip unpacks to {_size(declared)}, over the {_size(MAX_ZIP_BYTES)} Xface opens "
                "(it may be a 'zip bomb')",
            )
            return
        budget = MAX_ZIP_BYTES
        for info in entries:
            name = info.filename
            shown = f"{upload}/{name}"
            if info.is_dir() or _JUNK.search(name):
                continue
            if _unsafe_path(name):
                yield UploadProblem(shown, "skipped: its path points outside the zip")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield UploadProblem(shown, "skipped: it is a link, not a photo")
                continue
            suffix = PurePosixPath(name).suffix.lower()
            if suffix == ".zip":
                yield UploadProblem(shown, "skipped: zips inside a zip are not opened")
                continue
            if suffix not in IMAGE_SUFFIXES:
                yield UploadProblem(shown, "skipped: not a photo (JPEG, PNG, GIF, WebP, BMP, TIFF)")
                continue
            if info.flag_bits & 0x1:
                yield UploadProblem(shown, "skipped: it is password-protected")
                continue
            if info.file_size > MAX_UPLOAD_BYTES:
                yield UploadProblem(shown, _too_big(info.file_size))
                continue
            limit = min(MAX_UPLOAD_BYTES, budget)
            try:
                with archive.open(info) as handle:
                    # Read at most one byte past the limit: a size the header understates can't blow up memory.
                    content = handle.read(limit + 1)
            except NotImplementedError:  # a compression method zipfile lacks
                yield UploadProblem(shown, "skipped: it is packed in a way Xface can't unpack")
                continue
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):
                yield UploadProblem(shown, "skipped: it is damaged inside the zip")
                continue
            if len(content) > limit:
                yield UploadProblem(shown, "skipped: it unpacks to more than Xface opens (it may be a 'zip bomb')")
                budget = 0
                continue
            budget -= len(content)
            yield _decode(upload, name, content)


def iter_uploads(files: Iterable[tuple[str, bytes]]) -> Iterator[UploadedImage | UploadProblem]:
    """Each usable image, or a problem, for every (file name, content) uploaded, in order.

    Stops after MAX_PHOTOS images, with one problem saying how many were left out.
    """
    photos = 0
    left_out = 0
    for upload, data in files:
        if len(data) > MAX_UPLOAD_BYTES:
            yield UploadProblem(upload, _too_big(len(data)))
            continue
        if not data:
            yield UploadProblem(upload, "the file is empty")
            continue
        items = _zip_entries(upload, data) if upload.lower().endswith(".zip") else [_decode(upload, upload, data)]
        for item in items:
            if isinstance(item, UploadedImage):
                if photos >= MAX_PHOTOS:
                    left_out += 1
                    continue
                photos += 1
            yield item
    if left_out:
        yield UploadProblem(
            "more photos", f"{left_out} left out: Xface takes up to {MAX_PHOTOS} photos at a time; upload them next"
        )


def read_uploads(files: Iterable[tuple[str, bytes]]) -> tuple[list[UploadedImage], list[UploadProblem]]:
    """All images and all problems of a batch (holds every image in memory: use for small batches)."""
    images: list[UploadedImage] = []
    problems: list[UploadProblem] = []
    for item in iter_uploads(files):
        (images if isinstance(item, UploadedImage) else problems).append(item)
    return images, problems


# --- from images to quiz questions ---------------------------------------------------------------


class _Analyzer(Protocol):
    def analyze(self, image: np.ndarray) -> list[FaceReading]: ...


def face_crop(pixels: np.ndarray, box: tuple[float, float, float, float], margin: float = CROP_MARGIN) -> np.ndarray:
    """The face from the photo itself (not the aligned crop), with some margin, at most CROP_SIDE pixels."""
    height, width = pixels.shape[:2]
    x1, y1, x2, y2 = box
    pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y))
    right, bottom = min(width, int(np.ceil(x2 + pad_x))), min(height, int(np.ceil(y2 + pad_y)))
    if right <= left or bottom <= top:
        left, top, right, bottom = 0, 0, width, height
    crop = Image.fromarray(pixels[top:bottom, left:right])
    crop.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(crop)


@dataclass
class QuizBatch:
    """Questions from a batch of uploads, their face crops, and what to tell the person about the rest."""

    questions: list[Question] = field(default_factory=list)
    crops: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    problems: list[UploadProblem] = field(default_factory=list)
    no_faces: list[str] = field(default_factory=list)
    photos: int = 0


def quiz_batch(files: Iterable[tuple[str, bytes]], analyzer: _Analyzer, progress=None) -> QuizBatch:
    """Every face in every usable upload becomes a question; a photo's pixels are dropped once it is analysed.

    The label comes from the name inside the upload (``happy/img1.jpg``, ``img_sad.jpg``), else the
    question is scored against the model's reading. ``progress(done_photos)`` is called after each photo.

    Between photos no lock is held (the analyzer takes its inference lock for one photo at a time) and
    the thread gives way, so a live recording in another tab analyses and saves its frames meanwhile.
    """
    batch = QuizBatch()
    for item in iter_uploads(files):
        if isinstance(item, UploadProblem):
            batch.problems.append(item)
            continue
        batch.photos += 1
        try:
            readings = analyzer.analyze(item.pixels)
        except ImageError as error:
            batch.problems.append(UploadProblem(item.display, _image_error_text(error)))
            continue
        if not readings:
            batch.no_faces.append(item.display)
        label = label_from_name(item.name)
        for index, reading in enumerate(readings):
            key = f"{item.display}#{index}"
            while key in batch.crops:  # the same file uploaded twice
                key += "+"
            batch.crops[key] = face_crop(item.pixels, reading.box)
            batch.questions.append(
                Question(
                    key=key,
                    photo=item.display,
                    face_index=index,
                    box=tuple(float(v) for v in reading.box),
                    label=label,
                    model_emotion=reading.emotion,
                    model_confidence=float(reading.confidence),
                    probs=dict(reading.probs),
                    cues=None if reading.cues is None else dict(reading.cues),
                )
            )
        if progress is not None:
            progress(batch.photos)
        time.sleep(0)  # give way: let threads waiting for the interpreter (a recording's writer) run now
    return batch
