"""Rebuild Xface's practice bank (xface/teach/practice_bank/) from FER2013's training split and the FER+ votes.

    python scripts/build_practice_bank.py [--npz ../shared/data/fer2013.npz] [--seed 2013]

Only training faces are used, so no face the model is evaluated on enters the app. A face is a
candidate when its FER+ row is known (not -1), its most-voted Xface emotion is unique and has at
least half the votes, and neither "not a face" nor "unknown" got as many votes as that emotion.
Contempt, unknown and not-a-face votes count as people who did not choose the emotion.

Per emotion and level (see xface.teach.practice.level_of) up to PER_CELL faces are drawn at random
(seeded); disgust is rare, so every disgust face with at least 6 of 10 votes is kept. A face is
left out when it is a near-duplicate (xface.teach.practice.face_hash within NEAR_DUPLICATE bits, itself
or mirrored) of a face already chosen or of any validation face, and when its pixels are exactly
those of another chosen face. The PNGs keep the 48×48 originals; file names say nothing about the
answer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's xface, whichever one is installed

from xface.emotions import EMOTIONS  # noqa: E402
from xface.teach.practice import BANK_FOLDER, MANIFEST, face_hash, hash_distance, level_of  # noqa: E402

DEFAULT_NPZ = ROOT.parent / "shared" / "data" / "fer2013.npz"
OUT = ROOT / "xface" / "teach" / BANK_FOLDER
PER_CELL = 24
"""Faces per emotion and level: 3 levels × 24 = 72 per emotion where the data has them."""
NEAR_DUPLICATE = 28
"""Hash bits (of 256) within which two faces count as the same picture. Looked at by eye on
validation faces and their nearest training face: under 24 bits nearly all pairs are one photo,
at 24–30 about one in four; different faces differ in about 128."""
DISGUST_MIN_VOTES = 6
FERPLUS_TO_XFACE = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
}
OTHER_COLUMNS = {"contempt": "contempt", "unknown": "unknown", "NF": "not_a_face"}


def candidates(votes: np.ndarray, columns: list[str]) -> list[dict]:
    """Every training face the crowd read clearly enough for some level, with its votes by Xface name."""
    emotion_columns = [columns.index(name) for name in FERPLUS_TO_XFACE]
    unknown, not_face = columns.index("unknown"), columns.index("NF")
    found = []
    for index, row in enumerate(votes):
        if (row < 0).any():
            continue
        raters = int(row.sum())
        emotion_votes = row[emotion_columns]
        top = int(emotion_votes.max())
        if raters == 0 or (emotion_votes == top).sum() > 1 or max(row[unknown], row[not_face]) >= top:
            continue
        emotion = FERPLUS_TO_XFACE[list(FERPLUS_TO_XFACE)[int(emotion_votes.argmax())]]
        agreement = top / raters
        level = level_of(agreement)
        if level is None or (emotion == "disgust" and top < DISGUST_MIN_VOTES):
            continue
        found.append(
            {
                "source_index": index,
                "emotion": emotion,
                "votes": {FERPLUS_TO_XFACE[name]: int(row[columns.index(name)]) for name in FERPLUS_TO_XFACE},
                "other_votes": {ours: int(row[columns.index(theirs)]) for theirs, ours in OTHER_COLUMNS.items()},
                "raters": raters,
                "agreement": round(agreement, 3),
                "level": level,
            }
        )
    return found


def choose(found: list[dict], faces: np.ndarray, val_faces: np.ndarray, seed: int) -> tuple[list[dict], dict]:
    """Up to PER_CELL faces per emotion and level (all disgust), skipping duplicates; also the counts skipped."""
    rng = random.Random(seed)
    val_hashes = np.stack([face_hash(face) for face in val_faces])
    kept_hashes: list[np.ndarray] = []
    kept_digests: set[str] = set()
    chosen: list[dict] = []
    skipped = {"exact": 0, "near": 0, "validation": 0}
    for emotion in EMOTIONS:
        for level in (1, 2, 3):
            cell = [item for item in found if item["emotion"] == emotion and item["level"] == level]
            rng.shuffle(cell)
            taken = 0
            for item in cell:
                if emotion != "disgust" and taken >= PER_CELL:
                    break
                pixels = faces[item["source_index"]]
                digest = hashlib.sha256(pixels.tobytes()).hexdigest()
                looks = (face_hash(pixels), face_hash(pixels[:, ::-1]))
                if digest in kept_digests:
                    skipped["exact"] += 1
                    continue
                if any(hash_distance(h, val_hashes).min() <= NEAR_DUPLICATE for h in looks):
                    skipped["validation"] += 1
                    continue
                if kept_hashes and any(hash_distance(h, np.stack(kept_hashes)).min() <= NEAR_DUPLICATE for h in looks):
                    skipped["near"] += 1
                    continue
                kept_digests.add(digest)
                kept_hashes.append(looks[0])
                chosen.append(item)
                taken += 1
    return chosen, skipped


def write_bank(chosen: list[dict], faces: np.ndarray, seed: int, out: Path = OUT) -> dict:
    """PNG files with opaque names (shuffled order) and the manifest; the folder is replaced."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    order = list(chosen)
    random.Random(seed + 1).shuffle(order)  # ids say nothing about emotion or level
    manifest_faces = []
    for number, item in enumerate(order, start=1):
        face_id = f"face-{number:03d}"
        file = f"{face_id}.png"
        Image.fromarray(faces[item["source_index"]]).save(out / file, optimize=True)
        manifest_faces.append({"id": face_id, "file": file, **item})
    manifest = {
        "source": (
            "FER2013 training split (Kaggle 'Challenges in Representation Learning: Facial Expression "
            "Recognition', Goodfellow et al. 2013, research use); answers from FER+ crowd votes "
            "(microsoft/FERPlus, MIT licence, Barsoum et al. 2016)"
        ),
        "built_by": f"scripts/build_practice_bank.py --seed {seed}",
        "faces": manifest_faces,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def build(npz: Path = DEFAULT_NPZ, seed: int = 2013, out: Path = OUT) -> tuple[list[dict], dict]:
    """Choose and write the bank; returns the chosen faces and how many duplicates were skipped."""
    data = np.load(npz)
    columns = [str(name) for name in data["ferplus_columns"]]
    found = candidates(data["ferplus_votes_train"].astype(int), columns)
    chosen, skipped = choose(found, data["x_train"], data["x_val"], seed)
    write_bank(chosen, data["x_train"], seed, out)
    return chosen, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npz", type=Path, default=DEFAULT_NPZ)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    chosen, skipped = build(args.npz, args.seed, args.out)
    size = sum(path.stat().st_size for path in args.out.iterdir())
    print(f"{len(chosen)} faces, {size / 1024:.0f} KiB in {args.out}; skipped {skipped}")
    for emotion in EMOTIONS:
        per_level = [sum(1 for f in chosen if f["emotion"] == emotion and f["level"] == lv) for lv in (1, 2, 3)]
        counts = " ".join(f"{n:3d}" for n in per_level)
        print(f"  {emotion:9s} level 1/2/3: {counts}, {sum(per_level)} in all")


if __name__ == "__main__":
    main()
