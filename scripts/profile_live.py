"""Where each millisecond of the live path goes, per kind of frame (the sequences of `xface bench`).

    python scripts/profile_live.py [--frames 90] [--faces-dir ../shared/data/faces]

Every frame goes through the live page's engine (`LiveSession`, analysing every frame, one thread),
with a timer around each step: decode, the MTCNN pyramid and P-Net, R-Net, O-Net, the resizing
and suppression between them, following, align, mesh crop and mesh model, cues, classify, words
and drawing. Prints ms per frame, averaged over the sequence (not medians: the columns then add up
to the whole, full detections included).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xface.app import live  # noqa: E402
from xface.tools import bench  # noqa: E402
from xface.vision import classifier, detect, landmarks, mtcnn, pipeline  # noqa: E402

SPENT: defaultdict[str, float] = defaultdict(float)


def timed(owner: object, name: str, label: str) -> None:
    """Replace owner.name with a version that adds its time to SPENT[label] (outermost call only)."""
    real: Callable = getattr(owner, name)
    active = {"depth": 0}

    def wrapper(*args, **kwargs):
        active["depth"] += 1
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            active["depth"] -= 1
            if active["depth"] == 0:
                SPENT[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


STEPS = [
    (mtcnn.Mtcnn, "pnet", "P-Net"),
    (mtcnn.Mtcnn, "rnet", "R-Net"),
    (mtcnn.Mtcnn, "onet", "O-Net"),
    (mtcnn.IntegralImage, "__init__", "pyramid+crops"),
    (mtcnn.IntegralImage, "resize", "pyramid+crops"),
    (mtcnn.IntegralImage, "resize_boxes", "pyramid+crops"),
    (mtcnn, "nms", "suppression"),
    (detect.FaceDetector, "detect", "full detection"),
    (detect.FaceDetector, "refine", "following"),
    (pipeline.Analyzer, "align", "align"),
    (landmarks, "mesh_crop", "mesh crop"),
    (landmarks.MeshModel, "run", "mesh model"),
    (pipeline, "measure", "cues"),
    (pipeline.AnalyzerStream, "_readings", "tracks+cues"),
    (classifier.ExpressionClassifier, "predict_outputs", "classify"),
    (live, "reading_explanation", "words"),
    (live, "draw_readings", "draw"),
    (live.LiveSession, "process", "frame in → frame out"),
]
"""(owner, attribute, label). Nested labels overlap on purpose: "full detection" holds the MTCNN steps."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--faces-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"))
    args = parser.parse_args()
    for owner, name, label in STEPS:
        timed(owner, name, label)
    analyzer = pipeline.Analyzer(threads=live.APP_THREADS)
    labels = list(dict.fromkeys(["decode", *(label for _, _, label in STEPS)]))
    print(f"{'ms per frame':<22}" + "".join(f"{name:>14}" for name in bench.SEQUENCES))
    columns = {}
    for name in bench.SEQUENCES:
        frames = bench.sequence_frames(Path(args.faces_dir), name, args.frames)
        session = live.LiveSession(analyzer, background=False)
        for data in frames[:10]:  # warm-up
            session.process(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        session = live.LiveSession(analyzer, background=False)
        SPENT.clear()
        for data in frames:
            started = time.perf_counter()
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            SPENT["decode"] += time.perf_counter() - started
            session.process(pixels)
        columns[name] = {label: 1000 * SPENT[label] / len(frames) for label in labels}
    for label in labels:
        print(f"{label:<22}" + "".join(f"{columns[name][label]:>14.2f}" for name in bench.SEQUENCES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
