"""Faces of labelled photos as the app sees them, and how models read them (a training helper, not a CLI feature).

    python scripts/photo_faces.py extract ../shared/data/faces/web_expressions runs/faces/web.npz
    python scripts/photo_faces.py score runs/faces/web.npz --model models/xface-vit --model runs/teacher1

`extract` runs the app's own detection and alignment (`xface.vision.pipeline.Analyzer`: MTCNN, then the
five-point alignment to the classifier's input size) on every photo of a folder of emotion folders, keeps the
largest face of each, and saves the aligned crops with their folder labels and people (never commit the file:
the photos' licences and the CK+ terms say not to copy them). The crops do not depend on the classifier, so
`score` can then compare any number of models on exactly what the app would have fed them: accuracy of both
outputs over the photos (a photo with no face found counts as wrong), the share read neutral, and per-emotion
recall. `--half held-out` scores only the people that `xface.tools.train.training_person` keeps out of
training.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from xface.emotions import EMOTIONS
from xface.tools.train import training_person

NO_LABEL = -1
"""A folder whose emotion is not one of EMOTIONS (CK+'s contempt): kept, never scored."""


def _people(folder: Path, files: list[Path]) -> list[str]:
    labels = folder / "labels.csv"
    if labels.exists():
        with labels.open() as handle:
            person = {row["file"]: row["person"] for row in csv.DictReader(handle)}
        return [person.get(f"{path.parent.name}/{path.name}", path.stem) for path in files]
    return [path.stem.split("_")[0] for path in files]  # CK+: S010_006_00000013 → subject S010


def extract(folder: Path, out: Path) -> dict:
    from xface.vision.images import load_image
    from xface.vision.pipeline import Analyzer

    analyzer = Analyzer()
    files = sorted(p for p in folder.glob("*/*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    size = analyzer.classifier.image_size
    crops = np.zeros((len(files), *size, 3), np.uint8)
    found = np.zeros(len(files), bool)
    for row, path in enumerate(tqdm(files, desc=folder.name, unit="photo")):
        pixels = load_image(path)
        detections = analyzer.detector.detect(pixels)
        if detections:
            largest = max(detections, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
            crops[row] = analyzer.align(pixels, [largest])[0]
            found[row] = True
    labels = np.array([EMOTIONS.index(p.parent.name) if p.parent.name in EMOTIONS else NO_LABEL for p in files])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        crops=crops,
        found=found,
        labels=labels,
        files=np.array([f"{p.parent.name}/{p.name}" for p in files]),
        people=np.array(_people(folder, files)),
    )
    return {"photos": len(files), "faces_found": int(found.sum())}


def _figures(probs: np.ndarray, labels: np.ndarray, found: np.ndarray) -> dict:
    scored = labels != NO_LABEL
    read = np.where(found, probs.argmax(1), NO_LABEL)
    recall = {
        EMOTIONS[c]: round(float((read[labels == c] == c).mean()), 4)
        for c in range(len(EMOTIONS))
        if (labels == c).any()
    }
    return {
        "accuracy": round(float((read[scored] == labels[scored]).mean()), 4),
        "read_neutral": round(float((read[scored & found] == EMOTIONS.index("neutral")).mean()), 4),
        "recall": recall,
    }


def score(faces: Path, models: list[str], half: str) -> dict:
    from xface.vision.classifier import load_classifier

    data = np.load(faces)
    keep = np.ones(len(data["labels"]), bool)
    if half != "all":
        training = np.array([training_person(str(p)) for p in data["people"]])
        keep = training if half == "training" else ~training
    crops, labels, found = data["crops"][keep], data["labels"][keep], data["found"][keep]
    report = {"faces": str(faces), "half": half, "photos": int(keep.sum()), "faces_found": int(found.sum())}
    for name in models:
        outputs = load_classifier(name, threads=2).predict_outputs(crops)
        report[name] = {
            "shown": _figures(outputs.shown, labels, found),
            "fer2013": _figures(outputs.fer2013, labels, found),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pick = commands.add_parser("extract", help="aligned largest face of each photo, with its folder label")
    pick.add_argument("folder", type=Path)
    pick.add_argument("out", type=Path)
    rate = commands.add_parser("score", help="both outputs of each model on extracted faces")
    rate.add_argument("faces", type=Path)
    rate.add_argument("--model", action="append", required=True)
    rate.add_argument("--half", choices=["all", "training", "held-out"], default="all")
    args = parser.parse_args()
    if args.command == "extract":
        print(json.dumps(extract(args.folder, args.out)))
    else:
        print(json.dumps(score(args.faces, args.model, args.half), indent=1))


if __name__ == "__main__":
    main()
