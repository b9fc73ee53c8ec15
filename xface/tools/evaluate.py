"""`xface evaluate`: accuracy, per-class precision/recall/F1, confusion matrices, and how well the
shown probabilities match the crowd (KL divergence, calibration); the same on labelled photos read through
the whole pipeline (detect, align, classify; `evaluate_photos`); plus detection recall on photos.

The metrics are a few lines of NumPy (scikit-learn would add ~100 MB for them). Besides the
FER2013 labels, the FER+ crowd is scored too: its majority is the cleaner of the two label sets,
and its vote shares are what the app's words promise ("70 % happy": about 7 of 10 people).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from xface.emotions import EMOTIONS, canonical_emotion
from xface.tools.metrics import calibration, classification_report, crowd_shares, ferplus_majority, mean_kl
from xface.vision.classifier import ExpressionClassifier, Probabilities
from xface.vision.runtime import TorchMissing


def predict_faces(
    classifier: ExpressionClassifier, faces: np.ndarray, batch_size: int = 256, progress: bool = True
) -> Probabilities:
    """Both outputs' probabilities for (N, 48, 48) grey FER2013 faces, resized to the classifier's input."""
    height, width = classifier.image_size
    outputs = []
    for start in tqdm(range(0, len(faces), batch_size), desc="evaluating", disable=not progress, leave=False):
        chunk = faces[start : start + batch_size]
        rgb = np.repeat(chunk[..., None], 3, axis=-1)
        if (height, width) != chunk.shape[1:3]:
            rgb = np.stack(
                [np.asarray(Image.fromarray(f).resize((width, height), Image.Resampling.BILINEAR)) for f in rgb]
            )
        outputs.append(classifier.predict_outputs(rgb))
    if not outputs:
        return classifier.predict_outputs(np.zeros((0, height, width, 3), np.uint8))
    return Probabilities(*(np.concatenate(parts) for parts in zip(*outputs, strict=True)))


def evaluate_npz(classifier: ExpressionClassifier, npz: str | Path, split: str = "val", progress: bool = True) -> dict:
    data = np.load(npz)
    if f"x_{split}" not in data or f"y_{split}" not in data:
        raise ValueError(f"{npz} has no x_{split}/y_{split} arrays")
    return npz_figures(predict_faces(classifier, data[f"x_{split}"], progress=progress), data, split)


def npz_figures(outputs: Probabilities, data: np.lib.npyio.NpzFile, split: str = "val") -> dict:
    """Both outputs' figures on one split of the npz: the FER2013 output against its labels, the shown output
    against the FER+ crowd where the npz has its votes."""
    predicted = outputs.fer2013.argmax(1)
    labels = data[f"y_{split}"]
    results = {
        "split": split,
        "fer2013": classification_report(labels, predicted),  # the FER2013-label output
        "calibration": {"fer2013": calibration(outputs.fer2013.max(1), predicted == labels)},
    }
    if f"ferplus_votes_{split}" in data and "ferplus_columns" in data:
        # The crowd's measures read the shown output (the crowd output where the model has one).
        probs = outputs.shown
        votes, columns = data[f"ferplus_votes_{split}"], [str(c) for c in data["ferplus_columns"]]
        majority = ferplus_majority(votes, columns)
        known = majority >= 0
        results["ferplus_majority"] = classification_report(majority[known], probs.argmax(1)[known])
        shares, voted = crowd_shares(votes, columns)
        results["ferplus_kl"] = mean_kl(shares[voted], probs[voted])
        results["ferplus_kl_faces"] = int(voted.sum())
        # Every probability shown against the share of people who chose that emotion.
        results["calibration"]["crowd"] = calibration(probs[voted], shares[voted])
    return results


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
OUTPUTS = {"fer2013": "FER2013 output", "shown": "shown (crowd) output"}
"""The two readings of every face: the FER2013-label output, and what the app shows."""


@dataclass(frozen=True)
class LabelledPhotos:
    """Photos with the emotion each shows (one of EMOTIONS), and how many were left out for a label that is not."""

    paths: list[Path]
    emotions: list[str]
    left_out: dict[str, int]


def labelled_photos(source: str | Path) -> LabelledPhotos:
    """Photos from a folder of folders named by emotion, or from a labels CSV (`file,emotion`; files relative to
    the CSV). A folder without emotion folders but with a `labels.csv` is read from that file. Labels outside the
    seven emotions (contempt...) are left out and counted."""
    source = Path(source)
    if source.is_dir():
        folders = sorted(p for p in source.iterdir() if p.is_dir())
        if not folders and (source / "labels.csv").is_file():
            return labelled_photos(source / "labels.csv")
        pairs = [(path, folder.name) for folder in folders for path in sorted(folder.iterdir()) if _is_photo(path)]
    elif source.is_file():
        with source.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and not {"file", "emotion"} <= set(rows[0]):
            raise ValueError(f"{source.name} needs the columns file and emotion")
        pairs = [(source.parent / row["file"], row["emotion"]) for row in rows]
    else:
        raise ValueError(f"no such folder or labels file: {source}")
    paths, emotions, left_out = [], [], {}
    for path, label in pairs:
        emotion = canonical_emotion(label)
        if emotion is None:
            left_out[label] = left_out.get(label, 0) + 1
        else:
            paths.append(path)
            emotions.append(emotion)
    if not paths:
        raise ValueError(f"no photos labelled with one of {', '.join(EMOTIONS)} in {source}")
    return LabelledPhotos(paths, emotions, left_out)


def _is_photo(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES


def evaluate_photos(analyzer, photos: LabelledPhotos, progress: bool = True) -> dict:
    """Both outputs on the largest face of each labelled photo, through the app's whole photo path
    (`xface.vision.pipeline.Analyzer`: detect, align, classify).

    Per output: the classification report over the photos where a face was found, `accuracy_all_photos` (a photo
    without a face counts as wrong) and `non_neutral_read_neutral`, the share of faces labelled with an
    expression that the output reads as neutral (the crowd prior's drift, issue 21)."""
    from xface.vision.images import ImageError

    truth, found, readings = [], [], {key: [] for key in OUTPUTS}
    unreadable = 0
    for path, emotion in tqdm(
        zip(photos.paths, photos.emotions, strict=True), total=len(photos.paths), desc="reading", disable=not progress
    ):
        try:
            faces = analyzer.analyze(path, cues=False)
        except ImageError:
            unreadable += 1
            faces = []
        found.append(bool(faces))
        if faces:
            truth.append(EMOTIONS.index(emotion))
            readings["shown"].append(EMOTIONS.index(faces[0].emotion))
            readings["fer2013"].append(int(np.argmax([faces[0].fer2013_probs[name] for name in EMOTIONS])))
    truth_array = np.array(truth, dtype=np.int64)
    results: dict = {
        "photos": len(photos.paths),
        "faces_found": int(sum(found)),
        "unreadable": unreadable,
        "left_out": photos.left_out,
    }
    expressive = truth_array != EMOTIONS.index("neutral")
    for key in OUTPUTS:
        predicted = np.array(readings[key], dtype=np.int64)
        report = classification_report(truth_array, predicted)
        report["accuracy_all_photos"] = float((predicted == truth_array).sum() / max(len(photos.paths), 1))
        read_neutral = predicted[expressive] == EMOTIONS.index("neutral")
        report["non_neutral_read_neutral"] = float(read_neutral.mean()) if expressive.any() else None
        results[key] = report
    return results


def format_photos(results: dict) -> str:
    """The photo evaluation as text: for each output its accuracy, the share read neutral and the per-class table."""
    lines = [
        f"{results['photos']} labelled photos, a face found on {results['faces_found']}"
        + (f", {results['unreadable']} unreadable" if results["unreadable"] else "")
        + "".join(f"; left out: {count} {label}" for label, count in results["left_out"].items())
    ]
    for key, title in OUTPUTS.items():
        report = results[key]
        neutral = report["non_neutral_read_neutral"]
        lines.append(
            f"{title}: accuracy {report['accuracy']:.2%} of faces found ({report['accuracy_all_photos']:.2%} of all "
            f"photos); faces with an expression read neutral: {'-' if neutral is None else f'{neutral:.1%}'}"
        )
        lines += _class_table(report)
    return "\n".join(lines)


def _class_table(report: dict) -> list[str]:
    lines = [f"  {'emotion':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, row in report["per_class"].items():
        lines.append(
            f"  {name:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10}"
        )
    for avg in ("macro_avg", "weighted_avg"):
        row = report[avg]
        lines.append(f"  {avg:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}")
    return lines


def format_report(results: dict) -> str:
    lines = []
    for key, title in (("fer2013", "FER2013 labels"), ("ferplus_majority", "FER+ majority labels")):
        if key not in results:
            continue
        report = results[key]
        lines.append(f"{title} ({results['split']}, {report['count']} faces): accuracy {report['accuracy']:.2%}")
        lines += _class_table(report)
    if "ferplus_kl" in results:
        kl, faces = results["ferplus_kl"], results["ferplus_kl_faces"]
        lines.append(f"Mean KL(crowd votes ‖ shown probabilities): {kl:.3f} ({faces} faces)")
    for key, title in (("crowd", "shown probabilities against crowd vote shares"), ("fer2013", "top label")):
        if key in results.get("calibration", {}):
            lines.append(f"Calibration ECE, {title}: {results['calibration'][key]['ece']:.3f}")
    return "\n".join(lines)


def save_confusion_picture(report: dict, path: str | Path, title: str) -> None:
    """Row-normalised confusion matrix with counts, like the paper's figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(report["confusion_matrix"], dtype=np.float64)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(6.5, 5.5), dpi=120)
    image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    axes.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{title}: accuracy {report['accuracy']:.1%}")
    for (row, col), value in np.ndenumerate(share):
        axes.text(
            col,
            row,
            f"{value:.2f}\n({int(counts[row, col])})",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value > 0.5 else "black",
        )
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_report(results: dict, directory: str | Path) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "metrics.json", directory / "report.txt"]
    written[0].write_text(json.dumps(results, indent=2))
    written[1].write_text(format_report(results) + "\n")
    for key, title in (("fer2013", "FER2013 labels"), ("ferplus_majority", "FER+ majority")):
        if key in results:
            path = directory / f"confusion_{key}.png"
            save_confusion_picture(results[key], path, title)
            written.append(path)
    if results.get("calibration"):
        path = directory / "reliability.png"
        save_reliability_picture(results["calibration"], path)
        written.append(path)
    return written


def save_reliability_picture(calibrations: dict, path: str | Path) -> None:
    """Reliability diagram: mean shown probability against how often it came true, per bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {
        "crowd": "each probability vs share of crowd votes",
        "fer2013": "top probability vs FER2013 label right",
    }
    figure, axes = plt.subplots(figsize=(5.5, 5.5), dpi=120)
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    for (key, reading), marker in zip(calibrations.items(), "os", strict=False):
        bins = reading["bins"]
        axes.plot(
            [b["predicted"] for b in bins],
            [b["observed"] for b in bins],
            marker=marker,
            label=f"{titles.get(key, key)} (ECE {reading['ece']:.3f})",
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("shown probability (bin mean)")
    axes.set_ylabel("observed (bin mean)")
    axes.set_title("Reliability diagram")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


DETECTION_SIZE_BINS = ((20, 30), (30, 50), (50, 100), (100, None))
"""Face sizes (the labelled box's longer side, in pixels) that detection recall is reported for."""


def labelled_faces(folder: str | Path) -> dict[str, list[tuple[str, tuple[float, float, float, float]]]]:
    """Per photo, its labelled faces as (label, box) from the folder's boxes.csv (no file: no faces)."""
    import csv

    listing = Path(folder) / "boxes.csv"
    faces: dict[str, list] = {}
    if listing.is_file():
        for row in csv.DictReader(listing.open()):
            box = tuple(float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            faces.setdefault(row["image"], []).append((row.get("label", "face"), box))
    else:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                faces[path.name] = []
    return faces


def match_faces(truth: list[tuple[float, ...]], found: list[tuple[float, ...]], min_iou: float = 0.4) -> dict[int, int]:
    """Labelled face index → found box index, one to one, the best overlaps first."""
    from xface.vision.pipeline import box_iou

    pairs = sorted(((box_iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True)
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in matched and j not in taken:
            matched[i] = j
            taken.add(j)
    return matched


def detection_recall(
    folder: str | Path,
    detect,
    label: str = "without_mask",
    min_size: float = 20,
    min_iou: float = 0.4,
    progress: bool = True,
) -> dict:
    """Recall of the labelled faces (of `label`, at least `min_size` px) by a `detect(rgb) -> boxes` function.

    Found boxes that match no labelled face at all (of any label) are counted as `unmatched`; on a
    folder without boxes.csv every box found is unmatched.
    """
    from xface.vision.images import load_image

    bins = {_bin_name(low, high): [0, 0] for low, high in DETECTION_SIZE_BINS}
    unmatched = 0
    photos = labelled_faces(folder)
    for name, faces in tqdm(photos.items(), desc="detecting", disable=not progress, leave=False):
        found = [tuple(box) for box in detect(load_image(Path(folder) / name))]
        matched = match_faces([box for _, box in faces], found, min_iou)
        unmatched += len(found) - len(matched)
        for index, (face_label, box) in enumerate(faces):
            size = max(box[2] - box[0], box[3] - box[1])
            if face_label != label or size < min_size:
                continue
            for low, high in DETECTION_SIZE_BINS:
                if size >= low and (high is None or size < high):
                    counts = bins[_bin_name(low, high)]
                    counts[0] += index in matched
                    counts[1] += 1
    found_total = sum(found for found, _ in bins.values())
    faces_total = sum(total for _, total in bins.values())
    return {
        "photos": len(photos),
        "faces": faces_total,
        "recall": found_total / faces_total if faces_total else None,
        "by_size": {name: {"found": f, "faces": n, "recall": f / n if n else None} for name, (f, n) in bins.items()},
        "unmatched": unmatched,
    }


def _bin_name(low: int, high: int | None) -> str:
    return f"{low}-{high} px" if high is not None else f">={low} px"


def evaluate_detection(folder: str | Path, progress: bool = True) -> dict:
    """Xface's photo detector against plain facenet-pytorch MTCNN (its defaults) on the same photos."""
    try:
        from facenet_pytorch import MTCNN
    except ModuleNotFoundError as error:
        raise TorchMissing("xface evaluate --detection (plain MTCNN, to compare with)", error.name) from None

    from xface.vision.detect import FaceDetector

    detector = FaceDetector()
    plain = MTCNN(keep_all=True, device="cpu").eval()

    def plain_boxes(image: np.ndarray) -> list:
        boxes, _ = plain.detect(image)
        return [] if boxes is None else np.asarray(boxes.tolist(), dtype=np.float64).tolist()

    return {
        "folder": str(folder),
        "xface": detection_recall(folder, lambda image: [d.box for d in detector.detect(image)], progress=progress),
        "plain_mtcnn": detection_recall(folder, plain_boxes, progress=progress),
    }


def format_detection(results: dict) -> str:
    lines = [f"Detection on {results['folder']} (unmasked faces, IoU >= 0.4; size: the box's longer side)"]
    names = list(results["xface"]["by_size"])
    lines.append(f"  {'detector':<12}{'all':>14}" + "".join(f"{name:>14}" for name in names) + f"{'unmatched':>11}")
    for key, title in (("xface", "Xface"), ("plain_mtcnn", "plain MTCNN")):
        report = results[key]
        cells = [_recall_cell(report["recall"], sum(v["found"] for v in report["by_size"].values()), report["faces"])]
        cells += [_recall_cell(v["recall"], v["found"], v["faces"]) for v in report["by_size"].values()]
        lines.append(f"  {title:<12}" + "".join(f"{cell:>14}" for cell in cells) + f"{report['unmatched']:>11}")
    return "\n".join(lines)


def _recall_cell(recall: float | None, found: int, total: int) -> str:
    return f"{recall:.3f} ({found}/{total})" if recall is not None else f"- ({found}/{total})"
