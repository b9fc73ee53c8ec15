"""Test-time views weighed: is a face read better averaged over small zooms, turns and shifts of itself?
(a training helper, not a CLI feature)

    python scripts/photo_faces.py extract ../shared/data/faces/ckplus_dev runs/faces/ck.npz
    python scripts/photo_faces.py extract ../shared/data/faces/web_expressions runs/faces/web.npz
    python scripts/test_time_views.py --model models/xface-vit --npz ../shared/data/fer2013.npz \
        --crops runs/faces/ck.npz runs/faces/web.npz
    python scripts/test_time_views.py --model models/xface-vit runs/student5c --npz ../shared/data/fer2013.npz \
        --sets aligned zooms-and-turns

Each view (`xface.tools.views`) warps the aligned face the way training warps it (an affine grid, borders
repeated) and is read as seen and mirrored, as the app reads every face; a set of views averages their
probabilities. Given several models, a set's line is their ensemble: every model's views averaged with equal
weight. Printed per set: FER2013 validation (FER2013 output, FER+ majority, KL), and on each crop file both
outputs' accuracy over all photos (no face found counts as wrong) and share of expressive faces read neutral.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from photo_faces import average_outputs, photo_figures, validation_figures  # this folder's own helpers

from xface.tools.train import predict_outputs, to_pixels
from xface.tools.views import WARP_SETS, WARPS
from xface.vision.classifier import Probabilities
from xface.vision.model import XfaceViTForImageClassification, no_hub_progress_bars


def view_outputs(
    model: XfaceViTForImageClassification, pixels: torch.Tensor, names: set[str] | None = None
) -> dict[str, Probabilities]:
    """Both outputs of each named view (all by default), each averaged over the face as seen and mirrored."""
    readings = {}
    for name, warp in WARPS.items():
        if names is not None and name not in names:
            continue
        outputs = predict_outputs(model, warp.apply(pixels))
        readings[name] = Probabilities(shown=outputs.shown.numpy(), fer2013=outputs.fer2013.numpy())
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", nargs="+", required=True, help="trained model folders (several: their ensemble)")
    parser.add_argument("--npz", type=Path, required=True, help="FER2013 with FER+ votes")
    parser.add_argument("--crops", type=Path, nargs="*", default=[], help="files made by photo_faces.py extract")
    parser.add_argument("--sets", nargs="+", choices=list(WARP_SETS), default=list(WARP_SETS), help="sets to print")
    args = parser.parse_args()
    torch.set_num_threads(2)
    view_sets = [WARP_SETS[name] for name in args.sets]
    needed = {name for view_set in view_sets for name in view_set}
    data = np.load(args.npz)
    photos = {path.stem: np.load(path) for path in args.crops}
    validation_pixels = to_pixels(data["x_val"])
    photo_pixels = {stem: to_pixels(faces["crops"]) for stem, faces in photos.items()}
    validation: list[dict[str, Probabilities]] = []
    photo_readings: dict[str, list[dict[str, Probabilities]]] = {stem: [] for stem in photos}
    for folder in args.model:
        with no_hub_progress_bars():
            model = XfaceViTForImageClassification.from_pretrained(folder, local_files_only=True)
        validation.append(view_outputs(model, validation_pixels, needed))
        for stem, pixels in photo_pixels.items():
            photo_readings[stem].append(view_outputs(model, pixels, needed))
    for view_set in view_sets:
        line = [" + ".join(view_set)]
        val = validation_figures(average_outputs([views[name] for views in validation for name in view_set]), data)
        line.append(f"FER2013 val {val['fer2013_accuracy']:.2%} / FER+ {val['ferplus_majority']:.2%}")
        line.append(f"KL {val['ferplus_kl']:.3f}")
        for stem, faces in photos.items():
            outputs = average_outputs([views[name] for views in photo_readings[stem] for name in view_set])
            for key in ("fer2013", "shown"):
                scored = photo_figures(getattr(outputs, key), faces["labels"], faces["found"])
                line.append(f"{stem} {key} {scored['accuracy']:.1%} ({scored['expressive_read_neutral']:.1%} neutral)")
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main()
