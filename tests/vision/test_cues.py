"""Facial cues: definitions on constructed meshes, pose invariance, calibration, and the per-face baseline."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from xface.emotions import EMOTIONS
from xface.vision import cues
from xface.vision.cues import CUE_NAMES, CUE_POINTS, EMOTION_CUES, CueBaseline, intensities, measure


@pytest.fixture(scope="module")
def relaxed_mesh(analyzer, portrait) -> np.ndarray:
    """A real face mesh (468, 3) from a real photo, by the real models: the base that tests then move."""
    (reading,) = analyzer.analyze(portrait)
    assert reading.mesh is not None
    return reading.mesh.copy()


def _iod(mesh: np.ndarray) -> float:
    return float(np.linalg.norm(mesh[[263, 362], :2].mean(0) - mesh[[33, 133], :2].mean(0)))


def _moved(mesh: np.ndarray, points: tuple[int, ...], dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """The mesh with some points moved by (dx, dy) inter-ocular distances (y grows down the face)."""
    out = mesh.copy()
    out[list(points), 0] += dx * _iod(mesh)
    out[list(points), 1] += dy * _iod(mesh)
    return out


def _cue(mesh: np.ndarray, name: str) -> float:
    return float(measure(mesh)[CUE_NAMES.index(name)])


def test_published_names_fit_together():
    assert len(CUE_NAMES) == 10 and len(set(CUE_NAMES)) == 10
    assert set(EMOTION_CUES) == set(EMOTIONS)
    assert EMOTION_CUES["neutral"] == ()
    for emotion, names in EMOTION_CUES.items():
        assert set(names) <= set(CUE_NAMES), emotion
    assert set(CUE_POINTS) == set(CUE_NAMES)
    assert all("AU" in text for text in CUE_POINTS.values())


def test_calibration_is_bundled_and_sane():
    settings = cues.calibration()
    assert settings.canonical.shape == (len(cues.RIGID_POINTS), 3)
    assert settings.relaxed.shape == settings.strong.shape == (10,)
    assert np.all(settings.strong > 0)
    right, left = settings.canonical[:2].mean(0), settings.canonical[2:4].mean(0)
    assert np.linalg.norm(left - right) == pytest.approx(1.0, abs=0.01)
    assert np.all(intensities(settings.relaxed) == 0)
    for thresholds in (settings.noticeable, settings.named, settings.noticeable_own, settings.named_own):
        assert thresholds.shape == (10,) and np.all(thresholds > 0)
    # Written as read: the file holds every field.
    assert set(settings.to_json()) == {"cues", *(f.name for f in dataclasses.fields(settings))}


@pytest.mark.parametrize(
    ("name", "points", "dx", "dy"),
    [
        ("brow_raise", cues.BROWS + cues.UNDER_BROWS, 0.0, -0.08),
        ("brow_lower", cues.INNER_BROWS, 0.0, 0.08),
        ("upper_lid_raise", (159, 386), 0.0, -0.04),
        ("cheek_raise", cues.CHEEKS, 0.0, -0.06),
        ("lip_corner_pull", cues.LIP_CORNERS, 0.0, -0.06),
        ("lip_corner_depress", cues.LIP_CORNERS, 0.0, 0.06),
        ("jaw_drop", (14, 17), 0.0, 0.1),
    ],
)
def test_each_cue_grows_when_its_points_move(relaxed_mesh, name, points, dx, dy):
    assert _cue(_moved(relaxed_mesh, points, dx, dy), name) > _cue(relaxed_mesh, name)


def test_mouth_cues_from_constructed_shapes(relaxed_mesh):
    wider = _moved(_moved(relaxed_mesh, (61,), dx=-0.05), (291,), dx=0.05)
    assert _cue(wider, "lip_stretch") > _cue(relaxed_mesh, "lip_stretch")
    thinner = _moved(_moved(relaxed_mesh, (0,), dy=0.03), (17,), dy=-0.03)
    assert _cue(thinner, "lip_press") > _cue(relaxed_mesh, "lip_press")
    flared = _moved(_moved(relaxed_mesh, (98,), dx=-0.03, dy=-0.03), (327,), dx=0.03, dy=-0.03)
    assert _cue(flared, "nose_wrinkle") > _cue(relaxed_mesh, "nose_wrinkle")
    # A smile lifts the lip corners: it is not a stretch, and not a frown.
    smile = _moved(relaxed_mesh, cues.LIP_CORNERS, dy=-0.06)
    assert _cue(smile, "lip_stretch") < _cue(relaxed_mesh, "lip_stretch")
    assert _cue(smile, "lip_corner_depress") < _cue(relaxed_mesh, "lip_corner_depress")
    # A broad smile widens the mouth: the same opening reads as less of a dropped jaw.
    wide_open = _moved(_moved(_moved(relaxed_mesh, (14, 17), dy=0.1), (61,), dx=-0.08), (291,), dx=0.08)
    assert _cue(wide_open, "jaw_drop") < _cue(_moved(relaxed_mesh, (14, 17), dy=0.1), "jaw_drop")
    # Opening the jaw is not a frown: with the corners where they were, lip_corner_depress does not grow.
    opened = _moved(relaxed_mesh, (14, 17), dy=0.2)
    assert _cue(opened, "lip_corner_depress") < _cue(relaxed_mesh, "lip_corner_depress")
    # Nor much of a smile: the lower lip dropping with the jaw lowers the mouth's centre, but counts for under 0.3 of
    # what the corners' own rise by as much does (0.33 before the lips' parting was taken out of lip_corner_pull), so
    # an angry or surprised open mouth reads as less of a smile.
    smile_from = {step: _cue(_moved(relaxed_mesh, (14,), dy=step), "lip_corner_pull") for step in (0.0, 0.1)}
    corners_up = _cue(_moved(relaxed_mesh, cues.LIP_CORNERS, dy=-0.1), "lip_corner_pull") - smile_from[0.0]
    assert 0 < smile_from[0.1] - smile_from[0.0] < 0.3 * corners_up
    # Inner brows that go up are the opposite of lowered brows.
    assert _cue(_moved(relaxed_mesh, cues.INNER_BROWS, dy=-0.05), "brow_lower") < _cue(relaxed_mesh, "brow_lower")


def _frontal_cue(frontal: np.ndarray, name: str) -> float:
    return float(cues.raw_measures(frontal)[CUE_NAMES.index(name)])


def _deeper(frontal: np.ndarray, points: tuple[int, ...], dz: float) -> np.ndarray:
    """A frontal mesh with some points moved away from the camera by dz inter-ocular distances."""
    out = frontal.copy()
    out[list(points), 2] += dz
    return out


def test_brow_raise_from_constructed_brows(relaxed_mesh):
    frontal = cues.fit_pose(relaxed_mesh, cues.calibration().canonical)  # depth is only defined facing the camera
    both_edges = cues.BROWS + cues.BROWS_UPPER
    brows = both_edges + cues.UNDER_BROWS
    # Higher brows, both edges and the skin under them together, read as more raised, step by step.
    heights = [_cue(_moved(relaxed_mesh, brows, dy=-step), "brow_raise") for step in np.linspace(0, 0.2, 9)]
    assert all(b > a for a, b in zip(heights, heights[1:], strict=False))
    # Brows that tip back (upper edge further behind the lower edge, as on the sloping forehead) too.
    tilts = [_frontal_cue(_deeper(frontal, cues.BROWS_UPPER, step), "brow_raise") for step in np.linspace(0, 0.05, 6)]
    assert all(b > a for a, b in zip(tilts, tilts[1:], strict=False))
    # Lowered brows, or brows tipped forward, are the opposite.
    assert _cue(_moved(relaxed_mesh, brows, dy=0.05), "brow_raise") < _cue(relaxed_mesh, "brow_raise")
    tipped_forward = _deeper(frontal, cues.BROWS_UPPER, -0.02)
    assert _frontal_cue(tipped_forward, "brow_raise") < _frontal_cue(frontal, "brow_raise")
    # A whole brow moved back (no tilt) changes nothing; the eye lids and mouth are not in it.
    back = _deeper(frontal, both_edges, 0.05)
    assert _frontal_cue(back, "brow_raise") == pytest.approx(_frontal_cue(frontal, "brow_raise"), abs=1e-12)
    opened = _moved(_moved(relaxed_mesh, (159, 386), dy=-0.04), (14, 17), dy=0.1)
    assert _cue(opened, "brow_raise") == pytest.approx(_cue(relaxed_mesh, "brow_raise"), abs=1e-12)


def test_brow_lower_from_constructed_brows(relaxed_mesh):
    steps = np.linspace(0, 0.12, 7)
    lowered = [_cue(_moved(relaxed_mesh, cues.INNER_BROWS, dy=step), "brow_lower") for step in steps]
    assert all(b > a for a, b in zip(lowered, lowered[1:], strict=False))
    # Lowered inner brows, which pull the skin under them down, are not raised brows.
    inner = cues.INNER_BROWS + (221, 189, 441, 413)
    assert _cue(_moved(relaxed_mesh, inner, dy=0.08), "brow_raise") < _cue(relaxed_mesh, "brow_raise")


def test_more_mouth_opening_gives_more_jaw_drop(relaxed_mesh):
    values = [_cue(_moved(relaxed_mesh, (14, 17), dy=step), "jaw_drop") for step in np.linspace(0, 0.4, 9)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    strengths = [
        intensities(measure(_moved(relaxed_mesh, (14, 17), dy=step)))[CUE_NAMES.index("jaw_drop")]
        for step in np.linspace(0, 0.9, 19)
    ]
    assert all(b >= a for a, b in zip(strengths, strengths[1:], strict=False))
    assert strengths[-2] == strengths[-1] == 1.0  # a mouth wide open reaches the top of the scale and stays there


def test_moving_a_cue_leaves_unrelated_cues_alone(relaxed_mesh):
    raised = measure(_moved(relaxed_mesh, cues.BROWS, dy=-0.08))
    base = measure(relaxed_mesh)
    for name in ("jaw_drop", "lip_corner_pull", "lip_press", "cheek_raise"):
        index = CUE_NAMES.index(name)
        assert raised[index] == pytest.approx(base[index], abs=1e-3)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    about_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return about_z @ about_x @ about_y


def test_head_pose_and_face_size_do_not_change_the_measures(relaxed_mesh):
    base = measure(relaxed_mesh)
    centre = relaxed_mesh.mean(0)
    for yaw, pitch, roll, scale in ((0.4, 0.0, 0.0, 1.0), (0.0, 0.3, 0.2, 0.5), (-0.3, -0.2, -0.4, 2.5)):
        turned = (relaxed_mesh - centre) @ (scale * _rotation(yaw, pitch, roll)).T + centre + [40, -25, 7]
        assert np.allclose(measure(turned), base, atol=1e-9)


def test_a_real_face_turned_in_the_picture_keeps_its_cues(analyzer, portrait):
    from PIL import Image

    (upright,) = analyzer.analyze(portrait)
    tilted_frame = np.asarray(
        Image.fromarray(portrait).rotate(20, resample=Image.Resampling.BICUBIC, fillcolor=(90,) * 3)
    )
    (tilted,) = analyzer.analyze(tilted_frame)
    # The mesh itself shifts a little when the picture is resampled, so the cues agree to within 0.3.
    for name in CUE_NAMES:
        assert tilted.cues[name] == pytest.approx(upright.cues[name], abs=0.3), name
    assert sum(tilted.cues.values()) == pytest.approx(sum(upright.cues.values()), rel=0.25)


# --- the baseline of one face in a stream ----------------------------------------------------------


def test_running_baseline_follows_the_calm_frames():
    baseline = CueBaseline(window=40, ready_after=10)
    relaxed, smiling = np.zeros(10), np.full(10, 5.0)
    for _ in range(9):
        baseline.add(relaxed, movement=0.0)
    assert not baseline.ready and baseline.reference() is None
    baseline.add(relaxed, movement=0.0)
    assert baseline.ready
    for _ in range(25):  # a long smile does not become the face at rest
        baseline.add(smiling, movement=3.0)
    assert np.allclose(baseline.reference(), relaxed)


def test_captured_baseline_is_learned_afresh_then_held():
    baseline = CueBaseline(window=40, ready_after=5)
    for _ in range(10):
        baseline.add(np.zeros(10), movement=0.0)
    baseline.capture()
    assert not baseline.ready and baseline.capturing
    for _ in range(5):
        baseline.add(np.ones(10), movement=2.0)
    assert baseline.ready and not baseline.capturing
    for _ in range(20):
        baseline.add(np.full(10, 9.0), movement=0.0)
    assert np.allclose(baseline.reference(), np.ones(10))


def test_stream_measures_each_face_against_its_own_relaxed_face(analyzer, portrait):
    stream = analyzer.stream()
    first = stream.process(portrait)[0]
    assert first.cues is not None and set(first.cues) == set(CUE_NAMES)
    assert not stream.baseline_ready(first.face_id)
    assert first.cues_against_typical  # the words then use the typical face's thresholds
    for _ in range(cues.BASELINE_READY_AFTER):
        latest = stream.process(portrait)[0]
    assert stream.baseline_ready(latest.face_id)
    assert not latest.cues_against_typical
    # Against its own relaxed face an unchanging face moves less, but a held expression does not vanish.
    assert sum(latest.cues.values()) < sum(first.cues.values())
    typical = dict(zip(CUE_NAMES, intensities(measure(latest.mesh)), strict=True))
    assert all(latest.cues[name] >= typical[name] - cues.BASELINE_MAX_SHIFT - 1e-9 for name in CUE_NAMES)
    assert max(latest.cues.values()) > 0.25  # the portrait smiles: held all along, still measured
    stream.capture_baseline()
    assert not stream.baseline_ready(latest.face_id)
    for _ in range(cues.BASELINE_READY_AFTER):
        stream.process(portrait)
    assert stream.baseline_ready(latest.face_id)


def test_photo_readings_carry_cues(analyzer, portrait):
    (reading,) = analyzer.analyze(portrait)
    assert set(reading.cues) == set(CUE_NAMES)
    assert all(0.0 <= value <= 1.0 for value in reading.cues.values())
    record = reading.to_dict()
    assert set(record["cues"]) == set(CUE_NAMES)
    assert "mesh" not in record


# --- the calibration script's own helpers ----------------------------------------------------------


@pytest.fixture(scope="module")
def calibration_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "cue_calibration.py"
    spec = importlib.util.spec_from_file_location("cue_calibration", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_ferplus_majority_needs_half_the_annotators_and_no_tie(calibration_script):
    # columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
    votes = np.array(
        [
            [0, 6, 2, 0, 0, 0, 0, 0, 2, 0],  # 6 of 10 happy
            [0, 0, 5, 0, 0, 0, 1, 0, 4, 0],  # 5 of 10 surprise: half is enough
            [0, 0, 5, 0, 0, 0, 5, 0, 0, 0],  # a tie: no majority
            [4, 0, 0, 3, 0, 0, 0, 0, 3, 0],  # 4 of 10 neutral: no majority
            [-1] * 10,  # no FER+ row
        ]
    )
    assert calibration_script.ferplus_majority(votes).tolist() == ["happy", "surprise", "", "", ""]


def test_auc_counts_order_and_ties(calibration_script):
    assert calibration_script.auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert calibration_script.auc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    assert calibration_script.auc(np.array([1.0]), np.array([1.0])) == 0.5


@pytest.mark.parametrize("name", CUE_NAMES)
def test_each_cue_reads_exactly_the_points_it_is_said_to(relaxed_mesh, name):
    """`CUE_MEASURED_FROM` (what the "Why?" picture marks) is exactly what the measure reads: moving any other
    point leaves the cue alone, and moving any one of its points changes it."""
    frontal = cues.fit_pose(relaxed_mesh, cues.calibration().canonical)
    index = CUE_NAMES.index(name)
    base = cues.raw_measures(frontal)[index]
    own = set(cues.CUE_MEASURED_FROM[name])
    rng = np.random.default_rng(0)
    others = frontal.copy()
    rest = [i for i in range(len(frontal)) if i not in own]
    others[rest] += rng.normal(0, 0.05, (len(rest), 3))
    assert cues.raw_measures(others)[index] == pytest.approx(base, abs=1e-12)
    for point in own:
        for axis in range(3):
            moved = frontal.copy()
            moved[point, axis] += 0.03
            if cues.raw_measures(moved)[index] != pytest.approx(base, abs=1e-9):
                break
        else:
            pytest.fail(f"{name} does not read point {point}")


def test_own_faces_measure_each_photo_against_the_same_persons_other_relaxed_photos(
    calibration_script, analyzer, tmp_path
):
    """The stream's naming thresholds are made on photos measured as a stream measures a face it knows at rest:
    against the same person's relaxed photo, never against the photo itself."""
    from tests.conftest import DATA
    from xface.tools.teaching_check import Face, save_faces

    folder = DATA / "faces" / "web_expressions"
    names = {"happy": "happy/Denzel_Washington_0003.jpg", "neutral": "neutral/Denzel_Washington_0001.jpg"}
    meshes = {label: analyzer.analyze(folder / name)[0].mesh for label, name in names.items()}
    faces = [Face("web_expressions", names[label], label, label, meshes[label]) for label in names]
    save_faces(faces, tmp_path / "readings.npz")
    own = calibration_script.own_faces(tmp_path / "readings.npz", folder / "labels.csv")
    assert own.people == 1 and own.labels.tolist() == ["happy"]  # his only relaxed photo has no other to compare
    expected = intensities(measure(meshes["happy"]), measure(meshes["neutral"]))
    assert np.allclose(own.values[0], expected)
    smile = CUE_NAMES.index("lip_corner_pull")
    assert own.values[0, smile] > intensities(measure(meshes["neutral"]), measure(meshes["happy"]))[smile]
