"""The expression model as the app runs it: seven probabilities per aligned face, and where the model looked.

The bundled model runs on ONNX Runtime from its export (`model.onnx`, made by `scripts/export_onnx.py`
and stamped with the SHA-256 of `model.safetensors`), with numpy around it: the app then never
imports torch, which would cost 2.5 s at start-up and about 500 MB of memory. Any other Hugging Face
checkpoint, or the bundled one retrained without a fresh export, runs on torch, loaded only then.
The model itself (its layers, training, the Auto classes) lives in `xface.vision.model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import numpy as np

from xface.emotions import EMOTIONS, canonical_emotion
from xface.vision.runtime import TORCH_MODULES, TorchMissing, load_export

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL = MODELS_DIR / "xface-vit"
ONNX_FILE = "model.onnx"
"""A checkpoint folder's ONNX export: inputs `pixel_values`; outputs `logits` (shown), `fer2013_logits` and
`attention_map` (attention rollout over the token grid, in [0, 1])."""
View = Literal["both", "as_seen", "mirrored"]


class Probabilities(NamedTuple):
    """(N, 7) probabilities in EMOTIONS order from each output."""

    shown: np.ndarray  # what the app shows: the crowd's reading where the model has one
    fer2013: np.ndarray  # the FER2013-label output (the same as `shown` for a single-output checkpoint)


class Logits(NamedTuple):
    """A checkpoint's raw outputs for a batch, in its own label order."""

    shown: np.ndarray
    fer2013: np.ndarray | None  # None for a checkpoint with one output


class Backend(Protocol):
    """Runs a checkpoint on normalised (N, 3, h, w) float32 pixels."""

    supports_attention_map: bool

    def logits(self, pixels: np.ndarray) -> Logits: ...

    def attention_map(self, pixels: np.ndarray) -> np.ndarray: ...


class OnnxBackend:
    """An exported checkpoint on ONNX Runtime."""

    supports_attention_map = True

    def __init__(self, session) -> None:
        self.session = session

    def logits(self, pixels: np.ndarray) -> Logits:
        shown, fer2013 = self.session.run(["logits", "fer2013_logits"], {"pixel_values": pixels})
        return Logits(shown, fer2013)

    def attention_map(self, pixels: np.ndarray) -> np.ndarray:
        return self.session.run(["attention_map"], {"pixel_values": pixels})[0]


class TorchBackend:
    """Any Hugging Face image classifier on torch (imported only when such a checkpoint is loaded)."""

    def __init__(self, model) -> None:
        from xface.vision.model import XfaceViTForImageClassification

        self.model = model
        self.supports_attention_map = isinstance(model, XfaceViTForImageClassification)

    def logits(self, pixels: np.ndarray) -> Logits:
        import torch

        with torch.inference_mode():
            output = self.model(pixel_values=torch.from_numpy(pixels))
        fer2013 = getattr(output, "fer2013_logits", None)
        return Logits(output.logits.float().numpy(), None if fer2013 is None else fer2013.float().numpy())

    def attention_map(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        from xface.vision.model import attention_rollout

        with torch.inference_mode():
            output = self.model(pixel_values=torch.from_numpy(pixels), output_attentions=True)
        return attention_rollout(output.attentions)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


@dataclass
class ExpressionClassifier:
    """Any Hugging Face image classifier of facial expressions, speaking Xface's seven emotions.

    `columns[i]` says which of the checkpoint's outputs feeds EMOTIONS[i]; emotions a checkpoint
    lacks get probability 0 and extra classes (contempt...) are dropped before renormalising.
    """

    backend: Backend
    image_size: tuple[int, int]
    mean: np.ndarray
    std: np.ndarray
    rescale: float
    columns: list[list[int]]
    flip_average: bool = True

    @property
    def supports_attention_map(self) -> bool:
        return self.backend.supports_attention_map

    def pixel_values(self, faces: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 faces → the model's (N, 3, H, W) float32 input."""
        pixels = np.asarray(faces, dtype=np.float32).transpose(0, 3, 1, 2) * np.float32(self.rescale)
        return np.ascontiguousarray((pixels - self.mean[None, :, None, None]) / self.std[None, :, None, None])

    def _to_emotions(self, logits: np.ndarray) -> np.ndarray:
        probs = _softmax(logits.astype(np.float64))
        mapped = np.stack([probs[:, cols].sum(-1) if cols else np.zeros(len(probs)) for cols in self.columns], 1)
        return (mapped / np.maximum(mapped.sum(-1, keepdims=True), 1e-12)).astype(np.float32)

    def predict(self, faces: np.ndarray, view: View | None = None) -> np.ndarray:
        """(N, H, W, 3) uint8 aligned faces at `image_size` → (N, 7) shown probabilities in EMOTIONS order."""
        return self.predict_outputs(faces, view).shown

    def predict_outputs(self, faces: np.ndarray, view: View | None = None) -> Probabilities:
        """Both outputs for (N, H, W, 3) uint8 aligned faces, from one pass of the model.

        `view`: "both" averages each face with its mirror image (flipping is free accuracy for a
        left/right-symmetric task); "as_seen" or "mirrored" reads one view at half the cost. Default:
        "both" when `flip_average`, else "as_seen".
        """
        view = view or ("both" if self.flip_average else "as_seen")
        if len(faces) == 0:
            empty = np.zeros((0, len(EMOTIONS)), dtype=np.float32)
            return Probabilities(empty, empty)
        pixels = self.pixel_values(faces)
        if view == "both":
            pixels = np.concatenate([pixels, pixels[..., ::-1]])  # one batch for both views
        elif view == "mirrored":
            pixels = pixels[..., ::-1]
        logits = self.backend.logits(np.ascontiguousarray(pixels))
        readings = []
        for raw in (logits.shown, logits.fer2013 if logits.fer2013 is not None else logits.shown):
            probs = self._to_emotions(raw)
            if view == "both":
                probs = (probs[: len(faces)] + probs[len(faces) :]) / 2
            readings.append(probs)
        return Probabilities(*readings)

    def attention_map(self, face: np.ndarray) -> np.ndarray:
        """Where the transformer looked for one aligned face: a (grid, grid) map in [0, 1]."""
        if not self.supports_attention_map:
            raise ValueError("this checkpoint does not expose attention maps")
        return self.backend.attention_map(self.pixel_values(face[None]))[0]


def emotion_columns(id2label: dict[int, str]) -> list[list[int]]:
    """For each of EMOTIONS, the checkpoint output indices that mean it (usually exactly one)."""
    columns: list[list[int]] = [[] for _ in EMOTIONS]
    for index, label in sorted((int(k), v) for k, v in id2label.items()):
        name = canonical_emotion(str(label))
        if name is not None:
            columns[EMOTIONS.index(name)].append(index)
    if not any(columns):
        raise ValueError(f"none of the checkpoint's labels {sorted(id2label.values())} name an emotion")
    return columns


class Preprocessing(NamedTuple):
    """What a checkpoint's image processor does to a face before the model sees it."""

    image_size: tuple[int, int]
    mean: np.ndarray  # (3,)
    std: np.ndarray  # (3,)
    rescale: float


def _image_size(size: object) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    size = size or {}
    if "height" in size:
        return int(size["height"]), int(size["width"])
    edge = int(size.get("shortest_edge", 224))
    return edge, edge


def preprocessing(settings: dict) -> Preprocessing:
    """From a Hugging Face image processor's settings (`preprocessor_config.json`, or a processor's `to_dict()`)."""
    channels = 3
    mean, std = (0.5 if settings.get(key) is None else settings[key] for key in ("image_mean", "image_std"))
    mean = np.broadcast_to(np.asarray(mean, dtype=np.float32), (channels,)).copy()
    std = np.broadcast_to(np.asarray(std, dtype=np.float32), (channels,)).copy()
    rescale = float(settings.get("rescale_factor", 1 / 255)) if settings.get("do_rescale", True) else 1.0
    if not settings.get("do_normalize", True):
        mean, std = np.zeros(channels, np.float32), np.ones(channels, np.float32)
    return Preprocessing(_image_size(settings.get("size")), mean, std, rescale)


def load_classifier(
    name_or_path: str | Path | None = None,
    allow_download: bool = False,
    flip_average: bool = True,
    threads: int | None = None,
    prefer_onnx: bool = True,
) -> ExpressionClassifier:
    """Load the bundled model, or another local Hugging Face expression checkpoint.

    Nothing downloads unless the caller passes a hub id *and* `allow_download=True`. A folder with
    an export of exactly its weights runs on ONNX Runtime (`prefer_onnx`), anything else on torch.
    """
    source = Path(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    if not source.exists() and not allow_download:
        raise FileNotFoundError(
            f"no model at {source}; pass a local checkpoint folder (downloads are off unless asked for)"
        )
    session = load_export(source / ONNX_FILE, [source / "model.safetensors"], threads or 0) if prefer_onnx else None
    if session is not None:
        config = json.loads((source / "config.json").read_text())
        settings = json.loads((source / "preprocessor_config.json").read_text())
        backend: Backend = OnnxBackend(session)
        id2label = config["id2label"]
    else:
        model, settings = _torch_checkpoint(source, allow_download, threads)
        backend = TorchBackend(model)
        id2label = model.config.id2label
    prep = preprocessing(settings)
    return ExpressionClassifier(
        backend=backend,
        image_size=prep.image_size,
        mean=prep.mean,
        std=prep.std,
        rescale=prep.rescale,
        columns=emotion_columns(id2label),
        flip_average=flip_average,
    )


def _torch_checkpoint(source: Path, allow_download: bool, threads: int | None) -> tuple[object, dict]:
    """The model on torch and its image processor's settings (torch and transformers load here, not before)."""
    try:
        import torch
        from transformers import AutoImageProcessor, AutoModelForImageClassification
    except ModuleNotFoundError as error:
        if error.name not in TORCH_MODULES:
            raise
        raise TorchMissing(f"{source} (a model without an ONNX export of exactly its weights)", error.name) from None

    from xface.vision.model import no_hub_progress_bars

    if threads is not None:
        torch.set_num_threads(threads)
    with no_hub_progress_bars():
        model = AutoModelForImageClassification.from_pretrained(str(source), local_files_only=not allow_download)
    model.eval()
    processor = AutoImageProcessor.from_pretrained(str(source), local_files_only=not allow_download)
    return model, processor.to_dict()
