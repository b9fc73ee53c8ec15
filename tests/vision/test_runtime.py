"""ONNX Runtime serves the app's networks: the same numbers as torch, never from stale weights, without torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TORCH_MISSING

pytest.importorskip("torch", reason=TORCH_MISSING)

import torch
from safetensors.torch import load_file, save_file

from tests.conftest import ROOT
from xface.teach.practice import load_bank
from xface.vision.align import grey_to_rgb
from xface.vision.classifier import DEFAULT_MODEL, ONNX_FILE, OnnxBackend, TorchBackend, load_classifier
from xface.vision.mtcnn import Mtcnn


@pytest.fixture(scope="module")
def bank_faces() -> np.ndarray:
    """60 real 48×48 faces (the practice bank ships with the app), as RGB crops."""
    return np.stack([grey_to_rgb(face.image) for face in load_bank()[::8][:60]])


def test_the_bundled_exports_match_the_bundled_weights() -> None:
    """Re-run scripts/export_onnx.py after training: a stale export is never served, so this catches it."""
    Mtcnn()  # refuses a missing or stale export
    assert isinstance(load_classifier().backend, OnnxBackend)


@pytest.mark.parametrize("view", ["both", "as_seen", "mirrored"])
def test_onnx_and_torch_classifiers_agree_on_real_faces(bank_faces: np.ndarray, view: str) -> None:
    onnx, plain = load_classifier(), load_classifier(prefer_onnx=False)
    assert isinstance(plain.backend, TorchBackend)
    fast, slow = onnx.predict_outputs(bank_faces, view), plain.predict_outputs(bank_faces, view)
    for got, expected in zip(fast, slow, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert (got.argmax(1) == expected.argmax(1)).all()
    np.testing.assert_allclose(onnx.attention_map(bank_faces[0]), plain.attention_map(bank_faces[0]), atol=1e-5)


def test_both_views_are_the_mean_of_each_view(bank_faces: np.ndarray) -> None:
    classifier = load_classifier()
    seen, mirrored = classifier.predict(bank_faces, "as_seen"), classifier.predict(bank_faces, "mirrored")
    np.testing.assert_allclose(classifier.predict(bank_faces, "both"), (seen + mirrored) / 2, atol=1e-6)
    assert np.abs(seen - mirrored).max() > 0.01  # the views differ, so averaging them means something


def test_a_stale_export_is_ignored_and_torch_runs_the_new_weights(tmp_path: Path, bank_faces: np.ndarray) -> None:
    folder = tmp_path / "retrained"
    shutil.copytree(DEFAULT_MODEL, folder)
    weights = load_file(folder / "model.safetensors")
    weights["classifier.bias"] = weights["classifier.bias"] + torch.linspace(-2, 2, len(weights["classifier.bias"]))
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    assert (folder / ONNX_FILE).is_file()  # the old export is still there...
    retrained = load_classifier(folder)
    assert isinstance(retrained.backend, TorchBackend)  # ...but not used
    old = load_classifier().predict_outputs(bank_faces).fer2013
    new = retrained.predict_outputs(bank_faces).fer2013
    assert np.abs(old - new).max() > 0.05  # the new weights' answers, not the export's


def test_a_missing_mtcnn_export_is_refused_with_a_way_out(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="export_onnx.py"):
        Mtcnn(tmp_path)


XFACE = Path(__file__).resolve().parents[2] / "xface"
APP_MODULES = sorted(
    ".".join(path.relative_to(XFACE).with_suffix("").parts)
    for path in XFACE.rglob("*.py")
    if path.stem != "__init__" and path.parent.name != "tools" and path.stem != "model"
)
"""Every module the app's pages reach; the command line's training, evaluation and bench may use torch."""


def test_the_app_never_loads_torch(group_photo: Path) -> None:
    """Photos, video, the Why? map and a quiz bank face, in a fresh interpreter: torch and transformers stay out."""
    script = f"""
import importlib, sys
for name in {APP_MODULES!r}:
    importlib.import_module("xface." + name)
from xface.vision.pipeline import Analyzer
from xface.teach.practice import load_bank
from xface.teach.quiz import bank_question, read_bank_face
analyzer = Analyzer()
readings = analyzer.analyze({str(group_photo)!r})
analyzer.attention_map(readings[0])
stream = analyzer.stream()
for _ in range(3):
    stream.process({str(group_photo)!r})
read_bank_face(analyzer, bank_question(load_bank()[0]))
print(len(readings), sorted({{"torch", "transformers", "facenet_pytorch"}} & set(sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7", "[]"]


def _fresh_home_env(home: Path) -> dict[str, str]:
    """The environment of a person who never set ORT_DISABLE_TELEMETRY, with an empty home folder."""
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ORT_", "XDG_"))}
    return {**env, "HOME": str(home), "PYTHONPATH": str(ROOT)}


def _written(home: Path) -> list[str]:
    return sorted(str(path.relative_to(home)) for path in home.rglob("*"))


def test_importing_the_runtime_switches_onnx_runtime_telemetry_off_first(tmp_path: Path, group_photo: Path) -> None:
    """A fresh interpreter and HOME, as the app, the CLI and the library start: ONNX Runtime keeps no device id."""
    home = tmp_path / "home"
    script = f"""
import os, sys
import xface.vision.runtime
print(os.environ.get("ORT_DISABLE_TELEMETRY"), "onnxruntime" in sys.modules)
from xface.vision.pipeline import Analyzer
print(len(Analyzer().analyze({str(group_photo)!r})))
"""
    done = subprocess.run([sys.executable, "-c", script], env=_fresh_home_env(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True", "7"]
    assert not [name for name in _written(home) if "Microsoft" in name], _written(home)


def test_the_cli_keeps_no_onnx_runtime_device_id(tmp_path: Path, group_photo: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "xface.tools.cli", "--no-progress", "analyze", str(group_photo)],
        env=_fresh_home_env(home),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not [name for name in _written(home) if "Microsoft" in name], _written(home)


@pytest.mark.slow
def test_a_loaded_analyzer_looks_nothing_up_on_the_network(tmp_path: Path, group_photo: Path) -> None:
    """Under strace: no socket to any internet address, through the 9 s after loading when ONNX Runtime 1.32
    would look up mobile.events.data.microsoft.com (a DNS query to port 53) if its telemetry were on."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    home = tmp_path / "home"
    trace = tmp_path / "network.trace"
    script = f"""
import time
from xface.vision.pipeline import Analyzer
Analyzer().analyze({str(group_photo)!r})
time.sleep(15)  # ONNX Runtime's telemetry looks up its server about 9 s after the first session
"""
    command = [strace, "-f", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), sys.executable, "-c", script]
    done = subprocess.run(command, env=_fresh_home_env(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    network = [line for line in trace.read_text().splitlines() if "AF_INET" in line or "htons(53)" in line]
    assert network == []
    assert not [name for name in _written(home) if "Microsoft" in name], _written(home)
