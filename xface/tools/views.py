"""Small warps of an aligned face, for reading it averaged over several views of itself.

Why: a model trained on randomly warped faces reads a face more steadily averaged over a few small zooms and
turns (FER2013 validation +1.2 points for the bundled model, TRAINING.md "Test-time views"). Each view costs
the live page another model pass, and the app reads one aligned view; but a teacher's soft targets are
computed once, so they may average views (`xface teacher --warps`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch


class Warp(NamedTuple):
    """A small affine change of an aligned face: degrees, zoom factor, shifts as shares of half the face."""

    degrees: float = 0.0
    zoom: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0

    def apply(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) float faces warped as training warps them (an affine grid, borders repeated)."""
        if self == Warp():
            return pixels
        angle = math.radians(self.degrees)
        cos, sin = math.cos(angle) / self.zoom, math.sin(angle) / self.zoom
        theta = torch.tensor([[cos, -sin, self.shift_x], [sin, cos, self.shift_y]]).expand(len(pixels), 2, 3)
        grid = torch.nn.functional.affine_grid(theta, list(pixels.shape), align_corners=False)
        return torch.nn.functional.grid_sample(pixels, grid, padding_mode="border", align_corners=False)

    def apply_to_faces(self, faces: np.ndarray) -> np.ndarray:
        """(N, H, W) grey or (N, H, W, 3) colour uint8 faces warped the same way, still uint8."""
        if self == Warp():
            return faces
        pixels = torch.from_numpy(faces).float()
        pixels = pixels.permute(0, 3, 1, 2) if pixels.ndim == 4 else pixels.unsqueeze(1)
        warped = self.apply(pixels).round().clamp(0, 255).to(torch.uint8)
        warped = warped.permute(0, 2, 3, 1) if faces.ndim == 4 else warped.squeeze(1)
        return np.ascontiguousarray(warped.numpy())


WARPS = {
    "aligned": Warp(),
    "zoom in": Warp(zoom=1.06),
    "zoom out": Warp(zoom=0.94),
    "turn left": Warp(degrees=6),
    "turn right": Warp(degrees=-6),
    "shift left": Warp(shift_x=0.05),
    "shift right": Warp(shift_x=-0.05),
    "shift up": Warp(shift_y=0.05),
    "shift down": Warp(shift_y=-0.05),
}
WARP_SETS = {
    "aligned": ["aligned"],
    "zoom-in": ["aligned", "zoom in"],
    "zooms": ["aligned", "zoom in", "zoom out"],
    "turns": ["aligned", "turn left", "turn right"],
    "sideways-shifts": ["aligned", "shift left", "shift right"],
    "zooms-and-turns": ["aligned", "zoom in", "zoom out", "turn left", "turn right"],
    "all": list(WARPS),
}
"""Named sets of warps, each read and averaged together (`aligned` alone is how the app reads a face)."""
