"""Face boxes and heat maps: what a person sees on the video and in "Why?"."""

from __future__ import annotations

import numpy as np
import pytest

from xface.app.draw import draw_readings, face_label, heatmap_overlay
from xface.emotions import EMOTIONS
from xface.teach.explain import describe
from xface.vision.pipeline import FaceReading


def reading(probs: dict[str, float], box=(200.0, 120.0, 360.0, 320.0), face_id: int | None = 2) -> FaceReading:
    top = max(probs, key=probs.__getitem__)
    return FaceReading(
        box=box,
        landmarks=np.zeros((5, 2)),
        detection_score=0.99,
        probs={e: probs.get(e, 0.0) for e in EMOTIONS},
        emotion=top,
        confidence=probs[top],
        face_id=face_id,
    )


CLEAR = {"happy": 0.9, "neutral": 0.1}
LIKELY = {"happy": 0.5, "neutral": 0.2, "sad": 0.15, "surprise": 0.15}
UNSURE = {"sad": 0.40, "neutral": 0.35, "happy": 0.25}


@pytest.fixture
def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(60, 200, (480, 640, 3), dtype=np.uint8)


def test_no_faces_returns_an_unchanged_copy(frame):
    out = draw_readings(frame, [])
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(out, frame)
    assert out is not frame


def test_box_outline_and_label_plate_change_pixels(frame):
    out = draw_readings(frame, [reading(CLEAR)])
    assert out.shape == frame.shape and out.dtype == np.uint8
    changed = np.any(out != frame, axis=-1)
    x1, y1, x2, y2 = 200, 120, 360, 320
    assert changed[y1 - 2 : y1 + 3, x1:x2].mean() > 0.9  # the top edge of the box
    assert changed[(y1 + y2) // 2, x1 - 2 : x1 + 3].any()  # the left edge
    assert changed[y1 - 30 : y1 - 3, x1 : x1 + 60].mean() > 0.5  # the label plate sits above the box
    assert not changed[y1 + 20 : y2 - 20, x1 + 20 : x2 - 20].any()  # the face itself stays visible
    assert not changed[400:, 500:].any()  # nothing elsewhere


def test_the_input_frame_is_not_modified(frame):
    before = frame.copy()
    draw_readings(frame, [reading(CLEAR)])
    assert np.array_equal(frame, before)


def test_label_text_differs_by_band():
    labels = [face_label(reading(p)) for p in (CLEAR, LIKELY, UNSURE)]
    assert labels == ["#2 happy", "#2 happy?", "#2 sad / neutral?"]
    assert [describe(p).band for p in (CLEAR, LIKELY, UNSURE)] == ["clear", "likely", "unsure"]
    assert face_label(reading(CLEAR, face_id=None)) == "happy"


def test_band_shows_in_the_box_shape_not_only_colour(frame):
    """A clear box is a solid line; an unsure one is dashed, so it has gaps along its edge."""
    edge = {}
    for name, probs in (("clear", CLEAR), ("unsure", UNSURE)):
        out = draw_readings(frame, [reading(probs)])
        row = np.any(out[320, 210:350] != frame[320, 210:350], axis=-1)  # along the bottom edge
        edge[name] = row.mean()
    assert edge["clear"] == 1.0
    assert 0.3 < edge["unsure"] < 0.8


def test_box_at_the_top_edge_keeps_its_label_inside_the_frame(frame):
    out = draw_readings(frame, [reading(CLEAR, box=(500.0, 0.0, 640.0, 150.0))])
    changed = np.any(out != frame, axis=-1)
    assert changed[5:25, 500:600].mean() > 0.5


def test_every_face_of_many_gets_its_box(frame):
    """Four faces in one frame: each box is drawn (how fast drawing is, `xface bench` measures)."""
    boxes = [(20 + 150 * i, 100, 140 + 150 * i, 260) for i in range(4)]
    readings = [
        reading(p, box=b, face_id=i) for i, (p, b) in enumerate(zip((CLEAR, LIKELY, UNSURE, CLEAR), boxes, strict=True))
    ]
    out = draw_readings(frame, readings)
    changed = np.any(out != frame, axis=-1)
    for x1, y1, x2, y2 in boxes:
        assert changed[y1 + 20 : y2 - 20, x1 - 1 : x1 + 2].mean() > 0.5  # the left edge of each box
        assert changed[y1 + 20 : y2 - 20, x2 - 2 : x2 + 1].mean() > 0.5  # and its right edge


def test_heatmap_overlay_has_the_face_shape_and_glows_where_attention_is():
    face = np.full((48, 48, 3), 100, np.uint8)
    grid = np.zeros((6, 6))
    grid[5, 2:4] = 1.0  # the mouth
    out = heatmap_overlay(face, grid)
    assert out.shape == (48, 48, 3) and out.dtype == np.uint8
    assert out[44, 24].astype(int).sum() > out[4, 24].astype(int).sum() + 100
    assert np.array_equal(out[2, 2], [100, 100, 100])  # no attention: the plain (grey) face shows through


def test_heatmap_overlay_enlarges_and_accepts_grey_faces():
    out = heatmap_overlay(np.full((48, 48), 80, np.uint8), np.random.default_rng(1).random((6, 6)), size=240)
    assert out.shape == (240, 240, 3)


@pytest.mark.parametrize("grid", [np.zeros((0, 0)), np.zeros(6), np.full((6, 6), np.nan)])
def test_heatmap_overlay_rejects_bad_grids(grid):
    with pytest.raises(ValueError):
        heatmap_overlay(np.zeros((48, 48, 3), np.uint8), grid)


def test_flat_zero_attention_leaves_the_face_grey():
    face = np.random.default_rng(2).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    out = heatmap_overlay(face, np.zeros((6, 6)))
    assert np.all(out[..., 0] == out[..., 1])


def test_hidden_faces_get_a_box_and_number_but_no_label(frame):
    face = reading(CLEAR)
    labelled = draw_readings(frame, [face])
    hidden = draw_readings(frame, [face], hidden={face.face_id})
    assert not np.array_equal(labelled, hidden)
    assert not np.array_equal(hidden, frame)  # the box is still there
    # The plate over the box is narrower: it holds "#2" only, not "#2 happy".
    plate_row = int(face.box[1]) - 10
    assert (hidden[plate_row] == [17, 17, 17]).all(axis=-1).sum() < (labelled[plate_row] == [17, 17, 17]).all(
        axis=-1
    ).sum()


def test_words_made_once_are_reused(frame):
    face = reading(CLEAR)
    made = {face.face_id: describe(UNSURE)}  # deliberately different words than the reading's own
    assert np.array_equal(draw_readings(frame, [face], made), draw_readings(frame, [reading(UNSURE)]))


def test_mesh_overlay_marks_exactly_the_points_each_named_cue_was_measured_from(analyzer, portrait):
    from xface.app.draw import ACTIVE_COLOUR, MARK_RADIUS, marked_points, mesh_overlay, overlay_points
    from xface.teach.explain import SHOW_CUE_AT, show_at
    from xface.vision.cues import CUE_MEASURED_FROM, CUE_NAMES

    (face,) = analyzer.analyze(portrait)
    face.cues = dict.fromkeys(face.cues, 0.0)
    quiet = mesh_overlay(face, size=240)  # nothing named
    assert quiet.shape == (240, 240, 3)
    assert not (quiet == ACTIVE_COLOUR).all(axis=-1).any() and marked_points(face) == set()
    face.cues["jaw_drop"] = 0.9
    moving = mesh_overlay(face, size=240)
    assert marked_points(face) == set(CUE_MEASURED_FROM["jaw_drop"])
    amber = np.argwhere((moving == ACTIVE_COLOUR).all(axis=-1))[:, ::-1]  # (x, y)
    centres = overlay_points(face, 240)[sorted(marked_points(face))]
    nearest = np.linalg.norm(amber[:, None, :] - centres[None], axis=-1).min(1)
    assert nearest.max() <= MARK_RADIUS + 1.5  # every amber pixel is one of the measured points
    for x, y in centres.round().astype(int):  # and every measured point is marked
        assert (moving[y - 1 : y + 2, x - 1 : x + 2] == ACTIVE_COLOUR).all(axis=-1).any()
    # The amber follows the words: a cue too weak to name against a typical face, named against the person's own.
    name = next(n for n in CUE_NAMES if SHOW_CUE_AT < show_at(n) < 1)  # a cue named past "noticeable" on photos
    face.cues = {**dict.fromkeys(face.cues, 0.0), name: (SHOW_CUE_AT + show_at(name)) / 2}
    assert not (mesh_overlay(face, size=240) == ACTIVE_COLOUR).all(axis=-1).any()
    assert (mesh_overlay(face, size=240, typical=False) == ACTIVE_COLOUR).all(axis=-1).any()
    face.mesh = None
    with pytest.raises(ValueError):
        mesh_overlay(face)
