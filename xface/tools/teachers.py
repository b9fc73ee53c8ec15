"""Teachers kept as soft targets, not weights: each trained model's probabilities on the training faces.

Why: an ensemble of models reads FER2013 better than any one of them, but the app can afford only one small
model. The ensemble's knowledge is passed on by distillation (`xface distil`), which needs only what the
teachers said about each training face, not the teachers themselves. A teacher's weights are 20-50 MB; its
probabilities, as float16, are about 1.6 MB, so every teacher stays in the repository (`teachers/`) and later
sessions can add teachers one by one and distil the average of all of them.

A teacher file (`teachers/NAME.npz`) holds `train`: (28709, 2, 2, 7) float16 probabilities for every row of
the npz's training split in its order, for [straight, mirrored] view × [FER2013 output, crowd output] over
EMOTIONS (a model with one output gives it twice). `NAME.json` beside it says where it came from and how it
reads the validation split, as `xface evaluate` measures it. A teacher may average each face over a few small
warps of itself (`--warps`, `xface.tools.views`): a steadier reading than the app's single look can afford.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xface.tools.evaluate import npz_figures
from xface.tools.views import WARP_SETS, WARPS, Warp
from xface.vision.classifier import ExpressionClassifier, Probabilities, load_classifier

VIEWS = ("straight", "mirrored")
OUTPUTS = ("fer2013", "crowd")


@dataclass
class TeacherSettings:
    model: str
    """The trained model's folder (a run's output, e.g. runs/teacher1)."""
    npz: str
    out: str
    """The teacher file to write, e.g. teachers/teacher1.npz (its figures go to teachers/teacher1.json)."""
    threads: int = 2
    note: str = ""
    """How the teacher was trained (the command), kept in the JSON."""
    warps: str = "aligned"
    """Which set of small warps of each face to average (`xface.tools.views.WARP_SETS`); `aligned` reads each
    face as the app does."""


def view_probabilities(
    classifier: ExpressionClassifier, faces: np.ndarray, warps: list[Warp] | None = None, batch_size: int = 512
) -> np.ndarray:
    """(N, 48, 48) uint8 grey faces → (N, 2 views, 2 outputs, 7) float32 probabilities, read by the app's own
    classifier code (so the teacher says what the app would have shown), each averaged over `warps` of the face
    (default: the aligned face alone)."""
    warps = warps or [Warp()]
    parts = []
    for start in range(0, len(faces), batch_size):
        batch = faces[start : start + batch_size]
        total = np.zeros((len(batch), len(VIEWS), len(OUTPUTS), 7), np.float32)
        for warp in warps:
            rgb = np.repeat(warp.apply_to_faces(batch)[..., None], 3, -1)
            readings = [classifier.predict_outputs(rgb, view) for view in ("as_seen", "mirrored")]
            total += np.stack([np.stack([r.fer2013, r.shown], 1) for r in readings], 1)
        parts.append(total / len(warps))
    return np.concatenate(parts)


def validation_figures(probabilities: np.ndarray, data: np.lib.npyio.NpzFile) -> dict:
    """The teacher's reading of the validation split (`view_probabilities` of its faces, both views averaged),
    measured as `xface evaluate` measures a model."""
    both_views = probabilities.mean(1)
    fer2013, crowd = (both_views[:, OUTPUTS.index(name)] for name in ("fer2013", "crowd"))
    outputs = Probabilities(fer2013=fer2013, shown=crowd)
    results = npz_figures(outputs, data, "val")
    return {
        "fer2013_accuracy": results["fer2013"]["accuracy"],
        "ferplus_majority_accuracy": results["ferplus_majority"]["accuracy"],
        "ferplus_kl": results["ferplus_kl"],
        "crowd_ece": results["calibration"]["crowd"]["ece"],
    }


def write_teacher(settings: TeacherSettings) -> dict:
    """Save a trained model's soft targets on the training faces and its validation figures."""
    out = Path(settings.out)
    if out.suffix != ".npz":
        raise ValueError(f"a teacher file ends in .npz, not {out.name}")
    if settings.warps not in WARP_SETS:
        raise ValueError(f"no set of warps called {settings.warps!r}: one of {', '.join(WARP_SETS)}")
    warps = [WARPS[name] for name in WARP_SETS[settings.warps]]
    classifier = load_classifier(settings.model, threads=settings.threads)  # ONNX Runtime where exported: 2x faster
    data = np.load(settings.npz)
    faces = data["x_train"]
    probabilities = view_probabilities(classifier, faces, warps).astype(np.float16)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, train=probabilities)
    report = {
        "settings": asdict(settings),
        "faces": len(faces),
        "validation": validation_figures(view_probabilities(classifier, data["x_val"], warps), data),
    }
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def ensemble_targets(paths: list[str | Path], faces: int) -> np.ndarray:
    """The teachers' average, (faces, 2 views, 2 outputs, 7) float32; a clear ValueError if any does not fit."""
    if not paths:
        raise ValueError("name at least one teacher file")
    total = np.zeros((faces, len(VIEWS), len(OUTPUTS), 7), np.float32)
    for path in paths:
        if not Path(path).exists():
            raise ValueError(f"no such teacher file: {path}")
        probabilities = np.load(path)["train"]
        if probabilities.shape != total.shape:
            raise ValueError(f"{path} holds {probabilities.shape[0]} training faces, the npz {faces}")
        total += probabilities.astype(np.float32)
    total /= len(paths)
    return total / total.sum(-1, keepdims=True)
