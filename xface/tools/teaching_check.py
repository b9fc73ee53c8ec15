"""`xface teaching-check`: does what Xface says about a face agree with that face?

A person with alexithymia cannot check the words, so the words must not contradict the answer.
Every labelled face of web_expressions, ckplus_dev and FER2013 validation (faces with a clear FER+
crowd majority) goes through the whole pipeline (MTCNN, alignment, the model, the face mesh, the cues)
and, on the faces Xface reads correctly, the words the app would show are checked:

* contradicting cue: a cue is named that belongs to another expression and not to this one
  (`xface.vision.cues.EMOTION_CUES`; `ALLOWED_WITH` lists the few that also go with it);
* other emotion: the "What the face is doing" text names another emotion ("That fits sad more than happy");
* lead cue: happy and surprised faces get their lead cue named (lip corners up; brows raised);
* neutral cue: a neutral face gets some cue named (it should read as a face at rest).

Readings can be saved (`--save`) and measured again later (`--readings`) with the cues measured
anew from the saved meshes, so a change to the cues or the words is measured in seconds.

`--clip FILE` checks a video the way Live practice, Mirror and Watch read a camera: through the stream path
(`xface.vision.video.read_video`: faces followed, readings smoothed and held, cues against the face's own relaxed
face once the stream has learnt it). A clip has no labels, so each frame's label is Xface's own reading, and only
frames it reads with confidence (at least `CONFIDENT`) count: the check asks whether the words agree with what
Xface says the face shows, not whether Xface is right.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xface.emotions import EMOTIONS
from xface.teach.explain import CLEAR_AT, face_doing, named_cues, texts
from xface.tools.metrics import ferplus_majority
from xface.vision.cues import as_dict, goes_with, intensities, measure
from xface.vision.images import printable_name

if TYPE_CHECKING:  # the models load only when faces are read
    from xface.vision.pipeline import Analyzer

SETS = ("web_expressions", "ckplus_dev", "fer2013_val")
CLEAR_MAJORITY = 0.5
"""A FER2013 face counts when at least this share of its FER+ annotators chose one emotion (and more than any other)."""
TARGETS = {"contradicting": 0.10, "other_emotion": 0.05, "lead_happy": 0.60, "lead_surprise": 0.60, "neutral_cue": 0.30}
"""Issue 22's targets: the first two and the last are ceilings, the lead-cue shares floors."""
LEAD = {"happy": "lip_corner_pull", "surprise": "brow_raise"}
CONFIDENT = CLEAR_AT
"""A clip's frame counts when Xface reads it at least this sure (the "clear" band's floor)."""


@dataclass(frozen=True)
class Face:
    """One labelled face read through the whole pipeline (the largest face in its picture)."""

    source: str
    name: str
    label: str
    emotion: str
    """Xface's reading."""
    mesh: np.ndarray | None = field(repr=False, compare=False)
    """Face mesh (468, 3) in pixels, or None when no mesh was fitted (no cues are then named)."""


TRAIN_SET = "fer2013_train"
"""FER2013 training faces with a clear crowd majority, in a fixed random order: for calibrating the naming
thresholds (`scripts/cue_calibration.py specific`), never for the check itself."""
TRAIN_FACES = 7501
"""How many training faces `TRAIN_SET` reads: the bundled thresholds came from these (6,313 of them with a mesh)."""


def labelled_pictures(data: Path, source: str) -> list[tuple[str, str, np.ndarray | Path]]:
    """(name, label, picture) for every labelled picture of a set; FER2013 faces as grey 48×48 arrays."""
    if source in ("fer2013_val", TRAIN_SET):
        split = "val" if source == "fer2013_val" else "train"
        npz = np.load(data / "fer2013.npz")
        votes, columns = npz[f"ferplus_votes_{split}"], [str(c) for c in npz["ferplus_columns"]]
        majority = ferplus_majority(votes, columns)
        top_share = votes.clip(0).max(1) / np.maximum(votes.clip(0).sum(1), 1)
        keep = np.flatnonzero((majority >= 0) & (top_share >= CLEAR_MAJORITY))
        if split == "train":
            keep = np.random.default_rng(0).permutation(keep)[:TRAIN_FACES]
        faces = npz[f"x_{split}"]  # read once: each npz["x_..."] reads the whole array again
        return [
            (f"{split}_{index}", EMOTIONS[majority[index]], np.repeat(faces[index][..., None], 3, -1)) for index in keep
        ]
    folder = data / "faces" / source
    return [
        (f"{sub.name}/{path.name}", sub.name, path)
        for sub in sorted(folder.iterdir())
        if sub.is_dir() and sub.name in EMOTIONS
        for path in sorted(sub.iterdir())
        if path.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]


def read_faces(
    data: Path, sources: tuple[str, ...] = SETS, every: int = 1, analyzer: Analyzer | None = None
) -> list[Face]:
    """Every `every`-th labelled picture of each set through the whole pipeline (pictures without a face left out),
    on one thread unless an analyzer is given."""
    from xface.vision.pipeline import Analyzer

    analyzer = analyzer or Analyzer(threads=1)
    faces = []
    for source in sources:
        pictures = labelled_pictures(data, source)[::every]
        print(f"{source}: reading {len(pictures)} pictures", file=sys.stderr, flush=True)
        for name, label, picture in pictures:
            readings = analyzer.analyze(picture)
            if readings:
                faces.append(Face(source, name, label, readings[0].emotion, readings[0].mesh))
    return faces


def save_faces(faces: list[Face], path: Path) -> None:
    """The readings (labels, Xface's answer, meshes) as one .npz, to measure word changes again quickly."""
    np.savez_compressed(
        path,
        source=np.array([f.source for f in faces]),
        name=np.array([f.name for f in faces]),
        label=np.array([f.label for f in faces]),
        emotion=np.array([f.emotion for f in faces]),
        has_mesh=np.array([f.mesh is not None for f in faces]),
        mesh=np.stack([f.mesh if f.mesh is not None else np.zeros((468, 3)) for f in faces]),
    )


def load_faces(path: Path) -> list[Face]:
    data = np.load(path)
    return [
        Face(str(s), str(n), str(lab), str(e), m if has else None)
        for s, n, lab, e, has, m in zip(
            data["source"], data["name"], data["label"], data["emotion"], data["has_mesh"], data["mesh"], strict=True
        )
    ]


@dataclass
class TeachingTruth:
    """Shares of the faces read correctly (each over its own group; None where the group is empty)."""

    faces: int
    read_right: int
    contradicting: float | None
    other_emotion: float | None
    lead_happy: float | None
    lead_surprise: float | None
    neutral_cue: float | None
    contradicting_cues: dict[str, int]
    """How often each cue was the contradicting one, as "emotion: cue"."""
    own_face: int = 0
    """How many of the faces counted had their cues measured against the person's own relaxed face (a clip's frames
    once the stream has learnt it; never a photo)."""

    def misses(self) -> list[str]:
        """The targets this measure misses, in words."""
        out = []
        for key, target in TARGETS.items():
            value = getattr(self, key)
            if value is None:
                continue
            ceiling = not key.startswith("lead")
            if (value > target) if ceiling else (value < target):
                out.append(f"{key} {value:.1%} ({'≤' if ceiling else '≥'} {target:.0%})")
        return out


def _share(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def other_emotions_named(text: str, emotion: str) -> list[str]:
    """The emotion words (as the texts spell them) in `text` other than `emotion`'s."""
    words = set(text.lower().replace(".", " ").replace(",", " ").split())
    labels = {e: texts()["emotions"][e]["label"] for e in EMOTIONS}
    return [e for e, label in labels.items() if e != emotion and label in words]


@dataclass(frozen=True)
class Worded:
    """What the words are checked against for one face: its label, Xface's reading and the cues the words use."""

    label: str
    emotion: str
    cues: dict[str, float] | None
    typical: bool = True
    """Whether the cues were measured against a typical relaxed face (else the person's own)."""
    confidence: float | None = None
    """How sure the reading was, where the words are given it (the app's cards and the Watch page are)."""


def judge(faces: list[Worded], total: int) -> TeachingTruth:
    """Check the words on the faces whose reading is their label (`total`: all faces looked at)."""
    right = [f for f in faces if f.emotion == f.label]
    contradicting, other, neutral = [], [], []
    lead: dict[str, list[bool]] = {e: [] for e in LEAD}
    culprits: Counter[str] = Counter()
    for face in right:
        named = named_cues(face.cues, face.typical) if face.cues is not None else []
        if face.label == "neutral":
            neutral.append(bool(named))
        else:
            against = [n for n in named if n not in goes_with(face.label)]
            contradicting.append(bool(against))
            culprits.update(f"{face.label}: {n}" for n in against)
        words = face_doing(face.label, face.cues, face.typical, face.confidence)
        other.append(bool(other_emotions_named(words, face.label)))
        if face.label in LEAD:
            lead[face.label].append(LEAD[face.label] in named)
    return TeachingTruth(
        faces=total,
        read_right=len(right),
        contradicting=_share(contradicting),
        other_emotion=_share(other),
        lead_happy=_share(lead["happy"]),
        lead_surprise=_share(lead["surprise"]),
        neutral_cue=_share(neutral),
        contradicting_cues=dict(culprits.most_common()),
        own_face=sum(not f.typical for f in right),
    )


def measure_truth(faces: list[Face]) -> TeachingTruth:
    """Check the words on the faces read correctly; the cues are measured anew from each mesh."""
    worded = [
        Worded(f.label, f.emotion, None if f.mesh is None else as_dict(intensities(measure(f.mesh)))) for f in faces
    ]
    return judge(worded, len(faces))


def read_clip(path: Path, analyzer: Analyzer | None = None) -> tuple[list[Worded], int]:
    """A clip's frames through the stream path, as `xface analyze` reads a video: the largest face of each frame
    Xface reads at least CONFIDENT sure, labelled with that reading, and how many frames had a face."""
    from xface.vision.pipeline import Analyzer
    from xface.vision.video import read_video

    confident, seen = [], 0
    for frame in read_video(analyzer or Analyzer(threads=1), path):
        if not frame.readings:
            continue
        seen += 1
        reading = frame.readings[0]
        if reading.confidence >= CONFIDENT:
            confident.append(
                Worded(reading.emotion, reading.emotion, reading.cues, reading.cues_against_typical, reading.confidence)
            )
    return confident, seen


def measure_clip(path: Path, analyzer: Analyzer | None = None) -> dict[str, TeachingTruth]:
    """The five shares on a clip's confident frames (see `read_clip`; `faces` counts frames with a face): all of
    them ("all"), and those whose cues were measured against the person's own relaxed face ("own face"; the first
    ones are measured against a typical face, as a photo is, until the stream has learnt this one)."""
    confident, seen = read_clip(path, analyzer)
    return {"all": judge(confident, seen), "own face": judge([f for f in confident if not f.typical], seen)}


def measure_all(faces: list[Face]) -> dict[str, TeachingTruth]:
    """Per set, and all sets together ("all")."""
    results = {source: measure_truth([f for f in faces if f.source == source]) for source in (*SETS, TRAIN_SET)}
    results["all"] = measure_truth(faces)
    return {k: v for k, v in results.items() if v.faces}


def format_truth(results: dict[str, TeachingTruth], clips: bool = False) -> str:
    """The table; for clips the columns count frames with a face and frames read with confidence, and say how many
    of those were measured against the person's own relaxed face."""

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    counted = "frames with a face | confident" if clips else "faces | read right"
    lines = [
        f"| {'clip' if clips else 'set'} | {counted} | contradicting cue | other emotion | lead cue happy "
        "| lead cue surprised | some cue on neutral |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for source, truth in results.items():
        lines.append(
            f"| {source} | {truth.faces} | {truth.read_right} | {cell(truth.contradicting)} | "
            f"{cell(truth.other_emotion)} | {cell(truth.lead_happy)} | {cell(truth.lead_surprise)} | "
            f"{cell(truth.neutral_cue)} |"
        )
    if clips:
        lines.append(
            f"A clip has no labels: each frame's label is Xface's own reading, on frames read at least {CONFIDENT:.0%} "
            "sure (largest face); 'own face': once the stream has learnt this face at rest."
        )
    summed = results if clips else {k: v for k, v in results.items() if k == "all"}
    for source, total in summed.items():
        top = ", ".join(f"{k} {v}" for k, v in list(total.contradicting_cues.items())[:8])
        where = f"{source}: " if clips else ""
        lines.append(f"{where}Most common contradicting cues: {top or 'none'}")
        lines.append(f"{where}Targets missed: {', '.join(total.misses()) or 'none'}")
    return "\n".join(lines)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """The `teaching-check` subcommand (kept here so cli.py only registers it)."""
    check = commands.add_parser("teaching-check", help="do the cue words agree with faces Xface reads correctly?")
    check.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder with fer2013.npz and faces/")
    check.add_argument("--every", type=int, default=1, help="read every N-th picture of each set (quicker runs)")
    check.add_argument(
        "--sets",
        nargs="+",
        default=list(SETS),
        choices=[*SETS, TRAIN_SET],
        help="which sets to read (calibration: "
        f"{TRAIN_SET} --save, then scripts/cue_calibration.py specific --readings)",
    )
    check.add_argument("--save", type=Path, metavar="FILE", help="save the readings (.npz) to measure again later")
    check.add_argument("--readings", type=Path, metavar="FILE", help="measure saved readings instead of reading")
    check.add_argument("--json", type=Path, metavar="FILE", help="write the figures here too")
    check.add_argument(
        "--clip",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="check videos instead, through the stream path (labels: Xface's own confident readings)",
    )
    check.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    if args.clip:
        from xface.vision.pipeline import Analyzer

        analyzer = Analyzer(threads=1)
        results = {
            f"{printable_name(path.name)}, {part}": truth
            for path in args.clip
            for part, truth in measure_clip(path, analyzer).items()
        }
        print(format_truth(results, clips=True))
    else:
        faces = (
            load_faces(args.readings) if args.readings else read_faces(args.data, tuple(args.sets), every=args.every)
        )
        if args.save:
            save_faces(faces, args.save)
        results = measure_all(faces)
        print(format_truth(results))
    if args.json:
        args.json.write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=1) + "\n")
    return 0
