"""Richer objects for the larger OV-Shapes worlds: textures, parts and occlusion.

Small pure functions on numpy arrays that ``generator`` calls only when a world switches the
feature on (``World.texture``, ``World.parts``, ``World.occlusion``), so the 64 px world draws
exactly the random numbers it always drew.

- **Texture**: a brightness pattern (stripes, checks or dots of random period and
  orientation) that multiplies an object's colour; the hue, half the class identity, stays.
- **Parts**: 1-2 thin background gaps cut an object into several disconnected pieces of one
  instance.
- **Occlusion**: an object placed near an earlier one and drawn on top; the earlier masks keep
  only their visible pixels, and the placement is refused when one keeps too little.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .worlds import World

_SUB = 4  # cv2 sub-pixel bits, as in generator
TEXTURE_KINDS = ('stripes', 'checks', 'dots')


# ---------------------------------------------------------------------------- masks
def mask_box(mask: np.ndarray) -> Optional[np.ndarray]:
    """Tight box ``(4,)`` float32 ``x1, y1, x2, y2`` of a ``(H, W)`` bool mask (None if empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def piece_areas(mask: np.ndarray) -> np.ndarray:
    """Pixel counts ``(K,)`` of the 8-connected pieces of a ``(H, W)`` bool mask."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return stats[1:n, cv2.CC_STAT_AREA]


# ---------------------------------------------------------------------------- texture
def texture_pattern(rng: np.random.Generator, grid: np.ndarray, scale: float) -> np.ndarray:
    """A ``(H, W)`` float32 pattern in ``[-1, 1]``: stripes, checks or dots.

    Args:
        rng: the scene's generator.
        grid: ``(2, H, W)`` ``(yy, xx)`` pixel coordinates.
        scale: world size / 64; the period is 3-9 px times ``scale``.
    """
    yy, xx = grid
    kind = TEXTURE_KINDS[int(rng.integers(len(TEXTURE_KINDS)))]
    period = rng.uniform(3.0, 9.0) * scale
    theta = rng.uniform(0, np.pi)
    phase = rng.uniform(0, 2 * np.pi, 2)
    u = (xx * np.cos(theta) + yy * np.sin(theta)) * (2 * np.pi / period) + phase[0]
    v = (yy * np.cos(theta) - xx * np.sin(theta)) * (2 * np.pi / period) + phase[1]
    if kind == 'stripes':
        raw = np.sin(u)
    elif kind == 'checks':
        raw = np.sin(u) * np.sin(v)
    else:  # bright dots on a dark ground
        raw = np.cos(u) + np.cos(v) - 1.0
    return np.tanh(3.0 * raw).astype(np.float32)


def texture_gain(pattern: np.ndarray, amplitude: float) -> np.ndarray:
    """Brightness factor ``(H, W)`` of a pattern: from ``1 - amplitude`` (pattern -1) to
    ``1 + amplitude / 2`` (pattern +1); darkening more than brightening keeps bright colours
    from clipping to white."""
    return 1.0 + amplitude * (0.75 * pattern - 0.25)


# ---------------------------------------------------------------------------- parts
def _band(point: np.ndarray, direction: np.ndarray, width: float, size: int) -> np.ndarray:
    """Anti-aliased coverage ``(size, size)`` float32 of a straight band across the image."""
    normal = np.array([-direction[1], direction[0]])
    far, half = 2.0 * size * direction, 0.5 * width * normal
    pts = np.stack([point - far - half, point + far - half, point + far + half,
                    point - far + half])
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(canvas, [np.round(pts * (1 << _SUB)).astype(np.int32)], 255,
                 lineType=cv2.LINE_AA, shift=_SUB)
    return canvas.astype(np.float32) / 255.0


def cut_into_parts(alpha: np.ndarray, rng: np.random.Generator,
                   world: World) -> Optional[np.ndarray]:
    """Cut an object's coverage by 1-2 thin gaps across its long axis.

    The gaps are bands 1.25-2 px times ``world.scale`` wide, roughly perpendicular to the
    mask's principal axis, through points within a quarter of its length of the centroid.

    Args:
        alpha: ``(H, W)`` float32 coverage in ``[0, 1]``.
        rng: the scene's generator.
        world: gives the scale and ``min_piece``.

    Returns:
        the cut coverage, or None when the cut mask is not at least two pieces of at least
        ``world.min_piece`` px each.
    """
    mask = (alpha >= 0.5).astype(np.uint8)
    m = cv2.moments(mask, binaryImage=True)
    if m['m00'] == 0:
        return None
    centre = np.array([m['m10'] / m['m00'], m['m01'] / m['m00']])
    axis_angle = 0.5 * np.arctan2(2 * m['mu11'], m['mu20'] - m['mu02'])
    axis = np.array([np.cos(axis_angle), np.sin(axis_angle)])
    ys, xs = np.nonzero(mask)
    proj = (xs - centre[0]) * axis[0] + (ys - centre[1]) * axis[1]
    length = float(proj.max() - proj.min())
    if int(rng.integers(1, 3)) == 1:
        offsets = [rng.uniform(-0.15, 0.15)]
    else:
        offsets = [-rng.uniform(0.1, 0.25), rng.uniform(0.1, 0.25)]
    gaps = np.zeros_like(alpha)
    for t in offsets:
        across = axis_angle + np.pi / 2 + rng.uniform(-0.4, 0.4)
        direction = np.array([np.cos(across), np.sin(across)])
        width = rng.uniform(1.25, 2.0) * world.scale
        gaps = np.maximum(gaps, _band(centre + t * length * axis, direction, width,
                                      alpha.shape[0]))
    cut = alpha * (1.0 - gaps)
    areas = piece_areas(cut >= 0.5)
    if len(areas) < 2 or areas.min() < world.min_piece:
        return None
    return cut


# ---------------------------------------------------------------------------- occlusion
def occluder_centre(rng: np.random.Generator, target: np.ndarray, obj: float,
                    world: World, size: int) -> Tuple[float, float]:
    """Centre for an object of nominal size ``obj`` that overlaps the box ``target``.

    The centre lies in a random direction from the target's centre, at 0.5-1.0 of the sum of
    the two half sizes, clipped to where generator places centres.
    """
    half_target = 0.5 * float(max(target[2] - target[0], target[3] - target[1]))
    angle = rng.uniform(0, 2 * np.pi)
    dist = rng.uniform(0.5, 1.0) * (half_target + 0.5 * obj)
    lo, hi = world.max_size * 0.4, size - world.max_size * 0.4
    cx = 0.5 * (target[0] + target[2]) + dist * np.cos(angle)
    cy = 0.5 * (target[1] + target[3]) + dist * np.sin(angle)
    return float(np.clip(cx, lo, hi)), float(np.clip(cy, lo, hi))


def occlude(visible: Sequence[np.ndarray], full_areas: Sequence[int], new_mask: np.ndarray,
            world: World) -> Optional[List[np.ndarray]]:
    """Visible masks of earlier objects once ``new_mask`` is drawn on top of them.

    Args:
        visible: ``(H, W)`` bool visible masks of the objects drawn so far.
        full_areas: their unoccluded areas, px.
        new_mask: ``(H, W)`` bool mask of the new, topmost object.
        world: gives ``min_visible``, ``min_size`` and ``min_piece``.

    Returns:
        the new visible masks, or None when one of them would keep less than
        ``min_visible`` of its full area, a visible box with longer side under ``min_size``,
        or a piece under ``min_piece`` px.
    """
    out = []
    for vis, area in zip(visible, full_areas):
        kept = vis & ~new_mask
        if kept.sum() < world.min_visible * area:
            return None
        box = mask_box(kept)
        if max(box[2] - box[0], box[3] - box[1]) < world.min_size:
            return None
        if piece_areas(kept).min() < world.min_piece:
            return None
        out.append(kept)
    return out
