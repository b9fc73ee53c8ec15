"""The expression model: bundled checkpoint, Auto-class loading, foreign checkpoints, no downloads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TORCH_MISSING

pytest.importorskip("torch", reason=TORCH_MISSING)

import torch
from transformers import AutoModelForImageClassification, ViTConfig, ViTForImageClassification, ViTImageProcessor

from xface.emotions import EMOTIONS, canonical_emotion
from xface.vision.classifier import DEFAULT_MODEL, OnnxBackend, TorchBackend, emotion_columns, load_classifier
from xface.vision.model import XfaceViTConfig, XfaceViTForImageClassification, attention_rollout


def test_bundled_model_loads_with_auto_classes() -> None:
    model = AutoModelForImageClassification.from_pretrained(str(DEFAULT_MODEL), local_files_only=True)
    assert isinstance(model, XfaceViTForImageClassification)
    assert [model.config.id2label[i] for i in range(7)] == list(EMOTIONS)
    weights = DEFAULT_MODEL / "model.safetensors"
    assert weights.stat().st_size < 50_000_000
    assert (DEFAULT_MODEL / "preprocessor_config.json").is_file()


def test_the_bundled_model_shows_the_crowd_and_keeps_its_fer2013_output() -> None:
    classifier = load_classifier()
    assert isinstance(classifier.backend, OnnxBackend)  # the bundled model runs from its export
    assert load_classifier(prefer_onnx=False).backend.model.config.crowd_head
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 3), dtype=np.uint8)
    outputs = classifier.predict_outputs(faces)
    np.testing.assert_allclose(outputs.shown.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(outputs.fer2013.sum(1), 1.0, atol=1e-5)
    assert not np.allclose(outputs.shown, outputs.fer2013)


@pytest.mark.parametrize(
    "order",
    [
        "import xface\nfrom transformers import AutoModelForImageClassification",
        "from transformers import AutoModelForImageClassification\nimport xface",
    ],
)
def test_a_plain_import_xface_lets_the_auto_classes_load_the_bundled_model(order: str) -> None:
    """In a fresh interpreter, as a user would: `import xface` alone, before or after transformers."""
    script = f"""{order}
model = AutoModelForImageClassification.from_pretrained({str(DEFAULT_MODEL)!r}, local_files_only=True)
print(type(model).__name__, model.config.num_labels)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["XfaceViTForImageClassification", "7"]


def test_import_xface_does_not_load_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, xface; print(sorted({'torch', 'transformers'} & set(sys.modules)))"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_save_and_load_round_trip_keeps_predictions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = XfaceViTForImageClassification(XfaceViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2))
    model.eval()
    model.save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 48, "width": 48}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(
        tmp_path
    )
    loaded = load_classifier(tmp_path, flip_average=False)
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)
    with torch.inference_mode():
        expected = model(pixel_values=torch.from_numpy(loaded.pixel_values(faces))).logits.softmax(-1).numpy()
    np.testing.assert_allclose(loaded.predict(faces), expected, atol=1e-5)


def _foreign_checkpoint(path: Path) -> Path:
    """A tiny random ViT whose labels use other names, another order and an extra class."""
    labels = ["Happiness", "neutral", "Sadness", "anger", "surprised", "fearful", "disgusted", "contempt"]
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
    )
    torch.manual_seed(1)
    ViTForImageClassification(config).save_pretrained(path)
    ViTImageProcessor(
        size={"height": 32, "width": 32}, image_mean=[0.4, 0.5, 0.6], image_std=[0.2, 0.25, 0.3]
    ).save_pretrained(path)
    return path


def test_foreign_checkpoint_labels_are_mapped_onto_the_seven_emotions(tmp_path: Path) -> None:
    path = _foreign_checkpoint(tmp_path / "foreign")
    classifier = load_classifier(path, flip_average=False)
    assert isinstance(classifier.backend, TorchBackend)  # no export: torch runs it
    assert classifier.image_size == (32, 32)
    faces = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    probs = classifier.predict(faces)
    assert probs.shape == (4, 7)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    raw_model = ViTForImageClassification.from_pretrained(path)
    pixels = (
        torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255 - torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
    ) / torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)
    with torch.inference_mode():
        raw = raw_model(pixel_values=pixels).logits.softmax(-1).numpy()
    without_contempt = raw[:, :7] / raw[:, :7].sum(1, keepdims=True)
    order = {"happy": 0, "neutral": 1, "sad": 2, "angry": 3, "surprise": 4, "fear": 5, "disgust": 6}
    for index, name in enumerate(EMOTIONS):
        np.testing.assert_allclose(probs[:, index], without_contempt[:, order[name]], atol=1e-5)


def test_foreign_checkpoint_through_the_analyzer(tmp_path: Path, group_photo: Path) -> None:
    from xface.vision.pipeline import Analyzer

    readings = Analyzer(model=_foreign_checkpoint(tmp_path / "foreign")).analyze(group_photo)
    assert len(readings) == 7
    assert all(r.aligned.shape == (32, 32, 3) for r in readings)


def test_checkpoint_without_emotion_labels_is_refused() -> None:
    with pytest.raises(ValueError, match="name an emotion"):
        emotion_columns({0: "cat", 1: "dog"})


@pytest.mark.parametrize(
    ("label", "emotion"),
    [("Happiness", "happy"), ("LABEL_3: fearful", "fear"), ("SURPRISED", "surprise"), ("contempt", None)],
)
def test_label_synonyms(label: str, emotion: str | None) -> None:
    assert canonical_emotion(label) == emotion


def test_nothing_downloads_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="downloads are off"):
        load_classifier("someone/vit-face-expression")


def test_attention_map_is_a_grid_over_the_face() -> None:
    classifier = load_classifier()
    face = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    grid = classifier.attention_map(face)
    assert grid.shape == (6, 6)
    assert grid.min() == pytest.approx(0.0) and grid.max() == pytest.approx(1.0)


def test_attention_rollout_points_at_the_attended_patch() -> None:
    tokens, target = 37, 1 + 4 * 6 + 2  # the patch in row 4, column 2
    weights = torch.full((1, 2, tokens, tokens), 0.1 / (tokens - 1))
    weights[..., target] = 0.9
    weights = weights / weights.sum(-1, keepdim=True)
    grid = attention_rollout((weights, weights))
    assert grid.shape == (1, 6, 6)
    assert np.unravel_index(grid[0].argmax(), (6, 6)) == (4, 2)


def _tiny_model(path: Path, crowd_head: bool = False) -> XfaceViTForImageClassification:
    torch.manual_seed(0)
    config = XfaceViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, crowd_head=crowd_head)
    model = XfaceViTForImageClassification(config).eval()
    model.save_pretrained(path)
    ViTImageProcessor(size={"height": 48, "width": 48}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(path)
    return model


def test_a_model_with_a_crowd_head_shows_the_crowd_and_keeps_the_fer2013_output(tmp_path: Path) -> None:
    model = _tiny_model(tmp_path, crowd_head=True)
    loaded = AutoModelForImageClassification.from_pretrained(str(tmp_path), local_files_only=True)
    assert loaded.config.crowd_head and loaded.crowd_classifier is not None
    classifier = load_classifier(tmp_path, flip_average=False)
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)
    outputs = classifier.predict_outputs(faces)
    with torch.inference_mode():
        features, _ = model.features(torch.from_numpy(classifier.pixel_values(faces)))
        crowd = model.crowd_classifier(features).softmax(-1).numpy()
        fer2013 = model.classifier(features).softmax(-1).numpy()
    np.testing.assert_allclose(outputs.shown, crowd, atol=1e-5)
    np.testing.assert_allclose(outputs.fer2013, fer2013, atol=1e-5)
    np.testing.assert_allclose(classifier.predict(faces), outputs.shown)


def test_a_single_output_model_shows_its_one_output_twice(tmp_path: Path) -> None:
    _tiny_model(tmp_path)
    outputs = load_classifier(tmp_path).predict_outputs(np.zeros((2, 48, 48, 3), np.uint8))
    np.testing.assert_array_equal(outputs.shown, outputs.fer2013)


def test_fitting_the_crowd_head_leaves_the_body_and_fer2013_output_alone(tmp_path: Path) -> None:
    from tests.conftest import FER_NPZ
    from xface.tools.crowd_head import CrowdHeadSettings, fit_crowd_head

    data = np.load(FER_NPZ)
    npz = tmp_path / "small.npz"
    np.savez(
        npz,
        x_train=data["x_train"][:300],
        y_train=data["y_train"][:300],
        ferplus_votes_train=data["ferplus_votes_train"][:300],
        ferplus_columns=data["ferplus_columns"],
    )
    before = _tiny_model(tmp_path / "plain")
    result = fit_crowd_head(
        CrowdHeadSettings(npz=str(npz), model=str(tmp_path / "plain"), out=str(tmp_path / "crowd"), faces=300, steps=20)
    )
    assert result["faces"]["temperature"] > 20 and result["temperature"] > 0 and np.isfinite(result["held_out_kl"])
    after = AutoModelForImageClassification.from_pretrained(str(tmp_path / "crowd"), local_files_only=True).eval()
    assert after.config.crowd_head
    pixels = torch.from_numpy(data["x_val"][:8]).float().unsqueeze(1) / 127.5 - 1
    with torch.inference_mode():
        old, new = before(pixel_values=pixels), after(pixel_values=pixels)
    torch.testing.assert_close(new.fer2013_logits, old.logits)
    assert not torch.allclose(new.logits, old.logits)
