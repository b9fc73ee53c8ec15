"""Uploads: a corpus of bad inputs, generated here (never downloaded), each with a clear outcome.

Every case checks that the rest of the batch is still used and that nothing is written to disk.
"""

from __future__ import annotations

import io
import stat
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.bad_inputs import postscript, text_bomb_png, tiny_huge_jpeg
from tests.conftest import NO_FACES, WITH_FACES
from xface.app import uploads
from xface.app.uploads import UploadedImage, UploadProblem, face_crop, iter_uploads, quiz_batch, read_uploads


def encode(picture: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(size: tuple[int, int] = (40, 30)) -> Image.Image:
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    return Image.fromarray(np.stack([np.tile(x, (size[1], 1))] * 3, axis=-1))


GOOD = encode(gradient(), "JPEG")


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels: a decompression bomb's calling card."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def make_zip(entries: dict[str, bytes], infos: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        for info, content in infos:
            archive.writestr(info, content)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def nothing_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run each test in an empty folder and check it stays empty: uploads are never extracted."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
    assert list(work.iterdir()) == []


def outcome(name: str, data: bytes) -> UploadedImage | UploadProblem:
    """The single result of one file, after a good file, with a good file after it: the batch goes on."""
    items = list(iter_uploads([("before.jpg", GOOD), (name, data), ("after.jpg", GOOD)]))
    assert isinstance(items[0], UploadedImage) and items[0].name == "before.jpg"
    assert isinstance(items[-1], UploadedImage) and items[-1].name == "after.jpg"
    (item,) = items[1:-1]
    return item


def problem(name: str, data: bytes) -> str:
    item = outcome(name, data)
    assert isinstance(item, UploadProblem), item
    text = str(item)
    assert "\n" not in text and text.startswith(f"{name}:")
    assert "upload:" not in text and "Traceback" not in text
    return text


def image(name: str, data: bytes) -> np.ndarray:
    item = outcome(name, data)
    assert isinstance(item, UploadedImage), item
    assert item.pixels.dtype == np.uint8 and item.pixels.ndim == 3 and item.pixels.shape[2] == 3
    return item.pixels


# --- single files ---------------------------------------------------------------------------------


def test_a_good_photo_is_read_as_rgb():
    pixels = image("face.jpg", GOOD)
    assert pixels.shape == (30, 40, 3)


def test_zero_byte_file():
    assert "empty" in problem("empty.jpg", b"")


def test_random_bytes_named_jpg():
    assert "not an image" in problem("noise.jpg", np.random.default_rng(0).bytes(4000))


def test_text_named_jpg():
    assert "not an image" in problem("notes.jpg", b"Dear diary, today I felt...\n" * 20)


def test_truncated_jpeg():
    real = (WITH_FACES / "2009_004587.jpg").read_bytes()
    assert problem("cut.jpg", real[: len(real) // 3]) == "cut.jpg: the picture is cut short; try another copy"


def test_truncated_png_header():
    text = problem("cut.png", encode(gradient(), "PNG")[:60])
    assert text.removeprefix("cut.png: ") in (
        "the picture is cut short; try another copy",
        "the picture is broken; try a new copy",
    )


def test_decompression_bomb_is_refused_before_decoding():
    text = problem("bomb.png", png_declaring(10_000, 6_000))
    assert "too large" in text and "50 megapixels" in text


def test_an_over_size_upload_gets_a_clear_message():
    text = problem("huge.jpg", b"\xff" * (uploads.MAX_UPLOAD_BYTES + 1))
    assert "25.0 MB" in text and "limit" in text


def test_cmyk_jpeg_becomes_rgb():
    pixels = image("cmyk.jpg", encode(gradient().convert("CMYK"), "JPEG"))
    assert pixels.shape == (30, 40, 3)


def test_16_bit_png_is_scaled_to_8_bits():
    deep = Image.fromarray(np.full((10, 12), 65535, np.uint16))
    assert deep.mode.startswith("I;16")
    pixels = image("deep.png", encode(deep, "PNG"))
    assert pixels.shape == (10, 12, 3) and pixels.min() >= 250


def test_palette_with_transparency_goes_onto_white():
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putpixel((0, 0), 1)
    pixels = image("clear.png", encode(palette, "PNG", transparency=0))
    assert tuple(pixels[4, 4]) == (255, 255, 255) and tuple(pixels[0, 0]) == (255, 0, 0)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    pixels = image("moving.gif", data)
    assert pixels.shape == (16, 16, 3) and pixels[8, 8, 0] > 200 and pixels[8, 8, 2] < 50


def test_one_pixel_image():
    assert image("dot.png", encode(Image.new("RGB", (1, 1), (9, 8, 7)), "PNG")).shape == (1, 1, 3)


def test_the_photo_limit_says_what_was_left_out(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PHOTOS", 2)
    images, problems = read_uploads([(f"{n}.jpg", GOOD) for n in range(4)])
    assert [i.name for i in images] == ["0.jpg", "1.jpg"]
    assert len(problems) == 1 and "2 left out" in str(problems[0])


# --- zip archives ---------------------------------------------------------------------------------


def test_zip_keeps_folders_in_names_and_skips_what_it_must():
    link = zipfile.ZipInfo("link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = make_zip(
        {
            "happy/img1.jpg": GOOD,
            "faces/sad/deep/img2.png": encode(gradient(), "PNG"),
            "../escape.jpg": GOOD,
            "/etc/absolute.jpg": GOOD,
            "C:/windows.jpg": GOOD,
            "notes.txt": b"hello",
            "inner.zip": make_zip({"x.jpg": GOOD}),
            "broken.jpg": b"not really a jpeg",
            "empty.jpg": b"",
            "__MACOSX/happy/._img1.jpg": b"\x00\x05\x16\x07",
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
            "folder/": b"",
        },
        [(link, b"/etc/passwd")],
    )
    images, problems = read_uploads([("batch.zip", data), ("after.jpg", GOOD)])
    assert [(i.upload, i.name, i.display) for i in images] == [
        ("batch.zip", "happy/img1.jpg", "batch.zip/happy/img1.jpg"),
        ("batch.zip", "faces/sad/deep/img2.png", "batch.zip/faces/sad/deep/img2.png"),
        ("after.jpg", "after.jpg", "after.jpg"),
    ]
    messages = {p.name: p.message for p in problems}
    assert set(messages) == {
        "batch.zip/../escape.jpg",
        "batch.zip//etc/absolute.jpg",
        "batch.zip/C:/windows.jpg",
        "batch.zip/notes.txt",
        "batch.zip/inner.zip",
        "batch.zip/broken.jpg",
        "batch.zip/empty.jpg",
        "batch.zip/link.jpg",
    }
    for name in ("batch.zip/../escape.jpg", "batch.zip//etc/absolute.jpg", "batch.zip/C:/windows.jpg"):
        assert "outside the zip" in messages[name]
    assert "not a photo" in messages["batch.zip/notes.txt"]
    assert "inside a zip" in messages["batch.zip/inner.zip"]
    assert "not an image" in messages["batch.zip/broken.jpg"]
    assert "empty" in messages["batch.zip/empty.jpg"]
    assert "link" in messages["batch.zip/link.jpg"]
    assert all("\n" not in str(p) for p in problems)


def test_zip_labels_come_from_folders():
    from xface.teach.quiz import label_from_name

    images, _ = read_uploads([("set.zip", make_zip({"happy/img1.jpg": GOOD, "misc/img_sad.jpg": GOOD}))])
    assert [label_from_name(i.name) for i in images] == ["happy", "sad"]


def test_an_entry_damaged_inside_the_zip_or_packed_oddly_gets_a_plain_sentence():
    photo = encode(gradient((200, 150)), "PNG")
    stored = zipfile.ZipInfo("cut.png")  # stored as it is, so its bytes can be found and damaged
    damaged = bytearray(make_zip({"ok.jpg": GOOD}, [(stored, photo)]))
    middle = damaged.find(photo[200:240])
    assert middle > 0
    damaged[middle : middle + 40] = bytes(40)  # the stored checksum no longer matches
    odd = bytearray(make_zip({"odd.jpg": GOOD}))
    for header, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local and central headers
        start = odd.find(header)
        odd[start + method_at : start + method_at + 2] = struct.pack("<H", 97)  # WavPack: zipfile can't unpack it
    images, problems = read_uploads([("damaged.zip", bytes(damaged)), ("odd.zip", bytes(odd))])
    assert [i.name for i in images] == ["ok.jpg"]
    assert [str(p) for p in problems] == [
        "damaged.zip/cut.png: skipped: it is damaged inside the zip",
        "odd.zip/odd.jpg: skipped: it is packed in a way Xface can't unpack",
    ]


def test_not_a_zip():
    assert "not a zip" in problem("photos.zip", b"PK\x03\x04 but then nothing useful")


def test_zip_bomb_entry_is_refused():
    zeros = b"\x00" * (uploads.MAX_UPLOAD_BYTES + 1024)
    data = make_zip({"bomb.png": zeros, "ok.jpg": GOOD})
    assert len(data) < 200_000  # tiny on disk, huge when unpacked
    images, problems = read_uploads([("bomb.zip", data)])
    assert [i.name for i in images] == ["ok.jpg"]
    assert len(problems) == 1 and "bomb.zip/bomb.png" in str(problems[0]) and "limit" in str(problems[0])


def test_zip_whose_total_unpacks_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ZIP_BYTES", 100_000)
    data = make_zip({f"{n}.png": b"\x00" * 60_000 for n in range(3)})
    images, problems = read_uploads([("many.zip", data), ("after.jpg", GOOD)])
    assert [i.name for i in images] == ["after.jpg"]
    assert len(problems) == 1 and "zip bomb" in str(problems[0]) and str(problems[0]).startswith("many.zip:")


def test_zip_with_too_many_entries_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ZIP_ENTRIES", 5)
    data = make_zip({f"{n}.jpg": GOOD for n in range(6)})
    images, problems = read_uploads([("crowd.zip", data)])
    assert images == [] and "6 files" in str(problems[0]) and "up to 5" in str(problems[0])


def test_zip_with_a_decompression_bomb_image_and_odd_images():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    data = make_zip(
        {
            "bomb.png": png_declaring(20_000, 20_000),
            "cmyk.jpg": encode(gradient().convert("CMYK"), "JPEG"),
            "moving.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
            "dot.png": encode(Image.new("RGB", (1, 1)), "PNG"),
        }
    )
    images, problems = read_uploads([("odd.zip", data)])
    assert [i.name for i in images] == ["cmyk.jpg", "moving.gif", "dot.png"]
    assert [p.name for p in problems] == ["odd.zip/bomb.png"] and "too large" in problems[0].message


# --- quiz questions from real photos --------------------------------------------------------------


def test_face_crop_stays_inside_the_photo_and_is_small():
    pixels = np.zeros((1000, 800, 3), np.uint8)
    assert face_crop(pixels, (700.0, 900.0, 790.0, 995.0)).shape[:2] == (124, 123)  # margin added, clipped at the edges
    assert max(face_crop(pixels, (0.0, 0.0, 800.0, 1000.0)).shape[:2]) == uploads.CROP_SIDE
    assert face_crop(pixels, (5.0, 5.0, 5.0, 5.0)).shape[2] == 3  # degenerate box: the whole photo


def test_quiz_batch_from_real_photos(analyzer):
    photo = (WITH_FACES / "2009_004587.jpg").read_bytes()
    done = []
    batch = quiz_batch(
        [
            ("happy/friends.jpg", photo),  # a label from the folder name
            ("dogs.jpg", (NO_FACES / "dlib_dogs.jpg").read_bytes()),
            ("broken.jpg", b"nope"),
            ("again.jpg", photo),  # no label: scored against the model
        ],
        analyzer,
        progress=done.append,
    )
    assert batch.photos == 3 and done == [1, 2, 3]
    assert batch.no_faces == ["dogs.jpg"]
    assert [str(p) for p in batch.problems] == [
        "broken.jpg: not an image file Xface can read (JPEG, PNG, GIF, WebP, BMP, TIFF)"
    ]
    labelled = [q for q in batch.questions if q.photo == "happy/friends.jpg"]
    unlabelled = [q for q in batch.questions if q.photo == "again.jpg"]
    assert len(labelled) == len(unlabelled) == 2
    assert {q.answer_source for q in labelled} == {"label"} and {q.label for q in labelled} == {"happy"}
    assert {q.answer_source for q in unlabelled} == {"model"}
    for q in batch.questions:
        crop = batch.crops[q.key]
        assert crop.dtype == np.uint8 and crop.ndim == 3 and 20 <= max(crop.shape[:2]) <= uploads.CROP_SIDE
        assert q.model_emotion in q.probs and abs(sum(q.probs.values()) - 1) < 1e-3
    assert [q.key for q in labelled] == ["happy/friends.jpg#0", "happy/friends.jpg#1"]


def test_probes_inside_a_zip_each_get_a_sentence_and_the_rest_is_used():
    data = make_zip(
        {
            "ztxt.png": text_bomb_png(b"zTXt"),
            "itxt.png": text_bomb_png(b"iTXt"),
            "ps.jpg": postscript(),
            "huge.jpg": tiny_huge_jpeg(7000),
            "cut.jpg": GOOD[: len(GOOD) // 2],
            "ok.jpg": GOOD,
        }
    )
    images, problems = read_uploads([("probes.zip", data)])
    assert [(i.name, i.pixels.shape) for i in images] == [("huge.jpg", (1750, 1750, 3)), ("ok.jpg", (30, 40, 3))]
    assert {p.name: p.message for p in problems} == {
        "probes.zip/ztxt.png": "the picture has too much hidden text to open safely",
        "probes.zip/itxt.png": "the picture has too much hidden text to open safely",
        "probes.zip/ps.jpg": "not an image file Xface can read (JPEG, PNG, GIF, WebP, BMP, TIFF)",
        "probes.zip/cut.jpg": "the picture is cut short; try another copy",
    }


def test_a_recording_keeps_saving_between_the_photos_of_a_quiz_batch(analyzer, portrait, tmp_path):
    """A live recording (another tab) analyses a frame and saves it between every two photos of a batch.

    The batch waits in its progress callback until the recording has saved: that can only happen if the
    batch holds no lock between photos (not the analyzer's inference lock, not the journal's). Events
    order the two threads; nothing depends on how fast this machine is.
    """
    from xface.journal.recorder import Recorder
    from xface.journal.store import Journal

    journal = Journal(tmp_path / "journal.db")
    session_id = journal.start_session("live")
    recorder = Recorder(journal, session_id, interval=0.0)
    stream = analyzer.stream()
    photo_done, frame_saved = threading.Event(), threading.Event()
    finished = threading.Event()
    order: list[str] = []

    def record() -> None:
        frame_time = 0.0
        while True:
            photo_done.wait()
            photo_done.clear()
            if finished.is_set():
                return
            readings = stream.process(portrait)  # takes the analyzer's inference lock, as the live page does
            recorder.offer(frame_time, readings)
            frame_time += 1.0
            order.append(f"saved {recorder.written}")
            frame_saved.set()

    def progress(done: int) -> None:
        order.append(f"photo {done}")
        photo_done.set()
        assert frame_saved.wait(timeout=600), "the recording could not save while the batch paused between photos"
        frame_saved.clear()

    writer = threading.Thread(target=record, daemon=True)
    writer.start()
    photo = (WITH_FACES / "2009_004587.jpg").read_bytes()
    try:
        batch = quiz_batch([(f"{n}.jpg", photo) for n in range(3)], analyzer, progress=progress)
    finally:
        finished.set()
        photo_done.set()
        writer.join()
    assert batch.photos == 3
    assert order == ["photo 1", "saved 1", "photo 2", "saved 2", "photo 3", "saved 3"]
    assert len(journal.observations(session_id)) == 3
    journal.close()
