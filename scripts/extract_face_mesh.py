"""Extract MediaPipe's face-mesh model (Apache-2.0) from the mediapipe 0.10.21 wheel into models/face_mesh/.

Reproducible: the wheel and the model file are checked against known SHA-256 sums, so the bundled
file is byte for byte the one published on PyPI. Run once, with network access for the download:

    python -m pip download --no-deps mediapipe==0.10.21 -d /tmp/mp
    python scripts/extract_face_mesh.py /tmp/mp/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl

Nothing downloads when the app runs: it reads the extracted file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

MODEL_IN_WHEEL = "mediapipe/modules/face_landmark/face_landmark.tflite"
LICENSE_IN_WHEEL = "mediapipe-0.10.21.dist-info/LICENSE"
MODEL_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
WHEEL_SHA256 = {
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl": (
        "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
    ),
}
"""Known wheels; the model file inside is the same in every platform's wheel (its sum is checked too)."""
OUT = Path(__file__).resolve().parents[1] / "models" / "face_mesh"
NOTICE = """\
face_landmark.tflite: MediaPipe Face Mesh (468 3-D face landmarks), from the mediapipe 0.10.21
wheel on PyPI (path {model}), extracted by scripts/extract_face_mesh.py.
SHA-256 {sha}.

Copyright The MediaPipe Authors. Licensed under the Apache License, Version 2.0 (see LICENSE
in this folder). Model card: "MediaPipe Face Mesh", Google, 2020. Unmodified.
"""


def extract(wheel: Path, out: Path = OUT) -> Path:
    """Write face_landmark.tflite, LICENSE and NOTICE into ``out``; raise ValueError on a sum that does not match."""
    known = WHEEL_SHA256.get(wheel.name)
    if known is not None and hashlib.sha256(wheel.read_bytes()).hexdigest() != known:
        raise ValueError(f"{wheel.name} does not match its published SHA-256; download it again")
    with zipfile.ZipFile(wheel) as archive:
        model = archive.read(MODEL_IN_WHEEL)
        licence = archive.read(LICENSE_IN_WHEEL)
    digest = hashlib.sha256(model).hexdigest()
    if digest != MODEL_SHA256:
        raise ValueError(f"{MODEL_IN_WHEEL} has SHA-256 {digest}, expected {MODEL_SHA256}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "face_landmark.tflite").write_bytes(model)
    (out / "LICENSE").write_bytes(licence)
    (out / "NOTICE").write_text(NOTICE.format(model=MODEL_IN_WHEEL, sha=digest), encoding="utf-8")
    return out / "face_landmark.tflite"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, help="the downloaded mediapipe 0.10.21 wheel")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        path = extract(args.wheel, args.out)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
