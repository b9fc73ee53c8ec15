"""Scores shared by training and evaluation: FER+ votes turned into labels and shares, accuracy, KL, calibration.

Plain numpy, so that evaluation never needs torch and training and evaluation never import each other.
"""

from __future__ import annotations

import numpy as np

from xface.emotions import EMOTIONS

# FER+ vote columns → FER2013 label index (contempt, unknown and not-a-face have no FER2013 class).
FERPLUS_TO_FER = {"anger": 0, "disgust": 1, "fear": 2, "happiness": 3, "sadness": 4, "surprise": 5, "neutral": 6}


def not_a_face(votes: np.ndarray, columns: list[str]) -> np.ndarray:
    """Images that most FER+ annotators marked as not a face."""
    nf = votes[:, columns.index("NF")]
    return (votes[:, 0] >= 0) & (nf * 2 > votes.clip(0).sum(1))


CALIBRATION_BINS = 10


def classification_report(truth: np.ndarray, predicted: np.ndarray, classes: int = len(EMOTIONS)) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted averages, confusion matrix."""
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    support = confusion.sum(1)
    predicted_count = confusion.sum(0)
    correct = np.diag(confusion)
    precision = np.divide(correct, predicted_count, out=np.zeros(classes), where=predicted_count > 0)
    recall = np.divide(correct, support, out=np.zeros(classes), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(classes), where=precision + recall > 0)
    weights = support / max(support.sum(), 1)
    per_class = {
        EMOTIONS[i]: {"precision": precision[i], "recall": recall[i], "f1": f1[i], "support": int(support[i])}
        for i in range(classes)
    }
    return {
        "accuracy": float(correct.sum() / max(confusion.sum(), 1)),
        "per_class": {
            name: {k: (float(v) if k != "support" else v) for k, v in row.items()} for name, row in per_class.items()
        },
        "macro_avg": {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
        "weighted_avg": {
            "precision": float(precision @ weights),
            "recall": float(recall @ weights),
            "f1": float(f1 @ weights),
        },
        "confusion_matrix": confusion.tolist(),
        "count": int(confusion.sum()),
    }


def ferplus_majority(votes: np.ndarray, columns: list[str]) -> np.ndarray:
    """FER+ majority label in FER2013 order per row; -1 where unknown, tied, or not one of the seven."""
    seven = np.stack([votes[:, columns.index(name)] for name in sorted(FERPLUS_TO_FER, key=FERPLUS_TO_FER.get)], 1)
    best = seven.max(1)
    others = votes.clip(0).sum(1) - seven.sum(1)  # contempt, unknown, not-a-face
    unique = (seven == best[:, None]).sum(1) == 1
    return np.where((votes[:, 0] >= 0) & unique & (best > others) & (best > 0), seven.argmax(1), -1)


def crowd_shares(votes: np.ndarray, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each face's FER+ votes as shares of the seven emotions, and which faces have such votes.

    Contempt, unknown and not-a-face votes are left out (no emotion of the seven), as are faces with
    no FER+ row (-1) and faces most annotators called not a face.
    """
    seven = np.stack([votes[:, columns.index(name)] for name in sorted(FERPLUS_TO_FER, key=FERPLUS_TO_FER.get)], 1)
    seven = seven.clip(0).astype(np.float64)
    totals = seven.sum(1)
    known = (votes[:, 0] >= 0) & (totals > 0) & ~not_a_face(votes, columns)
    shares = np.divide(seven, totals[:, None], out=np.zeros_like(seven), where=totals[:, None] > 0)
    return shares, known


def mean_kl(shares: np.ndarray, probs: np.ndarray) -> float:
    """Mean KL(crowd shares ‖ probabilities) in nats: 0 when the probabilities are the crowd's vote shares."""
    q = np.clip(np.asarray(probs, np.float64), 1e-7, 1.0)
    terms = np.where(shares > 0, shares * np.log(np.where(shares > 0, shares, 1.0) / q), 0.0)
    return float(terms.sum(1).mean())


def calibration(predicted: np.ndarray, observed: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Reliability of probabilities: per equal-width bin, mean predicted against mean observed, and the
    expected calibration error (ECE: the count-weighted mean gap)."""
    predicted, observed = np.asarray(predicted, np.float64).ravel(), np.asarray(observed, np.float64).ravel()
    index = np.minimum((predicted * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    mean_predicted = np.bincount(index, predicted, bins) / np.maximum(counts, 1)
    mean_observed = np.bincount(index, observed, bins) / np.maximum(counts, 1)
    ece = float((counts * np.abs(mean_predicted - mean_observed)).sum() / max(counts.sum(), 1))
    return {
        "ece": ece,
        "bins": [
            {"predicted": float(p), "observed": float(o), "count": int(c)}
            for p, o, c in zip(mean_predicted, mean_observed, counts, strict=True)
            if c > 0
        ],
    }
