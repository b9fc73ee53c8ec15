"""Small warps of an aligned face (`xface.tools.views`), read by test-time views and view-averaged teachers."""

from __future__ import annotations

import numpy as np
import torch

from tests.conftest import FER_NPZ
from xface.tools.train import to_pixels
from xface.tools.views import WARP_SETS, WARPS, Warp


def test_the_aligned_warp_leaves_the_face_alone_and_a_zoom_keeps_its_middle_and_moves_its_edges() -> None:
    pixels = to_pixels(np.load(FER_NPZ)["x_val"][:4])
    assert torch.equal(WARPS["aligned"].apply(pixels), pixels)
    zoomed = Warp(zoom=1.06).apply(pixels)
    assert zoomed.shape == pixels.shape
    assert torch.allclose(zoomed[..., 23:25, 23:25], pixels[..., 23:25, 23:25], atol=0.15)
    assert not torch.allclose(zoomed[..., :4, :4], pixels[..., :4, :4], atol=0.05)


def test_a_turn_to_the_left_is_a_turn_to_the_right_of_the_mirror_image() -> None:
    pixels = to_pixels(np.load(FER_NPZ)["x_val"][:4])
    left_then_mirrored = WARPS["turn left"].apply(pixels).flip(-1)
    mirrored_then_right = WARPS["turn right"].apply(pixels.flip(-1))
    assert torch.allclose(left_then_mirrored, mirrored_then_right, atol=1e-4)
    assert not torch.allclose(WARPS["turn left"].apply(pixels), WARPS["turn right"].apply(pixels), atol=0.05)


def test_warping_uint8_faces_matches_warping_their_pixels_up_to_rounding() -> None:
    grey = np.load(FER_NPZ)["x_val"][:8]
    colour = np.repeat(grey[..., None], 3, -1)
    warp = WARPS["turn left"]
    for faces in (grey, colour):
        warped = warp.apply_to_faces(faces)
        assert warped.dtype == np.uint8 and warped.shape == faces.shape
        assert not np.array_equal(warped, faces)
        difference = (to_pixels(warped) - warp.apply(to_pixels(faces))).abs().max()
        assert float(difference) <= 1.01 / 255  # half a grey level either way, in [-1, 1] units
    assert WARPS["aligned"].apply_to_faces(grey) is grey


def test_every_set_of_warps_starts_from_the_aligned_face_and_names_only_known_warps() -> None:
    for names in WARP_SETS.values():
        assert names[0] == "aligned" and set(names) <= set(WARPS) and len(set(names)) == len(names)
    assert WARP_SETS["aligned"] == ["aligned"] and WARP_SETS["all"] == list(WARPS)
