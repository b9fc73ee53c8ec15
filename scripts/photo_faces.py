"""Faces of labelled photos as the app sees them, and how models read them (a training helper, not a CLI feature).

    python scripts/photo_faces.py extract ../shared/data/faces/web_expressions runs/faces/web.npz
    python scripts/photo_faces.py score runs/faces/web.npz runs/faces/ck.npz --model models/xface-vit \
        --model runs/teacher1 --average --npz ../shared/data/fer2013.npz

`extract` runs the app's own detection and alignment (`xface.vision.pipeline.Analyzer`: MTCNN, then the
five-point alignment to the classifier's input size) on every photo of a folder of emotion folders, keeps the
largest face of each, and saves the aligned crops with their folder labels and people (never commit the file:
the photos' licences and the CK+ terms say not to copy them). The crops do not depend on the classifier, so
`score` can then compare any number of models on exactly what the app would have fed them: accuracy of both
outputs over the photos (a photo with no face found counts as wrong), the share read neutral, and per-emotion
recall. `--half held-out` scores only the people that `xface.tools.train.training_person` keeps out of
training. `--average` scores the models' averaged outputs too (an ensemble, as `xface train --teacher` distils
it), and `--npz` adds FER2013 validation as given, so that one command gives every figure a model must beat.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from xface.emotions import EMOTIONS
from xface.tools.evaluate import npz_figures
from xface.tools.train import training_person
from xface.vision.classifier import Probabilities

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


def photo_figures(probs: np.ndarray, labels: np.ndarray, found: np.ndarray) -> dict:
    """Accuracy over the scored photos (no face found counts as wrong), the share of expressive faces read
    neutral, and recall per emotion."""
    scored = labels != NO_LABEL
    expressive = scored & found & (labels != EMOTIONS.index("neutral"))
    read = np.where(found, probs.argmax(1), NO_LABEL)
    recall = {
        EMOTIONS[c]: round(float((read[labels == c] == c).mean()), 4)
        for c in range(len(EMOTIONS))
        if (labels == c).any()
    }
    return {
        "accuracy": round(float((read[scored] == labels[scored]).mean()), 4),
        "expressive_read_neutral": round(float((read[expressive] == EMOTIONS.index("neutral")).mean()), 4),
        "recall": recall,
    }


def validation_figures(outputs: Probabilities, data: np.lib.npyio.NpzFile) -> dict:
    """FER2013 validation as `xface evaluate --npz` measures it, rounded as the scripts print it."""
    figures = npz_figures(outputs, data, "val")
    return {
        "fer2013_accuracy": round(float(figures["fer2013"]["accuracy"]), 4),
        "ferplus_majority": round(float(figures["ferplus_majority"]["accuracy"]), 4),
        "ferplus_kl": round(float(figures["ferplus_kl"]), 4),
    }


def average_outputs(outputs: list[Probabilities]) -> Probabilities:
    """The ensemble's reading: each output's probabilities averaged over the models."""
    return Probabilities(
        shown=np.mean([o.shown for o in outputs], axis=0), fer2013=np.mean([o.fer2013 for o in outputs], axis=0)
    )


def score(faces: list[Path], models: list[str], half: str, average: bool = False, npz: Path | None = None) -> dict:
    from xface.tools.evaluate import predict_faces
    from xface.vision.classifier import load_classifier

    classifiers = {name: load_classifier(name, threads=2) for name in models}
    names = [*models, "average"] if average else models
    report: dict = {"half": half, "sets": {}}
    for path in faces:
        data = np.load(path)
        keep = np.ones(len(data["labels"]), bool)
        if half != "all":
            training = np.array([training_person(str(p)) for p in data["people"]])
            keep = training if half == "training" else ~training
        crops, labels, found = data["crops"][keep], data["labels"][keep], data["found"][keep]
        outputs = {name: classifier.predict_outputs(crops) for name, classifier in classifiers.items()}
        if average:
            outputs["average"] = average_outputs(list(outputs.values()))
        report["sets"][str(path)] = {"photos": int(keep.sum()), "faces_found": int(found.sum())} | {
            name: {key: photo_figures(getattr(outputs[name], key), labels, found) for key in ("shown", "fer2013")}
            for name in names
        }
    if npz is not None:
        data = np.load(npz)
        outputs = {name: predict_faces(c, data["x_val"], progress=False) for name, c in classifiers.items()}
        if average:
            outputs["average"] = average_outputs(list(outputs.values()))
        report["fer2013_validation"] = {name: validation_figures(outputs[name], data) for name in names}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pick = commands.add_parser("extract", help="aligned largest face of each photo, with its folder label")
    pick.add_argument("folder", type=Path)
    pick.add_argument("out", type=Path)
    rate = commands.add_parser("score", help="both outputs of each model on extracted faces")
    rate.add_argument("faces", type=Path, nargs="+")
    rate.add_argument("--model", action="append", required=True)
    rate.add_argument("--half", choices=["all", "training", "held-out"], default="all")
    rate.add_argument("--average", action="store_true", help="score the models' averaged outputs too")
    rate.add_argument("--npz", type=Path, help="FER2013 with FER+ votes: add its validation split as given")
    args = parser.parse_args()
    if args.command == "extract":
        print(json.dumps(extract(args.folder, args.out)))
    else:
        print(json.dumps(score(args.faces, args.model, args.half, args.average, args.npz), indent=1))


if __name__ == "__main__":
    main()
