"""ONNX Runtime serves the live path's networks: the same numbers as torch, never from stale weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from xface.align import grey_to_rgb
from xface.detect import FaceDetector, load_mtcnn, load_torch_mtcnn
from xface.model import DEFAULT_MODEL, ONNX_FILE, load_classifier
from xface.practice import load_bank
from xface.runtime import OnnxModule


@pytest.fixture(scope="module")
def bank_faces() -> np.ndarray:
    """60 real 48×48 faces (the practice bank ships with the app), as RGB crops."""
    return np.stack([grey_to_rgb(face.image) for face in load_bank()[::8][:60]])


def test_the_bundled_exports_match_the_bundled_weights() -> None:
    """Re-run scripts/export_onnx.py after training: a stale export is never served, so this catches it."""
    mtcnn = load_mtcnn()
    assert all(isinstance(getattr(mtcnn, name), OnnxModule) for name in ("pnet", "rnet", "onet"))
    assert load_classifier().session is not None


@pytest.mark.parametrize("view", ["both", "as_seen", "mirrored"])
def test_onnx_and_torch_classifiers_agree_on_real_faces(bank_faces: np.ndarray, view: str) -> None:
    onnx, plain = load_classifier(), load_classifier(prefer_onnx=False)
    assert plain.session is None
    fast, slow = onnx.predict_outputs(bank_faces, view), plain.predict_outputs(bank_faces, view)
    for got, expected in zip(fast, slow, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert (got.argmax(1) == expected.argmax(1)).all()


def test_both_views_are_the_mean_of_each_view(bank_faces: np.ndarray) -> None:
    classifier = load_classifier()
    seen, mirrored = classifier.predict(bank_faces, "as_seen"), classifier.predict(bank_faces, "mirrored")
    np.testing.assert_allclose(classifier.predict(bank_faces, "both"), (seen + mirrored) / 2, atol=1e-6)
    assert np.abs(seen - mirrored).max() > 0.01  # the views differ, so averaging them means something


def test_onnx_and_torch_mtcnn_find_the_same_faces(portrait: np.ndarray, group_photo: Path) -> None:
    from xface.images import load_image

    for image in (portrait, load_image(group_photo)):
        fast = FaceDetector(load_mtcnn()).detect(image)
        slow = FaceDetector(load_torch_mtcnn()).detect(image)
        assert len(fast) == len(slow) > 0
        for a, b in zip(fast, slow, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=0.05)
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=0.05)


def test_a_stale_export_is_ignored_and_torch_runs_the_new_weights(tmp_path: Path, bank_faces: np.ndarray) -> None:
    folder = tmp_path / "retrained"
    shutil.copytree(DEFAULT_MODEL, folder)
    weights = load_file(folder / "model.safetensors")
    weights["classifier.bias"] = weights["classifier.bias"] + torch.linspace(-2, 2, len(weights["classifier.bias"]))
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    assert (folder / ONNX_FILE).is_file()  # the old export is still there...
    retrained = load_classifier(folder)
    assert retrained.session is None  # ...but not used
    old = load_classifier().predict_outputs(bank_faces).fer2013
    new = retrained.predict_outputs(bank_faces).fer2013
    assert np.abs(old - new).max() > 0.05  # the new weights' answers, not the export's
