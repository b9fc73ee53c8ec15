"""`xface evaluate`'s crowd measures: KL divergence to the votes, calibration, the reliability picture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import DATA, NO_FACES, WITH_FACES, fer_validation_subset
from xface.tools.evaluate import evaluate_npz, evaluate_photos, format_photos, labelled_photos, write_report
from xface.tools.metrics import calibration, crowd_shares, mean_kl
from xface.vision.classifier import load_classifier

COLUMNS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"]


def test_crowd_shares_leave_out_contempt_unknown_not_a_face_and_missing_rows() -> None:
    votes = np.array(
        [
            [2, 7, 0, 0, 0, 0, 0, 1, 0, 0],  # contempt vote left out: 7/9 happy, 2/9 neutral
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # not a face
            [-1] * 10,  # no FER+ row
            [0, 0, 0, 0, 0, 0, 0, 0, 10, 0],  # all unknown: no emotion votes
        ]
    )
    shares, known = crowd_shares(votes, COLUMNS)
    assert known.tolist() == [True, False, False, False]
    np.testing.assert_allclose(shares[0], [0, 0, 0, 7 / 9, 0, 0, 2 / 9])  # FER2013 order: angry ... neutral


def test_kl_is_zero_for_the_crowds_own_shares_and_grows_with_overconfidence() -> None:
    shares = np.array([[0, 0, 0, 0.7, 0, 0, 0.3]])
    assert mean_kl(shares, shares) == pytest.approx(0.0, abs=1e-6)
    sure = np.array([[0, 0, 0, 0.99, 0, 0, 0.01]])
    assert mean_kl(shares, sure) == pytest.approx(0.7 * np.log(0.7 / 0.99) + 0.3 * np.log(0.3 / 0.01), rel=1e-4)


def test_calibration_of_honest_and_overconfident_probabilities() -> None:
    rng = np.random.default_rng(0)
    shown = rng.uniform(0, 1, 20_000)
    honest = rng.uniform(0, 1, shown.size) < shown
    assert calibration(shown, honest)["ece"] < 0.02
    overconfident = calibration(np.full(1000, 0.95), np.arange(1000) < 600)
    assert overconfident["ece"] == pytest.approx(0.35)
    assert overconfident["bins"] == [{"predicted": pytest.approx(0.95), "observed": pytest.approx(0.6), "count": 1000}]


@pytest.fixture(scope="module")
def small_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 400 validation faces with their labels and votes, as an .npz of their own."""
    return fer_validation_subset(tmp_path_factory.mktemp("npz") / "small.npz", slice(0, 400))


def test_evaluate_writes_kl_calibration_and_a_reliability_picture(small_split: Path, tmp_path: Path) -> None:
    results = evaluate_npz(load_classifier(), small_split, "val", progress=False)
    assert 0.0 < results["ferplus_kl"] < 2.0 and 350 < results["ferplus_kl_faces"] <= 400
    assert 0.0 <= results["calibration"]["crowd"]["ece"] < 0.2
    assert 0.0 <= results["calibration"]["fer2013"]["ece"] < 0.2
    assert sum(b["count"] for b in results["calibration"]["fer2013"]["bins"]) == 400
    written = write_report(results, tmp_path / "report")
    assert tmp_path / "report" / "reliability.png" in written
    assert (tmp_path / "report" / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["ferplus_kl"] == pytest.approx(results["ferplus_kl"])
    assert "Mean KL" in (tmp_path / "report" / "report.txt").read_text()


WEB_EXPRESSIONS = DATA / "faces" / "web_expressions"
CKPLUS_DEV = DATA / "faces" / "ckplus_dev"


def test_labelled_photos_from_emotion_folders_or_a_labels_csv(tmp_path: Path) -> None:
    source = WITH_FACES / "2008_007676.jpg"
    for folder in ("happy", "contempt", "Sadness"):
        (tmp_path / "folders" / folder).mkdir(parents=True)
        shutil.copy(source, tmp_path / "folders" / folder / "a.jpg")
    (tmp_path / "folders" / "happy" / "notes.txt").write_text("not a photo")
    photos = labelled_photos(tmp_path / "folders")
    assert photos.emotions == ["sad", "happy"] and photos.left_out == {"contempt": 1}
    (tmp_path / "labels.csv").write_text("file,emotion,person\nfolders/happy/a.jpg,surprise,x\nb.jpg,contempt,y\n")
    listed = labelled_photos(tmp_path / "labels.csv")
    assert listed.paths == [tmp_path / "folders" / "happy" / "a.jpg"] and listed.emotions == ["surprise"]
    assert listed.left_out == {"contempt": 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such folder"),
        ("file,label\na.jpg,happy\n", "columns file and emotion"),
        ("file,emotion\n", "no photos"),
    ],
)
def test_labelled_photos_refuse_what_they_cannot_read(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "labels.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        labelled_photos(path)


def test_evaluate_photos_reads_both_outputs_of_the_largest_face(analyzer, tmp_path: Path) -> None:
    """A group photo labelled happy, and a photo without a face: one face found, both outputs scored."""
    (tmp_path / "happy").mkdir()
    shutil.copy(WITH_FACES / "2008_007676.jpg", tmp_path / "happy" / "group.jpg")
    shutil.copy(NO_FACES / sorted(p.name for p in NO_FACES.iterdir())[0], tmp_path / "happy" / "none.jpg")
    results = evaluate_photos(analyzer, labelled_photos(tmp_path), progress=False)
    assert (results["photos"], results["faces_found"]) == (2, 1)
    largest = analyzer.analyze(WITH_FACES / "2008_007676.jpg")[0]
    for key, probs in (("shown", largest.probs), ("fer2013", largest.fer2013_probs)):
        report = results[key]
        assert report["count"] == 1 and report["per_class"]["happy"]["support"] == 1
        assert report["accuracy"] == float(max(probs, key=probs.get) == "happy")
        assert report["accuracy_all_photos"] == report["accuracy"] / 2
        assert report["non_neutral_read_neutral"] == float(max(probs, key=probs.get) == "neutral")
    assert "shown (crowd) output: accuracy" in format_photos(results)


@pytest.fixture(scope="module")
def development_photos(photo_reader) -> dict[str, dict]:
    """Both outputs on the development photo sets through the whole pipeline (about 3 min, once with the teaching
    truth's)."""
    if not DATA.is_dir():
        pytest.skip(f"needs the development photo sets in {DATA}")
    return {name: evaluate_photos(photo_reader, labelled_photos(path), progress=False)
            for name, path in (("web_expressions", WEB_EXPRESSIONS), ("ckplus_dev", CKPLUS_DEV))}  # fmt: skip


PHOTO_FLOORS = {
    # set: output -> (least accuracy of all photos, most share of expressive faces read neutral); measured in ()
    "web_expressions": {"fer2013": (0.70, 0.12), "shown": (0.81, 0.14)},  # (71.3 %, 11.0 %), (82.4 %, 13.1 %)
    "ckplus_dev": {"fer2013": (0.75, 0.08), "shown": (0.75, 0.12)},  # (76.5 %, 6.6 %), (76.7 %, 10.9 %)
}


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTO_FLOORS)
def test_both_outputs_hold_their_floors_on_photos_that_are_not_fer2013(development_photos, name: str) -> None:
    """Issue 21: the pipeline (detect, align, crop) or the crowd head drifting away from real photos fails here,
    though FER2013 crops would not notice. Floors just under what the committed model measures."""
    results = development_photos[name]
    assert results["faces_found"] >= 0.98 * results["photos"]
    for key, (accuracy, read_neutral) in PHOTO_FLOORS[name].items():
        assert results[key]["accuracy_all_photos"] >= accuracy, key
        assert results[key]["non_neutral_read_neutral"] <= read_neutral, key
