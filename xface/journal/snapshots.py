"""Face pictures, saved only when the person asks (opt-in): by default Xface stores no pixels.

The one place that may write a picture: the live page's "Why?" panel, after the person has
turned on "Allow saving face pictures" and pressed Save. Pictures go next to the journal, in
`snapshots/`, as plain PNG files the person can look at, move or delete.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from xface.journal.schema import default_path


def snapshot_dir() -> Path:
    """`snapshots/` beside the journal file (so `XFACE_DB` moves both)."""
    return default_path().parent / "snapshots"


def save_snapshot(
    face: np.ndarray,
    label: str,
    overlay: np.ndarray | None = None,
    folder: Path | None = None,
    when: datetime | None = None,
) -> Path:
    """Write the aligned face (and the attention overlay beside it) as one PNG; return its path."""
    folder = folder or snapshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    when = when or datetime.now()
    height = 240
    panels = [Image.fromarray(np.ascontiguousarray(face)).convert("RGB").resize((height, height))]
    if overlay is not None:
        panels.append(Image.fromarray(np.ascontiguousarray(overlay)).convert("RGB").resize((height, height)))
    picture = Image.new("RGB", (height * len(panels), height))
    for index, panel in enumerate(panels):
        picture.paste(panel, (index * height, 0))
    safe_label = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "face"
    path = folder / f"{when:%Y-%m-%d_%H-%M-%S}_{safe_label}.png"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"{when:%Y-%m-%d_%H-%M-%S}_{safe_label}-{counter}.png"
    picture.save(path, "PNG")
    return path
