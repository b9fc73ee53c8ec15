"""What a face is doing, measured: ten facial cues from the face mesh, each an intensity in [0, 1].

A label ("sad") is an inference; a cue ("the lip corners go down") is a measurement a person can
check on the face and learn to see. Each cue approximates one or two FACS action units (AUs).

How a cue is measured (see `measure` and `CUE_POINTS`):

1. The 468 mesh points (x, y, z) are turned to face the camera: a rotation, scale and shift fitted
   (Kabsch/Procrustes) on points that expressions hardly move (eye corners, nose bridge, temples)
   onto the same points of a canonical mesh, the mean of relaxed FER2013 faces. So a turned or
   tilted head gives the same numbers as a frontal one, and distances are in units of the
   canonical face (inter-ocular distance ≈ 1), whatever the face's size in the picture.
2. Each cue is a plain height, width or depth in that frame, or a few of them added up or divided
   (the mouth's opening over its width), documented per cue in `CUE_POINTS`.
3. The raw value is compared with a reference: for a photo, a typical relaxed face (the median
   over FER+ neutral-majority training faces); in a stream, the same person's own relaxed face
   once Xface has seen it (`CueBaseline`). The difference is divided by "as strong as faces get"
   (the 98th percentile of the difference over all training faces) and clipped to [0, 1].

The constants live in ``cue_calibration.json`` beside this module (numbers only, no face data);
``python scripts/cue_calibration.py calibrate`` makes them from FER2013's training split; its
``auc``, ``photos`` and ``mirror`` commands report how well each cue separates the expressions it
belongs to (validation faces, real photos) and how steady it is on real photos.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

__all__ = [
    "CUE_NAMES",
    "CUE_MEASURED_FROM",
    "ALLOWED_WITH",
    "EMOTION_CUES",
    "Calibration",
    "CueBaseline",
    "as_dict",
    "calibration",
    "goes_with",
    "intensities",
    "measure",
]

CUE_NAMES: tuple[str, ...] = (
    "brow_raise",
    "brow_lower",
    "upper_lid_raise",
    "cheek_raise",
    "nose_wrinkle",
    "lip_corner_pull",
    "lip_corner_depress",
    "lip_stretch",
    "lip_press",
    "jaw_drop",
)
"""The ten cues, top of the face to the bottom."""

EMOTION_CUES: dict[str, tuple[str, ...]] = {
    "angry": ("brow_lower", "lip_press", "upper_lid_raise"),
    "disgust": ("nose_wrinkle", "brow_lower", "lip_corner_depress"),
    "fear": ("upper_lid_raise", "lip_stretch", "brow_raise", "brow_lower", "jaw_drop"),
    "happy": ("lip_corner_pull", "cheek_raise"),
    "sad": ("lip_corner_depress", "brow_lower"),
    "surprise": ("brow_raise", "jaw_drop", "upper_lid_raise"),
    "neutral": (),
}
"""For each emotion, the cues that carry it, strongest first (Ekman and Friesen's prototypes:
anger AU4+5+23/24, disgust AU9+10+15, fear AU1+2+4+5+20+26, happiness AU6+12, sadness AU1+4+15,
surprise AU1+2+5+26)."""

ALLOWED_WITH: dict[str, tuple[str, ...]] = {
    "angry": ("jaw_drop", "nose_wrinkle"),
    "disgust": ("cheek_raise", "jaw_drop", "lip_press"),
    "fear": (),
    "happy": ("jaw_drop",),
    "sad": ("brow_raise", "cheek_raise", "lip_press"),
    "surprise": (),
    "neutral": (),
}
"""For each emotion, cues that often go with it without speaking against it: the other action units of its EMFACS
variants (Friesen and Ekman, 1983): anger with the upper lip raised (AU10) and the mouth open (AU25/26), disgust
with the chin raised (AU17) or the mouth open and the cheeks pushed up by the nose wrinkle, happiness laughing
(AU25/26), sadness with its inner brows raised (AU1, half of what `brow_raise` measures), the chin raised (AU17)
or the cheeks raised (AU6, crying). The words never call these
cues a sign of another expression on such a face, and the mirror coach never tells a person to undo them."""


def goes_with(emotion: str) -> tuple[str, ...]:
    """The cues that never speak against `emotion`: those that carry it, then those that often go with it."""
    return EMOTION_CUES[emotion] + ALLOWED_WITH[emotion]


BASELINE_WINDOW = 300
"""Analysed frames a stream remembers per face for its running baseline (about a minute)."""
BASELINE_READY_AFTER = 15
"""Frames of a face before its own baseline replaces the typical relaxed face (about 3 s)."""
BASELINE_RELAXED_SHARE = 0.3
"""The running baseline is the median of this share of remembered frames that moved least."""
BASELINE_MAX_SHIFT = 1 / 3
"""A person's relaxed face may differ from the typical one by at most this share of the full scale
(`Calibration.strong`) per cue. Resting faces differ less than expressions do, and a face that
smiles for the whole minute it is watched must still read as smiling."""


class CueBaseline:
    """One tracked face's relaxed face, learned from the stream, so cues measure change on *this* face.

    Some faces rest with low brows or down-turned lip corners; against a typical face they would
    always read as "brows pulled down". Without a capture, the baseline keeps running: it is the
    median of the frames in the recent window in which the face moved least, so a long smile does not
    become the baseline. The stream says how far each frame is from rest by how far Xface's reading is
    from neutral (`AnalyzerStream`): a face's own build (a wide mouth, high brows) is not movement, and
    on a clip that never rests (crying, then laughing) the frames that look most at rest are still the
    ones to learn from. `capture` starts a fresh one from the next frames (the person holds a relaxed
    face) and then keeps it fixed.
    """

    def __init__(self, window: int = BASELINE_WINDOW, ready_after: int = BASELINE_READY_AFTER) -> None:
        self.window = window
        self.ready_after = ready_after
        # Ring buffers, not lists of arrays: the live path asks for the reference every frame.
        self._raw = np.zeros((window, len(CUE_NAMES)))
        self._movement = np.zeros(window)
        self._seen = 0
        self._captured: np.ndarray | None = None
        self._capturing = False

    def capture(self) -> None:
        """Forget what was seen and learn the relaxed face from the next frames, then hold it."""
        self._seen = 0
        self._captured = None
        self._capturing = True

    @property
    def ready(self) -> bool:
        return self._captured is not None or (not self._capturing and self._seen >= self.ready_after)

    @property
    def capturing(self) -> bool:
        return self._capturing

    def add(self, raw: np.ndarray, movement: float) -> None:
        """Remember one frame's raw measures and how far it was from rest (any scale: only the order counts)."""
        if self._captured is not None:
            return
        slot = self._seen % self.window
        self._raw[slot] = raw
        self._movement[slot] = movement
        self._seen += 1
        if self._capturing and self._seen >= self.ready_after:
            self._captured = np.median(self._raw[: self._seen], axis=0)
            self._capturing = False

    def reference(self) -> np.ndarray | None:
        """This face's relaxed raw measures, or None until ready."""
        if self._captured is not None:
            return self._captured
        if not self.ready:
            return None
        remembered = min(self._seen, self.window)
        keep = max(self.ready_after // 2, int(remembered * BASELINE_RELAXED_SHARE))
        calm = np.argpartition(self._movement[:remembered], keep - 1)[:keep]
        return np.median(self._raw[calm], axis=0)


# --- geometry ----------------------------------------------------------------------------------

RIGID_POINTS: tuple[int, ...] = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9, 127, 356, 234, 454)
"""Mesh points that expressions hardly move (eye corners, nose bridge and tip, mid-forehead, temples):
the head pose is fitted on them."""

EYES = {"right": (33, 133, 159, 145), "left": (263, 362, 386, 374)}
"""Per eye: outer corner, inner corner, upper lid centre, lower lid centre (the person's right is image left)."""
BROWS = (46, 53, 52, 65, 55, 276, 283, 282, 295, 285)
"""Lower edge of both brows, outer to inner."""
UNDER_BROWS = (113, 225, 224, 223, 222, 221, 189, 342, 445, 444, 443, 442, 441, 413)
"""The skin right under both brows, above the eye's fold, outer to inner (MediaPipe's outermost upper eye contour):
raised brows stretch it up (FACS: AU1+2 "stretch the skin below the brow")."""
BROWS_UPPER = (70, 63, 105, 66, 107, 300, 293, 334, 296, 336)
"""Upper edge of both brows, outer to inner (each above the BROWS point at the same place)."""
BROW_TILT_WEIGHT = 2.6
"""How much the brows' tilt back (depth of the upper edge behind the lower edge) counts in
`brow_raise` against the height of the skin under them: half the height's spread over training faces, as with the
jaw's share in `lip_corner_depress` (the tilt's spread is 0.0053, the height's 0.028 inter-ocular distances)."""
INNER_BROWS = (55, 65, 285, 295)
"""Lower edge of the inner half of both brows."""
NOSTRILS = (98, 327, 2)
"""Both nostril wings and the point under the nose tip."""
CHEEKS = (117, 346, 118, 347)
"""The cheeks just under the lower lids."""
LIP_CORNERS = (61, 291)
UPPER_LIP_SIDES = (185, 409)
"""The upper lip's outer edge right beside each corner."""
UPPER_LIP = (0, 13)
"""Top of the upper lip, inner edge of the upper lip (centre line)."""
LOWER_LIP = (14, 17)
"""Inner edge of the lower lip, bottom of the lower lip (centre line)."""


CORNER_OPENING_SHARE = 0.1
"""How far the lip corners drop, below the upper lip beside them, for each unit the mouth opens (`jaw_drop`'s
opening): opening the mouth pulls the corners down with the lower lip (a surprised face), which is not the corners
turning down. Chosen on FER2013 faces through the whole pipeline (with CORNER_RISE_SHARE): sad faces stay as far
from relaxed ones as before (AUC 0.64 on training faces, 0.60 on validation faces; was 0.63 and 0.60) and move far
from surprised ones (0.82 and 0.83; was 0.46 and 0.43)."""
CORNER_RISE_SHARE = 0.05
"""How much of the corners' rise above the mouth's centre is taken out: a wide smile tucks the corners under the
upper lip. More would also keep smiles apart (0.1: sad against happy 0.60, was 0.40) but cost the separation from
relaxed faces (0.58 on validation faces), which the cue must keep."""
SMILE_OPENING_SHARE = 0.1
"""How much of the lips' parting (13 to 14) is taken out of the corners' rise in `lip_corner_pull`: opening the
mouth drops the lower lip and with it the mouth's centre, which is not the corners rising (an angry or surprised
open mouth read as a smile). Chosen on FER2013 training faces (0.05 to 0.2 did as well there; AUC for happy 0.910 /
0.938 with FER2013 / FER+ labels, then 0.911 / 0.939); it separates happy from angry faces better (0.860 to 0.877)
and from neutral ones a little less (0.967 to 0.963)."""
NOSE_CHEEK_SHARE = 0.5
"""How much of the cheeks' rise toward the eyes is taken out of `nose_wrinkle`: raised cheeks (a smile, crying)
also lift the nose bottom and spread the nostrils, which is not the nose wrinkling."""

_RIGID_INDEX = np.array(RIGID_POINTS)


def fit_pose(points: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """The mesh turned to face the camera and scaled to the canonical face (Umeyama's similarity fit).

    `canonical` holds the RIGID_POINTS of the canonical mesh (len(RIGID_POINTS), 3). Returns all
    points (468, 3) in the canonical frame: x to the image right, y down, inter-ocular distance ≈ 1.
    """
    source = np.asarray(points, dtype=np.float64)
    rigid = source[_RIGID_INDEX]
    source_mean, target_mean = rigid.mean(0), canonical.mean(0)
    a, b = rigid - source_mean, canonical - target_mean
    u, sigma, vt = np.linalg.svd(b.T @ a)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection fits best: take the nearest rotation
        u[:, -1] *= -1
        sigma[-1] *= -1
    scale = float(sigma.sum() / max(float(np.einsum("ij,ij->", a, a)), 1e-12))
    return (source - source_mean) @ (scale * (u @ vt)).T + target_mean


def _mean(values: list[float], indices: tuple[int, ...] | None = None) -> float:
    """The mean of `values`, or of those at `indices`."""
    chosen = values if indices is None else [values[i] for i in indices]
    return sum(chosen) / len(chosen)


def raw_measures(frontal: np.ndarray) -> np.ndarray:
    """The ten raw measures of a frontal mesh, in CUE_NAMES order, each larger when its cue is stronger.

    Heights are measured down the face (y), widths across it (x) and depths away from the camera
    (z), in inter-ocular distances.
    The mouth's opening is a share of its width, so a broad smile (wide, lips parted) does not
    read as a dropped jaw. Where a cue combines parts, the weights give each part about the same
    spread over training faces (so none drowns the others); see CUE_POINTS for what each one is.
    """
    x, y, z = np.asarray(frontal, dtype=np.float64).T.tolist()  # plain floats: a tenth of numpy's cost on a few points
    eye_line = _mean(y, (33, 133, 263, 362))
    eye_opening = _mean([y[lower] - y[upper] for _, _, upper, lower in EYES.values()])
    under_brow_height = eye_line - _mean(y, UNDER_BROWS)
    brow_tilt = _mean(z, BROWS_UPPER) - _mean(z, BROWS)
    inner_brow_height = _mean(y, (133, 362)) - _mean(y, INNER_BROWS)
    nose_length = _mean(y, NOSTRILS) - eye_line
    nostril_width = x[327] - x[98]
    cheek_height = eye_line - _mean(y, CHEEKS)
    corner_rise = _mean(y, (13, 14)) - _mean(y, LIP_CORNERS)
    corner_drop = _mean(y, LIP_CORNERS) - _mean(y, UPPER_LIP_SIDES)
    corner_to_eye = math.hypot(x[61] - x[33], y[61] - y[33]) + math.hypot(x[291] - x[263], y[291] - y[263])
    mouth_width = x[291] - x[61]
    lip_thickness = (y[13] - y[0]) + (y[17] - y[14])
    lips_apart = y[14] - y[13]
    jaw_opening = (y[17] - y[2]) / max(mouth_width, 0.05)  # a real mouth is about 0.8 wide
    return np.array(
        [
            under_brow_height + BROW_TILT_WEIGHT * brow_tilt,
            -inner_brow_height,
            eye_opening,
            cheek_height,
            nostril_width - 0.8 * nose_length - corner_rise - NOSE_CHEEK_SHARE * cheek_height,
            corner_rise - SMILE_OPENING_SHARE * lips_apart + 0.44 * mouth_width - 0.26 * corner_to_eye,
            corner_drop - CORNER_OPENING_SHARE * jaw_opening - CORNER_RISE_SHARE * corner_rise,
            mouth_width - 2.3 * corner_rise,
            -(lip_thickness + 0.33 * lips_apart),
            jaw_opening,
        ]
    )


_EYE_LINE = (33, 133, 263, 362)
CUE_MEASURED_FROM: dict[str, tuple[int, ...]] = {
    "brow_raise": _EYE_LINE + UNDER_BROWS + BROWS + BROWS_UPPER,
    "brow_lower": (133, 362, *INNER_BROWS),
    "upper_lid_raise": (159, 145, 386, 374),
    "cheek_raise": _EYE_LINE + CHEEKS,
    "nose_wrinkle": _EYE_LINE + NOSTRILS + (13, 14) + LIP_CORNERS + CHEEKS,
    "lip_corner_pull": (13, 14, *LIP_CORNERS, 33, 263),
    "lip_corner_depress": LIP_CORNERS + UPPER_LIP_SIDES + (2, 17, 13, 14),
    "lip_stretch": LIP_CORNERS + (13, 14),
    "lip_press": UPPER_LIP + LOWER_LIP,
    "jaw_drop": (2, 17, *LIP_CORNERS),
}
"""Per cue, exactly the mesh points its raw measure reads (once the pose is fitted): the "Why?" picture marks
these, so a person can check the measure on the face (a test moves every other point and sees no change)."""


CUE_POINTS: dict[str, str] = {
    "brow_raise": "AU1+AU2, inner and outer brow raiser. Height of the skin right under the brows (113, 225, 224, 223, "
    "222, 221, 189 and 342, 445, 444, 443, 442, 441, 413), which raised brows stretch up, above the line of the four "
    "eye corners (33, 133, 263, 362), plus the brows' tilt back: raised brows ride up the forehead, which slopes back, "
    "so their upper edge (70, 63, 105, 66, 107 and 300, 293, 334, 296, 336) goes further behind their lower edge (46, "
    "53, 52, 65, 55 and 276, 283, 282, 295, 285; depth, weighted BROW_TILT_WEIGHT).",
    "brow_lower": "AU4, brow lowerer. The inner brows' lower edge (55, 65, 285, 295) comes down towards the inner eye "
    "corners (133, 362).",
    "upper_lid_raise": "AU5, upper lid raiser. Eye opening: upper lid centre (159, 386) to lower lid centre "
    "(145, 374), both eyes averaged.",
    "cheek_raise": "AU6, cheek raiser. The cheeks under the eyes (117, 118, 346, 347) rise towards the eye line "
    "(33, 133, 263, 362).",
    "nose_wrinkle": "AU9 (with AU10), nose wrinkler. The nostril wings (98, 327) spread and the nose bottom "
    "(98, 327, 2) rises towards the eyes, beyond what the lip corners' rise (a smile also lifts them) and the cheeks' "
    "rise (117, 118, 346, 347; crying and smiling push them up) explain.",
    "lip_corner_pull": "AU12, lip corner puller. The lip corners (61, 291) rise above the mouth's centre (13, 14), "
    "beyond what the lips' parting (13 to 14) explains (an open mouth drops the centre with the lower lip), the mouth "
    "widens, and the corners come closer to the outer eye corners (61 to 33, 291 to 263): up and back.",
    "lip_corner_depress": "AU15, lip corner depressor. The lip corners (61, 291) drop below the upper lip's edge right "
    "beside them (185, 409), beyond what the mouth's opening (see jaw_drop: 2, 17 over the width) and the corners' "
    "rise above the mouth's centre (13, 14) explain: opening the mouth pulls the corners down with the lower lip, and "
    "a wide smile tucks them under the upper lip, neither of which is the corners turning down.",
    "lip_stretch": "AU20, lip stretcher. The mouth widens (61 to 291) without the lip corners rising.",
    "lip_press": "AU23/AU24, lip tightener and presser. The red of the lips thins (0 to 13 and 14 to 17) while the "
    "lips stay closed (13 to 14).",
    "jaw_drop": "AU26/AU27 (with AU25), jaw drop. The lower lip's bottom (17) drops away from the nose bottom (2), "
    "as a share of the mouth's width (61 to 291): a dropped jaw opens the mouth tall, a broad smile parts the lips "
    "but stretches them wide.",
}
"""Per cue: the FACS action units it approximates and the mesh points it measures (MediaPipe's numbering)."""


# --- from raw measures to intensities ------------------------------------------------------------

CALIBRATION_FILE = "cue_calibration.json"


@dataclass(frozen=True)
class Calibration:
    """The numbers that turn raw measures into intensities (made by `scripts/cue_calibration.py`)."""

    canonical: np.ndarray
    """RIGID_POINTS of the mean relaxed face, (len(RIGID_POINTS), 3), inter-ocular distance 1."""
    relaxed: np.ndarray
    """Raw measures of a typical relaxed face (median over FER+ neutral-majority training faces)."""
    strong: np.ndarray
    """How far past `relaxed` each measure goes in faces that show it strongly (98th percentile)."""
    noticeable: np.ndarray
    """Per cue, the intensity against the typical relaxed face that only one relaxed face in ten
    reaches (90th percentile over the same neutral-majority faces). Relaxed faces differ by build
    (thin lips, low brows) and the mesh's noise, so against a typical face a weaker reading is not
    yet news; against a person's own relaxed face it is (`xface.teach.explain.show_at`)."""
    named: np.ndarray
    """Per cue, the intensity against the typical relaxed face from which the words name it: beyond what all but a
    few faces of each expression without that cue reach (`scripts/cue_calibration.py specific`), so a cue named
    on a photo speaks for the expressions it belongs to. At least `noticeable`."""
    noticeable_own: np.ndarray
    """Per cue, the intensity against a person's own relaxed face that only one relaxed face in ten reaches (a
    relaxed photo against other relaxed photos of the same person, `scripts/cue_calibration.py own`): below it on
    every cue, a face in a stream is at rest."""
    named_own: np.ndarray
    """Per cue, the intensity against a person's own relaxed face (a stream once its baseline is ready) from which
    the words name it, by the rule of `named` applied to photos measured against the same person's relaxed photos
    (`scripts/cue_calibration.py own`): a smile, crying or an open mouth also moves other measures of the same
    face. At 1 or more the cue is never named against a person's own face either."""

    def to_json(self) -> dict:
        return {
            "cues": list(CUE_NAMES),
            "canonical": np.round(self.canonical, 5).tolist(),
            "relaxed": np.round(self.relaxed, 5).tolist(),
            "strong": np.round(self.strong, 5).tolist(),
            "noticeable": np.round(self.noticeable, 3).tolist(),
            "named": np.round(self.named, 3).tolist(),
            "noticeable_own": np.round(self.noticeable_own, 3).tolist(),
            "named_own": np.round(self.named_own, 3).tolist(),
        }


@cache
def calibration() -> Calibration:
    """The bundled calibration, read once."""
    data = json.loads(resources.files(__package__).joinpath(CALIBRATION_FILE).read_text(encoding="utf-8"))
    if tuple(data["cues"]) != CUE_NAMES:
        raise ValueError(f"{CALIBRATION_FILE} was made for other cues: {data['cues']}")
    data.setdefault("named", data["noticeable"])
    data.setdefault("noticeable_own", data["noticeable"])
    data.setdefault("named_own", data["named"])
    fields = ("canonical", "relaxed", "strong", "noticeable", "named", "noticeable_own", "named_own")
    return Calibration(**{key: np.asarray(data[key], dtype=np.float64) for key in fields})


def measure(points: np.ndarray, settings: Calibration | None = None) -> np.ndarray:
    """Raw measures (len(CUE_NAMES),) of a face mesh (468, 3) in any pose and size."""
    settings = settings or calibration()
    return raw_measures(fit_pose(points, settings.canonical))


def intensities(
    raw: np.ndarray, reference: np.ndarray | None = None, settings: Calibration | None = None
) -> np.ndarray:
    """Raw measures → intensities in [0, 1], against `reference` (a person's relaxed face) or a typical one.

    A person's reference is held within BASELINE_MAX_SHIFT of the typical relaxed face."""
    settings = settings or calibration()
    if reference is None:
        reference = settings.relaxed
    else:
        shift = BASELINE_MAX_SHIFT * settings.strong
        reference = np.clip(reference, settings.relaxed - shift, settings.relaxed + shift)
    return np.clip((np.asarray(raw) - reference) / settings.strong, 0.0, 1.0)


def as_dict(values: np.ndarray) -> dict[str, float]:
    """Intensities keyed by cue name, as `FaceReading.cues` carries them."""
    return {name: float(value) for name, value in zip(CUE_NAMES, values, strict=True)}
