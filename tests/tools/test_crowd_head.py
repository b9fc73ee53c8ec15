"""The refitted crowd head: class balance and how a new head reaches the app's ONNX export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from xface.tools.crowd_head import fit_head, write_crowd_head
from xface.vision.classifier import DEFAULT_MODEL, OnnxBackend, load_classifier
from xface.vision.model import XfaceViTForImageClassification


def test_balanced_weights_give_a_rare_class_its_share() -> None:
    """Features that barely tell a rare class from a common one: the balanced head calls the rare one more."""
    generator = torch.Generator().manual_seed(0)
    labels = np.r_[np.zeros(900, int), np.ones(100, int)]
    features = torch.randn(1000, 2, 8, generator=generator) + torch.from_numpy(labels).float()[:, None, None] * 0.5
    targets = np.eye(2)[labels]
    init = nn.Linear(8, 2)
    rare_calls = []
    for balance in (0.0, 1.0):
        head = fit_head(features, targets, init, balance, weight_decay=0.0, steps=200)
        with torch.no_grad():
            rare_calls.append(int((head(features).mean(1).argmax(1) == 1).sum()))
    assert rare_calls[0] < 50 < rare_calls[1]


def test_a_written_crowd_head_reaches_the_onnx_export(tmp_path: Path) -> None:
    model = XfaceViTForImageClassification.from_pretrained(DEFAULT_MODEL).eval()
    with torch.no_grad():
        model.crowd_classifier.bias += torch.arange(7, dtype=torch.float32)
    write_crowd_head(model, DEFAULT_MODEL, tmp_path)
    exported = load_classifier(tmp_path)
    assert isinstance(exported.backend, OnnxBackend)  # the stamp matches the new weights
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 3), dtype=np.uint8)
    on_torch = load_classifier(tmp_path, prefer_onnx=False).predict_outputs(faces)
    for got, expected in zip(exported.predict_outputs(faces), on_torch, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-4)
    bundled = load_classifier().predict_outputs(faces)
    np.testing.assert_allclose(exported.predict_outputs(faces).fer2013, bundled.fer2013, atol=1e-5)
    assert not np.allclose(exported.predict_outputs(faces).shown, bundled.shown, atol=1e-3)
