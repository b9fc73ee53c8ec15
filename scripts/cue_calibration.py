"""Calibrate the facial cues on FER2013 training faces, and report how well each cue separates expressions.

    python scripts/cue_calibration.py calibrate --npz ../shared/data/fer2013.npz  # writes the calibration file
    python scripts/cue_calibration.py auc --npz ../shared/data/fer2013.npz         # AUCs on the validation faces
    python scripts/cue_calibration.py auc --labels ferplus                         # same faces, FER+ majority labels
    python scripts/cue_calibration.py photos                                       # real photos, vs the model's label
    python scripts/cue_calibration.py mirror                                       # real photos vs their mirror image
    xface teaching-check --sets fer2013_train --save train.npz                    # training faces through the pipeline
    python scripts/cue_calibration.py specific --readings train.npz               # naming thresholds for specificity
    xface teaching-check --sets web_expressions --save web.npz                    # web photos through the pipeline
    python scripts/cue_calibration.py own --readings web.npz                      # against a person's own face

Calibration uses the training split only: the canonical face and the relaxed face come from faces
that most FER+ annotators called neutral, "as strong as faces get" from the 98th percentile over
all training faces, and each cue's "noticeable" intensity from the 90th percentile over the
relaxed faces (the words name a cue measured against the typical face only beyond it). The AUCs
are then measured on the validation split, which calibration never saw.
FER2013's own labels are noisy (people agree with them about 65 % of the time); `--labels ferplus`
checks the same faces against the FER+ crowd's majority (at least half of ten annotators agree on
one emotion), a second, cleaner labelling.
Each 48×48 grey face is framed for the mesh model by `tight_crop_to_mesh_input` and turned so its
eyes are level, as the app's crops are (`level_eyes`). Faces whose mesh score is below
`MIN_FACE_SCORE` are left out (the app shows no cues for them either).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xface.emotions import EMOTIONS  # noqa: E402
from xface.vision import cues  # noqa: E402
from xface.vision.landmarks import MIN_FACE_SCORE, MeshModel, tight_crop_to_mesh_input  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "xface" / "vision" / cues.CALIBRATION_FILE
STRONG_PERCENTILE = 98
NOTICEABLE_PERCENTILE = 90
SPECIFIC_SHARE = 0.02
"""A cue is named (against a typical face) only beyond what at most this share of the faces of *each* expression
that does not show it reach (`specific`): "the lip corners turn down" is rarely said of a surprised face."""

RELIABLE_SHARE = 0.12
"""The same for the cues that tell their expression well (AUC at least 0.85: a smile, raised brows), without the
"noticeable" floor: the crowd's labels are noisy (a face half of ten people call sad may be smiling, a tenth of
relaxed faces have high brows), so 3 % would hide most real smiles and raised brows."""

SEPARATIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("lip_corner_pull", ("happy",), ()),
    ("jaw_drop", ("surprise",), ()),
    ("brow_raise", ("surprise",), ()),
    ("brow_lower", ("angry", "disgust"), ("happy", "surprise", "neutral")),
    ("lip_corner_depress", ("sad",), ("neutral",)),
    ("nose_wrinkle", ("disgust",), ()),
    ("upper_lid_raise", ("surprise", "fear"), ()),
    ("cheek_raise", ("happy",), ()),
    ("lip_stretch", ("fear",), ()),
    ("lip_press", ("angry",), ()),
)
"""(cue, expressions that show it, expressions compared against; empty = all the others)."""


def level_eyes(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The mesh crop turned about its centre so that the eyes (from a first mesh) are level.

    The app's crops are levelled with MTCNN's eye points (`mesh_crop_transform`), and the mesh model
    was trained on level faces; FER2013's faces tilt by 4° (median, 11° at the 90th percentile).
    The cues do not depend on the turn itself (they are measured after the pose fit)."""
    right, left = points[[33, 133], :2].mean(0), points[[263, 362], :2].mean(0)
    angle = float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))
    turned = Image.fromarray(crop).rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(128, 128, 128))
    return np.asarray(turned)


def meshes(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mesh points (N, 468, 3) and face scores (N,) of 48×48 grey faces, framed and levelled like the app's crops."""
    model = MeshModel()
    points = np.zeros((len(faces), 468, 3))
    scores = np.zeros(len(faces))
    started = time.perf_counter()
    for index, face in enumerate(faces):
        crop = tight_crop_to_mesh_input(face)
        points[index], scores[index] = model.run(level_eyes(crop, model.run(crop).points))
    print(f"{len(faces)} meshes in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return points, scores


FERPLUS_EMOTIONS = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear")
"""The first seven FER+ vote columns (`ferplus_columns`) as Xface's emotion names."""


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """Each face's FER+ majority emotion: at least half the annotators and more than any other emotion
    ("" where there is none, or no FER+ row)."""
    emotions = votes[:, : len(FERPLUS_EMOTIONS)]
    top = emotions.argmax(1)
    most = emotions.max(1)
    clear = (emotions == most[:, None]).sum(1) == 1
    agreed = (votes[:, 0] >= 0) & clear & (2 * most >= votes.sum(1))
    return np.where(agreed, np.array(FERPLUS_EMOTIONS)[top], "")


def neutral_majority(votes: np.ndarray) -> np.ndarray:
    """Faces that at least half of the FER+ annotators called neutral, more than any emotion."""
    return (votes[:, 0] >= 5) & (votes[:, 0] > votes[:, 1:8].max(1))


def canonical_face(points: np.ndarray) -> np.ndarray:
    """The rigid points of the mean relaxed face (generalised Procrustes), inter-ocular distance 1."""
    rigid = points[:, list(cues.RIGID_POINTS)]
    canonical = rigid.mean(0)
    for _ in range(3):
        canonical = np.mean([cues.fit_pose(p, canonical)[list(cues.RIGID_POINTS)] for p in points], axis=0)
        right, left = canonical[:2].mean(0), canonical[2:4].mean(0)
        canonical = (canonical - canonical.mean(0)) / np.linalg.norm(left - right)
    return canonical


def calibrate(npz: Path, out: Path = OUT) -> cues.Calibration:
    data = np.load(npz)
    points, scores = meshes(data["x_train"])
    ok = scores >= MIN_FACE_SCORE
    relaxed_faces = ok & neutral_majority(data["ferplus_votes_train"])
    canonical = canonical_face(points[relaxed_faces][:3000])
    raw = np.stack([cues.raw_measures(cues.fit_pose(p, canonical)) for p in points[ok]])
    relaxed = np.median(raw[relaxed_faces[ok]], axis=0)
    strong = np.percentile(raw - relaxed, STRONG_PERCENTILE, axis=0)
    zeros = np.zeros(len(cues.CUE_NAMES))
    settings = cues.Calibration(
        canonical=canonical,
        relaxed=relaxed,
        strong=strong,
        noticeable=zeros,
        named=zeros,
        noticeable_own=zeros,
        named_own=zeros,
    )
    relaxed_intensities = cues.intensities(raw[relaxed_faces[ok]], settings=settings)  # against the typical face
    noticeable = np.percentile(relaxed_intensities, NOTICEABLE_PERCENTILE, axis=0)
    # until `specific` and `own` set them
    settings = replace(
        settings, noticeable=noticeable, named=noticeable, noticeable_own=noticeable, named_own=noticeable
    )
    out.write_text(json.dumps(settings.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"{ok.sum()} of {len(ok)} training faces meshed, {relaxed_faces.sum()} relaxed; wrote {out}")
    return settings


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    values = np.concatenate([positive, negative])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # average ranks of ties
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return float(
        (ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative))
    )


def report(npz: Path, split: str = "val", labels: str = "fer2013") -> dict[str, float]:
    data = np.load(npz)
    points, scores = meshes(data[f"x_{split}"])
    ok = scores >= MIN_FACE_SCORE
    if labels == "ferplus":
        names = ferplus_majority(data[f"ferplus_votes_{split}"])[ok]
    else:
        names = np.array(EMOTIONS)[data[f"y_{split}"]][ok]
    raw = np.stack([cues.measure(p) for p in points[ok]])
    values = np.stack([cues.intensities(r) for r in raw])
    print(
        f"FER2013 {split}, {labels} labels: {ok.sum()} of {len(ok)} faces meshed (score >= {MIN_FACE_SCORE}), "
        f"{(names != '').sum()} of them labelled"
    )
    print(f"| cue | {'shown by':24s} | {'against':24s} | AUC | mean intensity shown / against |")
    print("|---|---|---|---|---|")
    results = {}
    for cue, shown, against in SEPARATIONS:
        column = cues.CUE_NAMES.index(cue)
        positive = np.isin(names, shown)
        negative = np.isin(names, against) if against else ~positive & (names != "")
        results[cue] = auc(raw[positive, column], raw[negative, column])
        means = f"{values[positive, column].mean():.2f} / {values[negative, column].mean():.2f}"
        print(
            f"| {cue} | {'+'.join(shown):24s} | {'+'.join(against) or 'the rest':24s} | {results[cue]:.3f} | {means} |"
        )
    return results


def photos(folder: Path) -> dict[str, float]:
    """Real photos have no expression labels here: compare each cue with the expression model's own reading.

    This measures agreement between two readings of the same face (cues from the mesh, the label
    from the classifier), not accuracy; it shows whether the cues behave on real, sharp faces too.
    """
    from xface.vision.images import ImageError
    from xface.vision.pipeline import Analyzer

    analyzer = Analyzer()
    values, labels = [], []
    for path in sorted(folder.rglob("*.jpg")) + sorted(folder.rglob("*.png")):
        try:
            readings = analyzer.analyze(path)
        except ImageError:
            continue
        for reading in readings:
            if reading.cues is not None:
                values.append([reading.cues[name] for name in cues.CUE_NAMES])
                labels.append(reading.emotion)
    values, names = np.array(values), np.array(labels)
    counts = ", ".join(f"{e} {int((names == e).sum())}" for e in EMOTIONS)
    print(f"{len(names)} real faces with a mesh in {folder}; the model's labels: {counts}")
    print(f"| cue | {'shown by':24s} | {'against':24s} | AUC | faces shown / against |")
    print("|---|---|---|---|---|")
    results = {}
    for cue, shown, against in SEPARATIONS:
        column = cues.CUE_NAMES.index(cue)
        positive = np.isin(names, shown)
        negative = np.isin(names, against) if against else ~positive
        if positive.sum() < 3 or negative.sum() < 3:
            print(
                f"| {cue} | {'+'.join(shown):24s} | {'+'.join(against) or 'the rest':24s} | too few | "
                f"{positive.sum()} / {negative.sum()} |"
            )
            continue
        results[cue] = auc(values[positive, column], values[negative, column])
        print(
            f"| {cue} | {'+'.join(shown):24s} | {'+'.join(against) or 'the rest':24s} | {results[cue]:.3f} | "
            f"{positive.sum()} / {negative.sum()} |"
        )
    return results


def mirror(folder: Path) -> dict[str, float]:
    """Real photos and their mirror images: how well each cue's ranking of the faces survives the flip.

    Every cue averages both sides of the face, so a mirrored face should read the same; what differs
    is the detector's and the mesh's noise. This checks every cue on real faces, also those the
    photos have too few labelled faces for (surprise, disgust). Spearman's rank correlation over faces.
    """
    from xface.vision.images import ImageError, load_image
    from xface.vision.pipeline import Analyzer

    analyzer = Analyzer()
    original, mirrored = [], []
    for path in sorted(folder.rglob("*.jpg")) + sorted(folder.rglob("*.png")):
        try:
            image = load_image(path)
        except ImageError:
            continue
        width = image.shape[1]
        flipped = [r for r in analyzer.analyze(np.ascontiguousarray(image[:, ::-1])) if r.mesh is not None]
        for reading in analyzer.analyze(image):
            x1, y1, x2, y2 = reading.box
            for twin in flipped:
                tx1, ty1, tx2, ty2 = twin.box
                offset = np.hypot((width - (tx1 + tx2) / 2) - (x1 + x2) / 2, (ty1 + ty2 - y1 - y2) / 2)
                if reading.mesh is not None and offset < 0.2 * (x2 - x1):
                    original.append(cues.measure(reading.mesh))
                    mirrored.append(cues.measure(twin.mesh))
                    break
    original, mirrored = np.array(original), np.array(mirrored)
    print(f"{len(original)} real faces in {folder} found again in the mirrored photo")
    print("| cue | rank correlation, photo vs mirror image |")
    print("|---|---|")
    results = {}
    for column, cue in enumerate(cues.CUE_NAMES):
        ranks = [values[:, column].argsort().argsort() for values in (original, mirrored)]
        results[cue] = float(np.corrcoef(*ranks)[0, 1])
        print(f"| {cue} | {results[cue]:.3f} |")
    return results


RESCALED = ("nose_wrinkle", "lip_corner_depress")
"""Cues whose measure changed since `calibrate` last ran on all training faces: `specific` sets their relaxed value
and scale from the readings it is given."""


def specific(readings: Path, out: Path = OUT, rescale: tuple[str, ...] = RESCALED) -> cues.Calibration:
    """Naming thresholds for specificity, from faces read through the whole pipeline as the app reads photos.

    `readings` are faces with their crowd's clear majority as label, as `xface teaching-check --sets fer2013_train
    --save FILE` writes them: FER2013 *training* faces (the check's sets stay unseen). For the cues in `rescale`
    the relaxed value (median over neutral faces), the scale (98th percentile over all) and "noticeable" (90th
    percentile over neutral faces) are set from these faces first; the other cues keep `calibrate`'s. Then, per
    cue and per expression that neither carries it (`cues.EMOTION_CUES`) nor often shows it (`cues.ALLOWED_WITH`),
    the intensity that only a small share of that expression's faces reach (`SPECIFIC_SHARE`); the naming
    threshold is the highest of these, and never below "noticeable". For the cues reliable enough to contradict
    a reading (`xface.teach.explain.FITS_OTHER_CUES`) the share is `RELIABLE_SHARE` and there is no floor. Past 1
    ("as strong as faces get") a cue is too common on faces without it to be named against a typical face at all;
    against a person's own relaxed face it still is. `xface.teach.explain.show_at` reads it.
    """
    from xface.teach.explain import FITS_OTHER_CUES
    from xface.tools.teaching_check import load_faces

    faces = [face for face in load_faces(readings) if face.mesh is not None]
    labels = np.array([face.label for face in faces])
    settings = cues.calibration()
    raw = np.stack([cues.measure(face.mesh, settings) for face in faces])
    relaxed, strong, noticeable = settings.relaxed.copy(), settings.strong.copy(), settings.noticeable.copy()
    columns = [cues.CUE_NAMES.index(name) for name in rescale]
    relaxed[columns] = np.median(raw[labels == "neutral"][:, columns], axis=0)
    strong[columns] = np.percentile(raw[:, columns] - relaxed[columns], STRONG_PERCENTILE, axis=0)
    settings = replace(settings, relaxed=relaxed, strong=strong)
    values = cues.intensities(raw, settings=settings)
    noticeable[columns] = np.percentile(values[labels == "neutral"][:, columns], NOTICEABLE_PERCENTILE, axis=0)
    values = (raw - settings.relaxed) / settings.strong  # not clipped: a threshold past 1 means never named on photos
    named = noticeable.copy()
    counts = ", ".join(f"{e} {(labels == e).sum()}" for e in EMOTIONS)
    print(f"{len(faces)} faces ({counts}); naming thresholds:")
    for column, name in enumerate(cues.CUE_NAMES):
        without = [e for e in EMOTIONS if name not in cues.EMOTION_CUES[e] + cues.ALLOWED_WITH[e]]
        shows = [e for e in EMOTIONS if name in cues.EMOTION_CUES[e]]
        share = RELIABLE_SHARE if name in FITS_OTHER_CUES else SPECIFIC_SHARE
        worst = max(
            (float(np.quantile(values[labels == e, column], 1 - share)), e) for e in without if (labels == e).sum()
        )
        named[column] = worst[0] if name in FITS_OTHER_CUES else max(named[column], worst[0])
        recall = ", ".join(f"{e} {np.mean(values[labels == e, column] >= named[column]):.0%}" for e in shows)
        if named[column] > 1:
            recall = "never named on photos"
        print(f"  {name:20s} {named[column]:.3f} (set by {worst[1]}); named on {recall}")
    settings = replace(settings, noticeable=noticeable, named=named)
    out.write_text(json.dumps(settings.to_json(), indent=1) + "\n", encoding="utf-8")
    cues.calibration.cache_clear()
    return settings


OWN_LABELS = Path("../shared/data/faces/web_expressions/labels.csv")
"""`file,emotion,person` for every web_expressions photo: who is in each photo, for `own`."""


@dataclass(frozen=True)
class OwnFaces:
    """Labelled photos measured against the same person's relaxed face, as a stream measures a face once it
    knows that face at rest (`CueBaseline`)."""

    values: np.ndarray
    """(N, len(CUE_NAMES)) intensities against the median raw measures of the same person's *other* neutral photos,
    through `cues.intensities(raw, reference)` (so the reference is held as near the typical face as in a stream)."""
    labels: np.ndarray
    """(N,) each photo's label."""
    people: int
    """How many people they show."""


def own_faces(readings: Path, people: Path = OWN_LABELS) -> OwnFaces:
    """Every labelled photo of a person who has at least one *other* photo labelled neutral, against that relaxed
    face (two photos of one person differ in light, pose and age as well, so this errs on the noisy side of a
    stream, whose frames share them)."""
    import csv

    from xface.tools.teaching_check import load_faces

    with people.open(encoding="utf-8", newline="") as handle:
        person = {row["file"]: row["person"] for row in csv.DictReader(handle)}
    faces = [face for face in load_faces(readings) if face.mesh is not None and face.name in person]
    raw = np.stack([cues.measure(face.mesh) for face in faces])
    relaxed: dict[str, list[int]] = {}
    for index, face in enumerate(faces):
        if face.label == "neutral":
            relaxed.setdefault(person[face.name], []).append(index)
    values, labels, seen = [], [], set()
    for index, face in enumerate(faces):
        others = [other for other in relaxed.get(person[face.name], []) if other != index]
        if others:
            values.append(cues.intensities(raw[index], np.median(raw[others], axis=0)))
            labels.append(face.label)
            seen.add(person[face.name])
    return OwnFaces(np.array(values), np.array(labels), len(seen))


def own(readings: Path, out: Path = OUT, people: Path = OWN_LABELS) -> cues.Calibration:
    """Naming thresholds against a person's own relaxed face (a stream once its baseline is ready), made by the rule
    that `specific` uses for photos, on `own_faces`.

    `noticeable_own`: the intensity that only one relaxed photo in ten reaches against another relaxed photo of the
    same person (90th percentile). `named_own`: per cue, beyond what all but SPECIFIC_SHARE of the faces of each
    expression without that cue reach (RELIABLE_SHARE, and no `noticeable_own` floor, for the reliable smile and
    raised brows), and never below `xface.teach.explain.SHOW_CUE_AT`. A cue that, at that threshold, names no more of
    the faces of its own expressions than that share (or whose expressions have no faces here) says nothing about
    them against a person's own face either, and is never named there (`named_own` at least 1).
    """
    from xface.teach.explain import FITS_OTHER_CUES, SHOW_CUE_AT

    faces = own_faces(readings, people)
    values, labels = faces.values, faces.labels
    counts = ", ".join(f"{e} {(labels == e).sum()}" for e in EMOTIONS if (labels == e).sum())
    print(
        f"{len(labels)} photos of {faces.people} people, each against the same person's other neutral photos ({counts})"
    )
    settings = cues.calibration()
    noticeable = np.percentile(values[labels == "neutral"], NOTICEABLE_PERCENTILE, axis=0)
    named = noticeable.copy()
    for column, name in enumerate(cues.CUE_NAMES):
        without = [e for e in EMOTIONS if name not in cues.EMOTION_CUES[e] + cues.ALLOWED_WITH[e]]
        shows = [e for e in EMOTIONS if name in cues.EMOTION_CUES[e] and (labels == e).sum()]
        share = RELIABLE_SHARE if name in FITS_OTHER_CUES else SPECIFIC_SHARE
        worst = max(
            (float(np.quantile(values[labels == e, column], 1 - share)), e) for e in without if (labels == e).sum()
        )
        floor = SHOW_CUE_AT if name in FITS_OTHER_CUES else max(SHOW_CUE_AT, noticeable[column])
        named[column] = max(floor, worst[0])
        recall = {e: float(np.mean(values[labels == e, column] >= named[column])) for e in shows}
        said = ", ".join(f"{e} {hit:.0%}" for e, hit in recall.items()) or "no faces of its own expressions"
        if max(recall.values(), default=0.0) <= share:
            named[column] = max(1.0, named[column])
            said += ": never named"
        print(
            f"  {name:20s} {named[column]:.3f} (set by {worst[1]}; relaxed {noticeable[column]:.3f}); named on {said}"
        )
    settings = replace(settings, noticeable_own=noticeable, named_own=named)
    out.write_text(json.dumps(settings.to_json(), indent=1) + "\n", encoding="utf-8")
    cues.calibration.cache_clear()
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("calibrate", "auc", "photos", "mirror", "specific", "own"))
    parser.add_argument(
        "--readings", type=Path, help="for `specific` and `own`: faces read by `xface teaching-check --save`"
    )
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--npz", type=Path, default=Path("../shared/data/fer2013.npz"))
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument("--labels", default="fer2013", choices=("fer2013", "ferplus"), help="labels for `auc`")
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        calibrate(args.npz)
    elif args.command == "photos":
        photos(args.photos)
    elif args.command == "mirror":
        mirror(args.photos)
    elif args.command == "specific":
        specific(args.readings)
    elif args.command == "own":
        own(args.readings)
    else:
        report(args.npz, args.split, args.labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
