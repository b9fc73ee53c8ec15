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

import numpy as np
import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForImageClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import ImageClassifierOutput
from transformers.utils import logging as hf_logging

from xface.emotions import EMOTIONS


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


def rollout_grid(attentions: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """[CLS]→patch attention carried through every layer (Abnar & Zuidema 2020), as a (N, grid, grid) map in [0, 1].

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
    return (grid - low) / (high - low + 1e-12)


def attention_rollout(attentions: tuple[torch.Tensor, ...]) -> np.ndarray:
    """`rollout_grid` as a numpy array."""
    return rollout_grid(attentions).numpy()


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
