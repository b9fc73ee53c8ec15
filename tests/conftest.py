"""Shared fixtures: the real bundled model and the real photos in ../shared/data.

Without ../shared/data the tests that need it are skipped, each with a message saying what is missing;
the rest still run.
"""

from __future__ import annotations

import csv
import inspect
import re
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WITH_FACES = DATA / "faces" / "with_faces"
NO_FACES = DATA / "faces" / "no_faces"
FER_NPZ = DATA / "fer2013.npz"
TORCH_MISSING = "needs torch, which the base install leaves out: `pip install -e '.[test]'` brings it"
"""Why a test of training, export or torch checkpoints is skipped (CI installs the test extra, so they run there)."""
needs_torch = pytest.mark.skipif(
    not all(find_spec(name) for name in ("torch", "transformers", "facenet_pytorch")), reason=TORCH_MISSING
)
"""For a test that trains, exports, or compares against facenet-pytorch."""

DATA_FIXTURES = {"group_photo", "portrait", "fake_webcam"}
"""Fixtures built from the real photos."""
DATA_NAMES = re.compile(
    r"\b(DATA|WITH_FACES|NO_FACES|FER_NPZ|FACES|PEXELS|portrait_frame|face_frame|labelled_boxes|cut_clip"
    r"|fer_validation_subset)\b"
)
"""Names in a test's own code that read ../shared/data."""


def needs_data(item: pytest.Item) -> bool:
    """True when the test reads ../shared/data, through a fixture or in its own code."""
    if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    try:
        return bool(DATA_NAMES.search(inspect.getsource(item.obj)))
    except (AttributeError, OSError, TypeError):
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if DATA.is_dir():
        return
    skip = pytest.mark.skip(
        reason=f"needs the test data in {DATA} (FER2013 and real photos), which is missing: "
        "put the project's shared data there (see its README) to run this test"
    )
    for item in items:
        if needs_data(item):
            item.add_marker(skip)


def fer_validation_subset(path: Path, rows: slice | np.ndarray, training_rows: slice | None = None) -> Path:
    """These FER2013 validation faces with their labels and FER+ votes, as an .npz of their own: a quick split
    that `xface evaluate --npz` and the scoring scripts read as they read the whole file. `training_rows` adds
    those training faces and labels too (for `xface teacher`)."""
    data = np.load(FER_NPZ)
    training = (
        {}
        if training_rows is None
        else {"x_train": data["x_train"][training_rows], "y_train": data["y_train"][training_rows]}
    )
    np.savez(
        path,
        x_val=data["x_val"][rows],
        y_val=data["y_val"][rows],
        ferplus_votes_val=data["ferplus_votes_val"][rows],
        ferplus_columns=data["ferplus_columns"],
        **training,
    )
    return path


def labelled_boxes() -> dict[str, list[tuple[float, float, float, float]]]:
    """Hand-labelled face boxes per photo, from with_faces/boxes.csv."""
    boxes: dict[str, list[tuple[float, float, float, float]]] = {}
    for row in csv.DictReader((WITH_FACES / "boxes.csv").open()):
        boxes.setdefault(row["image"], []).append(tuple(float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")))
    return boxes


@pytest.fixture
def journal(tmp_path: Path):
    """An empty journal in a real SQLite file of its own."""
    from xface.journal.store import Journal

    journal = Journal(tmp_path / "journal.db")
    yield journal
    journal.close()


@pytest.fixture(scope="session")
def analyzer():
    from xface.vision.pipeline import Analyzer

    return Analyzer()


class ReadOnce:
    """The real one-thread Analyzer (as `xface teaching-check` reads), but each photo file is read once a test
    session: the slow suite's whole-pipeline checks (both outputs' floors, the teaching truth) read the same
    development photos, and reading them twice cost CI about three minutes."""

    def __init__(self) -> None:
        from xface.vision.pipeline import Analyzer

        self.analyzer = Analyzer(threads=1)
        self.read: dict[Path, list] = {}

    def analyze(self, image, cues: bool = True) -> list:
        """Readings with cues, whatever `cues` asks: a reading with cues answers both callers."""
        if not isinstance(image, str | Path):
            return self.analyzer.analyze(image)
        key = Path(image).resolve()
        if key not in self.read:
            self.read[key] = self.analyzer.analyze(key)
        return self.read[key]


@pytest.fixture(scope="session")
def photo_reader() -> ReadOnce:
    return ReadOnce()


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
