"""Shared fixtures: the real bundled model and the real photos in ../shared/data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WITH_FACES = DATA / "faces" / "with_faces"
NO_FACES = DATA / "faces" / "no_faces"
FER_NPZ = DATA / "fer2013.npz"


def labelled_boxes() -> dict[str, list[tuple[float, float, float, float]]]:
    """Hand-labelled face boxes per photo, from with_faces/boxes.csv."""
    boxes: dict[str, list[tuple[float, float, float, float]]] = {}
    for row in csv.DictReader((WITH_FACES / "boxes.csv").open()):
        boxes.setdefault(row["image"], []).append(tuple(float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")))
    return boxes


@pytest.fixture(scope="session")
def analyzer():
    from xface.pipeline import Analyzer

    return Analyzer()


@pytest.fixture(scope="session")
def group_photo() -> Path:
    """A real photo with seven labelled faces."""
    return WITH_FACES / "2008_007676.jpg"


@pytest.fixture(scope="session")
def portrait() -> np.ndarray:
    return portrait_frame()


def portrait_frame() -> np.ndarray:
    """A 640×480 frame holding one real face, enlarged: the shape of a webcam frame."""
    from PIL import Image

    rows = list(csv.DictReader((WITH_FACES / "boxes.csv").open()))
    row = max(rows, key=lambda r: float(r["xmax"]) - float(r["xmin"]))
    photo = Image.open(WITH_FACES / row["image"]).convert("RGB")
    x1, y1, x2, y2 = (float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
    side = (x2 - x1) * 1.6
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    crop = photo.crop((int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)))
    frame = Image.new("RGB", (640, 480), (90, 90, 90))
    frame.paste(crop.resize((440, 440), Image.Resampling.BICUBIC), (100, 20))
    return np.asarray(frame)
