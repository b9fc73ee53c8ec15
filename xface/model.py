"""The expression transformer: a small convolutional stem feeding a ViT encoder.

Why this design: FER2013 has 28k tiny (48×48) faces and we train on two CPU cores. A pure ViT
with 6×6 patches learns slowly from so little data (no locality prior); a short convolutional
stem (as in "Early Convolutions Help Transformers See Better", Xiao et al. 2021) gives the
transformer good local features, so self-attention spends its capacity on relations between
face regions (brows ↔ mouth), trains in a fraction of the time, and runs in a few ms per face.
The stem turns the face into a 6×6 grid of tokens plus a [CLS] token; attention over those 37
tokens also gives the "where did it look" map (attention rollout) that the app shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModelForImageClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import ImageClassifierOutput
from transformers.utils import logging as hf_logging

from xface.emotions import EMOTIONS, canonical_emotion
from xface.runtime import load_export

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "xface-vit"
ONNX_FILE = "model.onnx"
"""A checkpoint folder's ONNX export (both outputs), made by `scripts/export_onnx.py`; run by ONNX Runtime."""
View = Literal["both", "as_seen", "mirrored"]


class XfaceViTConfig(PretrainedConfig):
    model_type = "xface_vit"

    def __init__(
        self,
        image_size: int = 48,
        stem_channels: tuple[int, ...] | list[int] = (32, 64, 128),
        hidden_size: int = 192,
        num_hidden_layers: int = 6,
        num_attention_heads: int = 6,
        intermediate_size: int = 384,
        hidden_dropout_prob: float = 0.1,
        drop_path_rate: float = 0.1,
        crowd_head: bool = False,
        **kwargs,
    ) -> None:
        kwargs.setdefault("id2label", dict(enumerate(EMOTIONS)))
        kwargs.setdefault("label2id", {name: i for i, name in enumerate(EMOTIONS)})
        super().__init__(**kwargs)
        self.image_size = image_size
        self.stem_channels = list(stem_channels)
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.drop_path_rate = drop_path_rate
        self.crowd_head = crowd_head
        """Two outputs on one body: `logits` is then the crowd's reading (fitted on FER+ vote shares, so "70 %
        happy" means about 7 of 10 people would say happy), and `fer2013_logits` the FER2013-label output
        (the paper's metric). Without it, both are the one FER2013-trained output."""

    @property
    def grid_size(self) -> int:
        """Tokens per side: the stem halves the image once per stage after the first, then once more."""
        return self.image_size // 2 ** len(self.stem_channels)


def _conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.GELU(),
    )


class ConvStem(nn.Module):
    """RGB or grey image → grid of tokens. Colour is dropped first: FER2013 is grey."""

    def __init__(self, config: XfaceViTConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for stage, c_out in enumerate(config.stem_channels):
            layers += [_conv_block(c_in, c_out, 1 if stage == 0 else 2), _conv_block(c_out, c_out, 1)]
            c_in = c_out
        layers.append(nn.Conv2d(c_in, config.hidden_size, 2, stride=2))
        self.layers = nn.Sequential(*layers)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.shape[1] == 3:
            # Inline constants, not a buffer: from_pretrained would leave a non-persistent buffer unset.
            red, green, blue = pixel_values.unbind(1)
            pixel_values = (0.299 * red + 0.587 * green + 0.114 * blue).unsqueeze(1)
        grid = self.layers(pixel_values)
        return grid.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, config: XfaceViTConfig) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor, want_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).view(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        # Written out, not `scaled_dot_product_attention`: for 37 tokens torch's fused CPU kernel took
        # 40 % of a training step in its backward pass (the written-out form: a few ms).
        weights = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(-1)
        out = weights @ v
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width)), weights if want_weights else None


class Block(nn.Module):
    """Pre-norm transformer block with stochastic depth."""

    def __init__(self, config: XfaceViTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.hidden_size)
        self.attn = Attention(config)
        self.norm2 = nn.LayerNorm(config.hidden_size)
        self.mlp = nn.Sequential(
            nn.Linear(config.hidden_size, config.intermediate_size),
            nn.GELU(),
            nn.Dropout(config.hidden_dropout_prob),
            nn.Linear(config.intermediate_size, config.hidden_size),
        )
        self.drop_path = 0.0  # this layer's rate: set by the model's `set_regularization`

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_path == 0.0:
            return x
        keep = torch.rand(x.shape[0], 1, 1, device=x.device) >= self.drop_path
        return x * keep / (1.0 - self.drop_path)

    def forward(self, x: torch.Tensor, want_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, weights = self.attn(self.norm1(x), want_weights)
        x = x + self._drop(attended)
        x = x + self._drop(self.mlp(self.norm2(x)))
        return x, weights


@dataclass
class XfaceViTOutput(ImageClassifierOutput):
    """`logits`: what the app shows (the crowd output where there is one); `fer2013_logits`: FER2013 labels."""

    fer2013_logits: torch.FloatTensor | None = None


class XfaceViTPreTrainedModel(PreTrainedModel):
    config_class = XfaceViTConfig
    base_model_prefix = "xface_vit"
    main_input_name = "pixel_values"

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, XfaceViTForImageClassification):
            nn.init.trunc_normal_(module.cls_token, std=0.02)
            nn.init.trunc_normal_(module.position_embeddings, std=0.02)


class XfaceViTForImageClassification(XfaceViTPreTrainedModel):
    def __init__(self, config: XfaceViTConfig) -> None:
        super().__init__(config)
        self.stem = ConvStem(config)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.grid_size**2 + 1, config.hidden_size))
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_hidden_layers))
        self.norm = nn.LayerNorm(config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.crowd_classifier = nn.Linear(config.hidden_size, config.num_labels) if config.crowd_head else None
        self.post_init()
        self.set_regularization(config.drop_path_rate, config.hidden_dropout_prob)

    def set_regularization(self, drop_path_rate: float, dropout: float) -> None:
        """Stochastic depth rising linearly to `drop_path_rate` in the last layer, and dropout; also to go on
        training a saved model with less of them."""
        self.config.drop_path_rate = drop_path_rate
        self.config.hidden_dropout_prob = dropout
        rates = torch.linspace(0, drop_path_rate, len(self.blocks)).tolist()
        for block, rate in zip(self.blocks, rates, strict=True):
            block.drop_path = rate
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = dropout

    def features(
        self, pixel_values: torch.Tensor, output_attentions: bool = False
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """The normalised [CLS] token both outputs read, (N, hidden_size), and each layer's attention if asked."""
        tokens = self.stem(pixel_values)
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.position_embeddings
        attentions = []
        for block in self.blocks:
            x, weights = block(x, output_attentions)
            if weights is not None:
                attentions.append(weights)
        return self.norm(x[:, 0]), tuple(attentions) if attentions else None

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_attentions: bool = False,
        **kwargs,
    ) -> XfaceViTOutput:
        features, attentions = self.features(pixel_values, output_attentions)
        fer2013_logits = self.classifier(self.dropout(features))
        logits = fer2013_logits if self.crowd_classifier is None else self.crowd_classifier(features)
        loss = None
        if labels is not None:
            # Training trains the FER2013 output (the crowd head is fitted afterwards on the frozen body).
            # Soft targets (FER+ vote distributions) arrive as float rows, hard labels as ints.
            loss = nn.functional.cross_entropy(fer2013_logits, labels)
        return XfaceViTOutput(loss=loss, logits=logits, fer2013_logits=fer2013_logits, attentions=attentions)


AutoConfig.register(XfaceViTConfig.model_type, XfaceViTConfig)
AutoModelForImageClassification.register(XfaceViTConfig, XfaceViTForImageClassification)


def attention_rollout(attentions: tuple[torch.Tensor, ...]) -> np.ndarray:
    """[CLS]→patch attention carried through every layer (Abnar & Zuidema 2020), as a grid in [0, 1].

    Residual connections are modelled by adding the identity before each layer's product.
    """
    rollout = None
    for layer in attentions:
        weights = layer.mean(dim=1)  # average the heads: (batch, tokens, tokens)
        weights = weights + torch.eye(weights.shape[-1])
        weights = weights / weights.sum(-1, keepdim=True)
        rollout = weights if rollout is None else weights @ rollout
    cls_to_patches = rollout[:, 0, 1:]
    side = int(round(math.sqrt(cls_to_patches.shape[-1])))
    grid = cls_to_patches.reshape(-1, side, side)
    low = grid.amin(dim=(1, 2), keepdim=True)
    high = grid.amax(dim=(1, 2), keepdim=True)
    return ((grid - low) / (high - low + 1e-12)).numpy()


class Probabilities(NamedTuple):
    """(N, 7) probabilities in EMOTIONS order from each output."""

    shown: np.ndarray  # what the app shows: the crowd's reading where the model has one
    fer2013: np.ndarray  # the FER2013-label output (the same as `shown` for a single-output checkpoint)


@dataclass
class ExpressionClassifier:
    """Any Hugging Face image classifier of facial expressions, speaking Xface's seven emotions.

    `columns[i]` says which of the checkpoint's outputs feeds EMOTIONS[i]; emotions a checkpoint
    lacks get probability 0 and extra classes (contempt...) are dropped before renormalising.
    """

    model: PreTrainedModel
    image_size: tuple[int, int]
    mean: np.ndarray
    std: np.ndarray
    rescale: float
    columns: list[list[int]]
    flip_average: bool = True
    session: object | None = None
    """An ONNX Runtime session on the same weights (see `xface.runtime`): predictions run there when set."""

    @property
    def supports_attention_map(self) -> bool:
        return isinstance(self.model, XfaceViTForImageClassification)

    def pixel_values(self, faces: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).float()
        mean = torch.from_numpy(self.mean).view(1, -1, 1, 1)
        std = torch.from_numpy(self.std).view(1, -1, 1, 1)
        return (x * self.rescale - mean) / std

    def _to_emotions(self, logits: torch.Tensor) -> torch.Tensor:
        probs = logits.float().softmax(-1)
        mapped = torch.stack([probs[:, cols].sum(-1) if cols else torch.zeros(len(probs)) for cols in self.columns], 1)
        return mapped / mapped.sum(-1, keepdim=True).clamp_min(1e-12)

    def predict(self, faces: np.ndarray, view: View | None = None) -> np.ndarray:
        """(N, H, W, 3) uint8 aligned faces at `image_size` → (N, 7) shown probabilities in EMOTIONS order."""
        return self.predict_outputs(faces, view).shown

    @torch.inference_mode()
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
            pixels = torch.cat([pixels, pixels.flip(-1)])  # one batch for both views
        elif view == "mirrored":
            pixels = pixels.flip(-1)
        readings = []
        for logits in self._logits(pixels):
            if logits is None:
                readings.append(readings[0])
                continue
            probs = self._to_emotions(logits)
            if view == "both":
                probs = (probs[: len(faces)] + probs[len(faces) :]) / 2
            readings.append(probs.numpy())
        return Probabilities(*readings)

    def _logits(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The shown output's logits and the FER2013 output's (None for a single-output checkpoint)."""
        if self.session is not None:
            shown, fer2013 = self.session.run(None, {"pixel_values": pixels.numpy()})
            return torch.from_numpy(shown), torch.from_numpy(fer2013)
        output = self.model(pixel_values=pixels)
        return output.logits, getattr(output, "fer2013_logits", None)

    @torch.inference_mode()
    def attention_map(self, face: np.ndarray) -> np.ndarray:
        """Where the transformer looked for one aligned face: a (grid, grid) map in [0, 1]."""
        if not self.supports_attention_map:
            raise ValueError("this checkpoint does not expose attention maps")
        output = self.model(pixel_values=self.pixel_values(face[None]), output_attentions=True)
        return attention_rollout(output.attentions)[0]


def _image_size(processor) -> tuple[int, int]:
    size = getattr(processor, "size", None) or {}
    if isinstance(size, int):
        return size, size
    if "height" in size:
        return int(size["height"]), int(size["width"])
    edge = int(size.get("shortest_edge", 224))
    return edge, edge


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


@contextmanager
def no_hub_progress_bars() -> Iterator[None]:
    """A small model loads and saves in milliseconds: transformers' progress bars only clutter the CLI and logs."""
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def load_classifier(
    name_or_path: str | Path | None = None,
    allow_download: bool = False,
    flip_average: bool = True,
    threads: int | None = None,
    prefer_onnx: bool = True,
) -> ExpressionClassifier:
    """Load the bundled model, or another local Hugging Face expression checkpoint.

    Nothing downloads unless the caller passes a hub id *and* `allow_download=True`. Predictions
    run on ONNX Runtime when the folder holds an export of exactly these weights (`prefer_onnx`).
    """
    source = Path(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    if not source.exists() and not allow_download:
        raise FileNotFoundError(
            f"no model at {source}; pass a local checkpoint folder (downloads are off unless asked for)"
        )
    if threads is not None:
        torch.set_num_threads(threads)
    with no_hub_progress_bars():
        model = AutoModelForImageClassification.from_pretrained(str(source), local_files_only=not allow_download)
    model.eval()
    processor = AutoImageProcessor.from_pretrained(str(source), local_files_only=not allow_download)
    channels = 3
    mean = np.broadcast_to(np.asarray(getattr(processor, "image_mean", 0.5), dtype=np.float32), (channels,)).copy()
    std = np.broadcast_to(np.asarray(getattr(processor, "image_std", 0.5), dtype=np.float32), (channels,)).copy()
    rescale = float(getattr(processor, "rescale_factor", 1 / 255)) if getattr(processor, "do_rescale", True) else 1.0
    if not getattr(processor, "do_normalize", True):
        mean, std = np.zeros(channels, np.float32), np.ones(channels, np.float32)
    return ExpressionClassifier(
        model=model,
        image_size=_image_size(processor),
        mean=mean,
        std=std,
        rescale=rescale,
        columns=emotion_columns(model.config.id2label),
        flip_average=flip_average,
        session=load_export(source / ONNX_FILE, [source / "model.safetensors"], threads or 0) if prefer_onnx else None,
    )
