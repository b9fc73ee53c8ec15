"""Xface's own practice faces: FER2013 training faces chosen by how the FER+ crowd read them.

Each face was labelled by 10 people (FER+). A face's answer is the emotion most of them chose, its
``agreement`` the share who chose it, and its level how far they agreed: Level 1 at least 9 of 10,
Level 2 7–8, Level 3 5–6 (people disagree, as they do about real faces). The faces ship as their
48×48 originals (``xface/teach/practice_bank/``, rebuilt by ``scripts/build_practice_bank.py``) and are
up-scaled with a Lanczos filter only for display, so the package stays small.

Scoring against the crowd. A guess that matches the majority is "right". A guess that matches a
sizeable minority, at least ``SHARED_AT`` (3) of the 10 people, is "shared": some people see it
that way too, so it is neither right nor wrong. Anything else is "wrong".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
from PIL import Image

from xface.emotions import EMOTIONS, emotion_word

__all__ = [
    "BANK_FOLDER",
    "DISPLAY_SIZE",
    "LEVELS",
    "SHARED_AT",
    "BankFace",
    "crowd_sentence",
    "crowd_verdict",
    "face_hash",
    "hash_distance",
    "level_of",
    "load_bank",
]

BANK_FOLDER = "practice_bank"
"""The bank's folder inside the xface package: PNGs and manifest.json."""
MANIFEST = "manifest.json"
DISPLAY_SIZE = 240
"""Side in pixels of a bank face on screen (up-scaled from 48 with Lanczos)."""
SHARED_AT = 3
"""Votes (of 10) from which a minority reading counts as shared: three people are not a slip of one."""
LEVELS: dict[int, str] = {
    1: "Level 1: faces almost everyone reads the same way (9 or 10 of 10 people agree)",
    2: "Level 2: most people agree (7 or 8 of 10)",
    3: "Level 3: people disagree (5 or 6 of 10 agree)",
}
OTHER_VOTES: dict[str, str] = {
    "contempt": "said contempt",
    "unknown": "could not tell",
    "not_a_face": "said it is not a face",
}
"""FER+ choices outside Xface's seven emotions, as the crowd sentence words them."""


def level_of(agreement: float) -> int | None:
    """The level for a share of agreeing people, or None when fewer than half agree."""
    if agreement >= 0.9:
        return 1
    if agreement >= 0.7:
        return 2
    if agreement >= 0.5:
        return 3
    return None


@dataclass(frozen=True)
class BankFace:
    """One practice face and how the crowd read it."""

    id: str
    file: str
    emotion: str
    """The emotion most of the people chose (one of EMOTIONS)."""
    votes: dict[str, int] = field(hash=False)
    """Every one of EMOTIONS → how many people chose it."""
    other_votes: dict[str, int] = field(hash=False)
    """Choices outside the seven: contempt, unknown (could not tell), not_a_face."""
    raters: int
    agreement: float
    """Share of the raters who chose ``emotion``."""
    level: int
    source_index: int
    """Row of the face in fer2013.npz's training split."""
    image: np.ndarray = field(repr=False, compare=False, hash=False)
    """The 48×48 grey original."""

    def display_image(self, size: int = DISPLAY_SIZE) -> Image.Image:
        """The face up-scaled for the screen with a Lanczos filter (sharp edges, no blocks)."""
        return Image.fromarray(self.image).resize((size, size), Image.Resampling.LANCZOS).convert("RGB")


@cache
def _all_faces() -> tuple[BankFace, ...]:
    folder = resources.files(__package__).joinpath(BANK_FOLDER)
    manifest = json.loads(folder.joinpath(MANIFEST).read_text(encoding="utf-8"))
    faces = []
    for item in manifest["faces"]:
        with folder.joinpath(item["file"]).open("rb") as handle:
            pixels = np.asarray(Image.open(handle).convert("L"))
        faces.append(
            BankFace(
                id=item["id"],
                file=item["file"],
                emotion=item["emotion"],
                votes={emotion: int(item["votes"].get(emotion, 0)) for emotion in EMOTIONS},
                other_votes={name: int(item["other_votes"].get(name, 0)) for name in OTHER_VOTES},
                raters=int(item["raters"]),
                agreement=float(item["agreement"]),
                level=int(item["level"]),
                source_index=int(item["source_index"]),
                image=pixels,
            )
        )
    return tuple(faces)


def load_bank(level: int | None = None, emotions: Iterable[str] | None = None) -> list[BankFace]:
    """The practice faces, all or those of one level and of the chosen emotions (read once, then cached)."""
    wanted = set(EMOTIONS if emotions is None else emotions)
    if unknown := wanted - set(EMOTIONS):
        raise ValueError(f"Unknown emotions: {', '.join(sorted(unknown))}.")
    if level is not None and level not in LEVELS:
        raise ValueError(f"A level is one of {', '.join(map(str, LEVELS))}, not {level!r}.")
    return [face for face in _all_faces() if face.emotion in wanted and (level is None or face.level == level)]


def crowd_verdict(face: BankFace, guess: str) -> str:
    """ "right" for the majority's emotion, "shared" for a minority of at least SHARED_AT people, else "wrong"."""
    if guess == face.emotion:
        return "right"
    if face.votes.get(guess, 0) >= SHARED_AT:
        return "shared"
    return "wrong"


def crowd_sentence(face: BankFace) -> str:
    """How the people read this face: "8 of 10 people said sad, 2 said neutral."."""
    counts = sorted(((n, emotion) for emotion, n in face.votes.items() if n), key=lambda pair: (-pair[0], pair[1]))
    parts = [f"said {emotion_word(emotion)}" for _, emotion in counts]
    numbers = [n for n, _ in counts]
    for name, n in face.other_votes.items():
        if n:
            parts.append(OTHER_VOTES[name])
            numbers.append(n)
    first = f"{numbers[0]} of {face.raters} people {parts[0]}"
    rest = [f"{n} {part}" for n, part in zip(numbers[1:], parts[1:], strict=True)]
    return ", ".join([first, *rest]) + "."


def face_hash(pixels: np.ndarray) -> np.ndarray:
    """A 256-bit average hash (16×16 cells brighter than the face's mean), packed in 32 bytes.

    Near-identical pictures (the same photo re-cropped, re-compressed or a little brighter, which
    FER2013 holds many of) differ in few bits; different faces in about half.
    """
    small = np.asarray(Image.fromarray(np.asarray(pixels, np.uint8)).resize((16, 16), Image.Resampling.BOX), np.float32)
    return np.packbits((small > small.mean()).ravel())


def hash_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing bits between one hash ``a`` and one or many hashes ``b`` (rows)."""
    return np.bitwise_count(np.bitwise_xor(np.atleast_2d(b), a)).sum(axis=-1)
