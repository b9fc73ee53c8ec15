"""`xface evaluate`'s crowd measures: KL divergence to the votes, calibration, the reliability picture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FER_NPZ
from xface.tools.evaluate import evaluate_npz, write_report
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
    data = np.load(FER_NPZ)
    path = tmp_path_factory.mktemp("npz") / "small.npz"
    keep = slice(0, 400)
    np.savez(
        path,
        x_val=data["x_val"][keep],
        y_val=data["y_val"][keep],
        ferplus_votes_val=data["ferplus_votes_val"][keep],
        ferplus_columns=data["ferplus_columns"],
    )
    return path


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
