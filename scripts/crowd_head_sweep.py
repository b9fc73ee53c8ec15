"""Crowd-head settings weighed on a frozen body before one is chosen (a training helper, not a CLI feature).

    python scripts/photo_faces.py extract ../shared/data/faces/ckplus_dev runs/faces/ck.npz
    python scripts/crowd_head_sweep.py --model runs/student4 --npz ../shared/data/fer2013.npz \
        --crops runs/faces/ck.npz runs/faces/web.npz --grid 0.1:1,0.2:1.5,0.225:1.75 --more-seeds 3

The body's [CLS] features of the training faces, of FER2013 validation and of the photo crops are computed
once; each setting (share toward the FER2013 label : class-balance power) is then fitted with the same
`fit_head` and `fit_temperature` as `xface train-crowd-head`, whose split and seed the first fit of each setting
reproduces. Printed per setting: FER+ majority and KL on validation, and on each crop file the accuracy of all
photos (no face found counts as wrong) and the share of expressive faces read neutral. `--more-seeds N` refits
each setting with N more draws of the faces held back for the temperature, to tell a setting from its luck (the
fit itself draws nothing: full-batch steps from the FER2013 head).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from photo_faces import photo_figures  # this folder's own helper, on the path when a script here runs

from xface.emotions import EMOTIONS
from xface.tools.crowd_head import CrowdHeadSettings, crowd_targets, fit_calibrated_head, shown_probabilities
from xface.tools.metrics import crowd_shares, ferplus_majority
from xface.tools.train import cls_features, crowd_figures
from xface.vision.model import XfaceViTForImageClassification, no_hub_progress_bars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the trained model folder")
    parser.add_argument("--npz", type=Path, required=True, help="FER2013 with FER+ votes")
    parser.add_argument("--crops", type=Path, nargs="*", default=[], help="files made by photo_faces.py extract")
    parser.add_argument("--grid", default="0.1:1,0.225:1.75", help="share:balance pairs, comma-separated")
    parser.add_argument("--more-seeds", type=int, default=0, metavar="N", help="refit with N more splits")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with no_hub_progress_bars():
        model = XfaceViTForImageClassification.from_pretrained(args.model).eval()
    data = np.load(args.npz)
    columns = [str(c) for c in data["ferplus_columns"]]
    shares, voted = crowd_shares(data["ferplus_votes_train"], columns)
    labels = np.eye(len(EMOTIONS))[data["y_train"]]
    train, val = cls_features(model, data["x_train"]), cls_features(model, data["x_val"])
    val_shares, val_voted = crowd_shares(data["ferplus_votes_val"], columns)
    val_majority = ferplus_majority(data["ferplus_votes_val"], columns)
    photo_sets = {path.stem: np.load(path) for path in args.crops}
    photo_features = {name: cls_features(model, photos["crops"]) for name, photos in photo_sets.items()}
    for pair in args.grid.split(","):
        share, balance = (float(x) for x in pair.split(":"))
        settings = CrowdHeadSettings(npz=str(args.npz), fer2013_share=share, balance=balance)
        targets = crowd_targets(shares, voted, labels, share)
        for split_seed in range(1 + args.more_seeds):  # split 0 is xface train-crowd-head's
            fitted = fit_calibrated_head(train, targets, shares, voted, model.classifier, settings, split_seed)
            figures = crowd_figures(shown_probabilities(fitted.head, val), val_shares, val_voted, val_majority)
            line = (
                f"{share:g}:{balance:g} split {split_seed}  T {fitted.temperature:.3f}  "
                f"FER+ {figures['val_ferplus_majority']:.2%}  KL {figures['val_kl']:.3f}"
            )
            for name, photos in photo_sets.items():
                read = photo_figures(
                    shown_probabilities(fitted.head, photo_features[name]), photos["labels"], photos["found"]
                )
                line += f"  | {name} {read['accuracy']:.1%} neutral {read['expressive_read_neutral']:.1%}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
