"""How long the face mesh and the cues take a face, on one thread (the live path's added cost).

    python scripts/cue_timing.py            # prints median and 95th percentile, ms a face

Runs the real mesh model on the real faces in ../shared/data/faces/with_faces (as the photo path
does) and on the 640×480 webcam-like frame the tests use, several hundred times each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import WITH_FACES, portrait_frame  # noqa: E402
from xface.vision.cues import as_dict, intensities, measure  # noqa: E402
from xface.vision.detect import FaceDetector  # noqa: E402
from xface.vision.images import load_image  # noqa: E402
from xface.vision.landmarks import MeshModel  # noqa: E402


def main(repeats: int = 300) -> int:
    import torch

    torch.set_num_threads(1)
    detector, mesh = FaceDetector(), MeshModel(threads=1)
    faces = []
    for path in [*sorted(WITH_FACES.glob("*.jpg"))[:3], None]:
        image = portrait_frame() if path is None else load_image(path)
        faces += [(image, d) for d in detector.detect(image)]
    fit, cues = [], []
    for index in range(repeats):
        image, detection = faces[index % len(faces)]
        started = time.perf_counter()
        found = mesh.fit(image, detection.box, detection.landmarks)
        fitted = time.perf_counter()
        if found is not None:
            as_dict(intensities(measure(found.points)))
        done = time.perf_counter()
        fit.append(fitted - started)
        cues.append(done - fitted)
    total = np.add(fit, cues) * 1000
    print(f"{len(faces)} faces, {repeats} runs, one thread")
    print(f"mesh (crop + model): median {np.median(fit) * 1000:.2f} ms, p95 {np.percentile(fit, 95) * 1000:.2f} ms")
    print(f"cues (pose fit + measures): median {np.median(cues) * 1000:.2f} ms")
    print(f"landmarks + cues: median {np.median(total):.2f} ms a face, p95 {np.percentile(total, 95):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
