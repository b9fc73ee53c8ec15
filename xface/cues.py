"""What a face is doing, measured: ten facial cues from the face mesh, each an intensity in [0, 1].

A label ("sad") is an inference; a cue ("the lip corners go down") is a measurement a person can
check on the face and learn to see. Each cue approximates one or two FACS action units (AUs).

How a cue is measured (see `measure` and `CUE_POINTS`):

1. The 468 mesh points (x, y, z) are turned to face the camera: a rotation, scale and shift fitted
   (Kabsch/Procrustes) on points that expressions hardly move (eye corners, nose bridge, temples)
   onto the same points of a canonical mesh, the mean of relaxed FER2013 faces. So a turned or
   tilted head gives the same numbers as a frontal one, and distances are in units of the
   canonical face (inter-ocular distance ≈ 1), whatever the face's size in the picture.
2. Each cue is one plain distance or height in that frame (documented per cue in `CUE_POINTS`).
3. The raw value is compared with a reference: for a photo, a typical relaxed face (the median
   over FER+ neutral-majority training faces); in a stream, the same person's own relaxed face
   once Xface has seen it (`CueBaseline`). The difference is divided by "as strong as faces get"
   (the 98th percentile of the difference over all training faces) and clipped to [0, 1].

The constants live in ``cue_calibration.json`` beside this module (numbers only, no face data);
``python -m xface.cues calibrate`` makes them, ``python -m xface.cues auc`` reports how well each
cue separates the expressions it belongs to.
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["CUE_NAMES", "EMOTION_CUES", "CueBaseline"]

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

BASELINE_WINDOW = 300
"""Analysed frames a stream remembers per face for its running baseline (about a minute)."""
BASELINE_READY_AFTER = 15
"""Frames of a face before its own baseline replaces the typical relaxed face (about 3 s)."""
BASELINE_RELAXED_SHARE = 0.3
"""The running baseline is the median of this share of remembered frames that moved least."""


class CueBaseline:
    """One tracked face's relaxed face, learned from the stream, so cues measure change on *this* face.

    Some faces rest with low brows or down-turned lip corners; against a typical face they would
    always read as "brows pulled down". Without a capture, the baseline keeps running: it is the
    median of the frames in the recent window in which the face moved least (against the typical
    relaxed face), so a long smile does not become the baseline. `capture` starts a fresh one from
    the next frames (the person holds a relaxed face) and then keeps it fixed.
    """

    def __init__(self, window: int = BASELINE_WINDOW, ready_after: int = BASELINE_READY_AFTER) -> None:
        self.window = window
        self.ready_after = ready_after
        self._raw: deque[np.ndarray] = deque(maxlen=window)
        self._movement: deque[float] = deque(maxlen=window)
        self._captured: np.ndarray | None = None
        self._capturing = False

    def capture(self) -> None:
        """Forget what was seen and learn the relaxed face from the next frames, then hold it."""
        self._raw.clear()
        self._movement.clear()
        self._captured = None
        self._capturing = True

    @property
    def ready(self) -> bool:
        return self._captured is not None or (not self._capturing and len(self._raw) >= self.ready_after)

    @property
    def capturing(self) -> bool:
        return self._capturing

    def add(self, raw: np.ndarray, movement: float) -> None:
        """Remember one frame's raw measures and how far it was from a typical relaxed face."""
        if self._captured is not None:
            return
        self._raw.append(np.asarray(raw, dtype=np.float64))
        self._movement.append(float(movement))
        if self._capturing and len(self._raw) >= self.ready_after:
            self._captured = np.median(np.stack(self._raw), axis=0)
            self._capturing = False

    def reference(self) -> np.ndarray | None:
        """This face's relaxed raw measures, or None until ready."""
        if self._captured is not None:
            return self._captured
        if not self.ready:
            return None
        keep = max(self.ready_after // 2, int(len(self._raw) * BASELINE_RELAXED_SHARE))
        calm = np.argsort(np.asarray(self._movement))[:keep]
        return np.median(np.stack([self._raw[i] for i in calm]), axis=0)
