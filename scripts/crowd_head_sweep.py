"""Crowd-head settings weighed on a frozen body before one is chosen (a training helper, not a CLI feature).

    python scripts/photo_faces.py extract ../shared/data/faces/ckplus_dev runs/faces/ck.npz
    python scripts/crowd_head_sweep.py --model runs/student4 --npz ../shared/data/fer2013.npz \
        --crops runs/faces/ck.npz runs/faces/web.npz --grid 0.1:1,0.2:1.5,0.225:1.75 --more-seeds 3

The body's [CLS] features of the training faces, of FER2013 validation and of the photo crops are computed
once; each setting (share toward the FER2013 label : class-balance power) is then fitted with the same
`fit_head` and `fit_temperature` as `xface train-crowd-head`, whose split and seed the first fit of each setting
reproduces. Printed per setting: FER+ majority and KL on validation, and on each crop file the accuracy of all
photos (no face found counts as wrong) and the share of expressive faces read neutral. `--more-seeds N` refits
each setting with N more seeds of the split and the optimizer, to tell a setting from its luck.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from xface.emotions import EMOTIONS
from xface.tools.crowd_head import CrowdHeadSettings, fit_head, fit_temperature
from xface.tools.metrics import crowd_shares, ferplus_majority, mean_kl
from xface.tools.train import cls_features
from xface.vision.model import XfaceViTForImageClassification, no_hub_progress_bars

NEUTRAL = EMOTIONS.index("neutral")


def crop_features(model: XfaceViTForImageClassification, crops: np.ndarray) -> torch.Tensor:
    """(N, 2, hidden) features of aligned colour crops (as `photo_faces.py extract` saves them), both looks."""
    parts = []
    with torch.no_grad():
        for start in range(0, len(crops), 500):
            pixels = torch.from_numpy(crops[start : start + 500]).float().permute(0, 3, 1, 2) / 255.0
            pixels = (pixels - 0.5) / 0.5
            parts.append(torch.stack([model.features(view)[0] for view in (pixels, pixels.flip(-1))], 1))
    return torch.cat(parts)


def shown(head: torch.nn.Linear, features: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return head(features).softmax(-1).mean(1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the trained model folder")
    parser.add_argument("--npz", type=Path, required=True, help="FER2013 with FER+ votes")
    parser.add_argument("--crops", type=Path, nargs="*", default=[], help="files made by photo_faces.py extract")
    parser.add_argument("--grid", default="0.1:1,0.225:1.75", help="share:balance pairs, comma-separated")
    parser.add_argument("--more-seeds", type=int, default=0, metavar="N")
    args = parser.parse_args()
    defaults = CrowdHeadSettings(npz=str(args.npz))
    torch.set_num_threads(2)
    with no_hub_progress_bars():
        model = XfaceViTForImageClassification.from_pretrained(args.model).eval()
    data = np.load(args.npz)
    columns = [str(c) for c in data["ferplus_columns"]]
    shares, voted = crowd_shares(data["ferplus_votes_train"], columns)
    labels = np.eye(len(EMOTIONS))[data["y_train"]]
    with torch.no_grad():
        train, val = cls_features(model, data["x_train"]), cls_features(model, data["x_val"])
    majority = ferplus_majority(data["ferplus_votes_val"], columns)
    val_shares, val_voted = crowd_shares(data["ferplus_votes_val"], columns)
    photo_sets = {path.stem: (np.load(path), crop_features(model, np.load(path)["crops"])) for path in args.crops}
    for pair in args.grid.split(","):
        share, balance = (float(x) for x in pair.split(":"))
        targets = np.where(voted[:, None], (1 - share) * shares + share * labels, labels)
        seeds = [(0, defaults.seed), *((k, k) for k in range(1, 1 + args.more_seeds))]  # (split, optimizer)
        for run, (split_seed, torch_seed) in enumerate(seeds):
            order = np.random.default_rng(split_seed).permutation(len(targets))
            cut = int(len(order) * defaults.holdout)
            held, fit = order[:cut], order[cut:]
            held = held[voted[held]]
            torch.manual_seed(torch_seed)
            head = fit_head(train[fit], targets[fit], model.classifier, balance, defaults.weight_decay, defaults.steps)
            with torch.no_grad():
                temperature = fit_temperature(head(train[held]), shares[held])
                head.weight /= temperature
                head.bias /= temperature
            probs = shown(head, val)
            known = majority >= 0
            line = (
                f"{share:g}:{balance:g} seed {run}  T {temperature:.3f}  "
                f"FER+ {(probs.argmax(1)[known] == majority[known]).mean():.2%}  "
                f"KL {mean_kl(val_shares[val_voted], probs[val_voted]):.3f}"
            )
            for name, (photos, features) in photo_sets.items():
                truth, found = photos["labels"], photos["found"]
                read = np.where(found, shown(head, features).argmax(1), -2)
                scored = truth >= 0
                expressive = scored & found & (truth != NEUTRAL)
                line += (
                    f"  | {name} {(read[scored] == truth[scored]).mean():.1%}"
                    f" neutral {(read[expressive] == NEUTRAL).mean():.1%}"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
