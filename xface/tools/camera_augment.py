"""Webcam- and phone-like damage for training faces: low resolution, blur, sensor noise, JPEG, light (gamma).

Why: FER2013 faces are clean 48×48 crops, while the app reads faces cut from webcam frames and phone photos,
often small (upscaled from 20–40 px), soft, noisy, JPEG-compressed and unevenly lit. A model that has seen such
faces in training reads them more steadily. Each kind of damage strikes a face independently with the given
probability, so about (1 - p)^5 of faces stay clean. JPEG goes through Pillow's real encoder.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import nn


def _unit(batch: torch.Tensor) -> torch.Tensor:
    """Normalised pixels ([-1, 1] for [0, 255]) → [0, 1]."""
    return (batch * 0.5 + 0.5).clamp(0.0, 1.0)


def camera_damage(batch: torch.Tensor, generator: torch.Generator, probability: float) -> torch.Tensor:
    """(N, 1, H, W) normalised grey faces with random camera-like damage; `probability` 0 returns them unchanged.

    Otherwise every face is also clipped to the range real pixels have (as a camera saturates), since the
    brightness and contrast of `augment` may push values past it."""
    if probability <= 0:
        return batch
    n, _, height, width = batch.shape
    out = _unit(batch).clone()

    def struck() -> torch.Tensor:
        return torch.nonzero(torch.rand(n, generator=generator) < probability).flatten().tolist()

    def uniform(low: float, high: float) -> float:
        return float(torch.rand(1, generator=generator)) * (high - low) + low

    # Light: gamma 0.6–1.7 (dim rooms, backlight, overexposed phones).
    for index in struck():
        out[index] = out[index].clamp_min(1e-4) ** (2.0 ** uniform(-0.75, 0.75))
    # Low resolution: a small face in the frame, upscaled back (16–36 px for 48 px).
    for index in struck():
        side = round(uniform(16, 36))
        small = nn.functional.interpolate(out[index : index + 1], size=(side, side), mode="area")
        out[index] = nn.functional.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)[0]
    # Blur: focus and motion softness (a 5×5 Gaussian, σ 0.4–1.3 px, one grouped convolution for all).
    blurred = struck()
    if blurred:
        sigma = torch.rand(len(blurred), 1, generator=generator) * 0.9 + 0.4
        taps = torch.exp(-(torch.arange(-2.0, 3.0) ** 2) / (2 * sigma**2))
        taps = taps / taps.sum(1, keepdim=True)
        kernels = (taps[:, :, None] * taps[:, None, :]).unsqueeze(1)
        faces = nn.functional.pad(out[blurred].transpose(0, 1), (2, 2, 2, 2), mode="replicate")
        out[blurred] = nn.functional.conv2d(faces, kernels, groups=len(blurred)).transpose(0, 1)
    # Sensor noise.
    for index in struck():
        sigma = uniform(0.01, 0.05)
        out[index] = (out[index] + sigma * torch.randn(out[index].shape, generator=generator)).clamp(0.0, 1.0)
    # JPEG at quality 15–75 (messaging apps, webcam streams), through Pillow's real encoder.
    for index in struck():
        encoded = io.BytesIO()
        Image.fromarray((out[index, 0] * 255).round().to(torch.uint8).numpy()).save(
            encoded, "JPEG", quality=round(uniform(15, 75))
        )
        out[index, 0] = torch.from_numpy(np.asarray(Image.open(encoded), np.float32) / 255)
    return (out - 0.5) / 0.5
