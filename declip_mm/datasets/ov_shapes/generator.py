"""Deterministic OV-Shapes scene generator (numpy + cv2 rasterisation, nothing downloaded).

In the default world ``'64'`` a scene is a 64 x 64 RGB image with 1-4 objects of distinct
classes on a textured, noisy, low-saturation background. Each object is a (colour, shape)
pair drawn anti-aliased; its mask is the pixels the shape covers at least half, its box the
tight box of the mask. Objects are at least ``MIN_SIZE`` px along their longer box side, and
their boxes (grown by ``GAP`` px) do not overlap, so masks and boxes are disjoint.

Other worlds (``worlds.WORLDS``) change the sizes and may add textured, occluding and
multi-part objects (``rich_objects``). With occlusion, objects are drawn in list order (later
on top), each mask holds the object's *visible* pixels (masks stay disjoint) and each box is
the tight box of the visible mask.

Every scene is a pure function of its generator: ``scene_rng(seed, index)`` gives scene
``index`` of a split independently of the others, so any prefix of a split can be re-made
without generating the rest.
"""
from functools import lru_cache
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .classes import BASE_IDS, CLASSES, COLOURS, SHAPES, caption_for, colour_of, shape_of
from .rich_objects import (cut_into_parts, mask_box, occlude, occluder_centre, texture_gain,
                           texture_pattern)
from .worlds import WORLDS, World, get_world

IMAGE_SIZE = WORLDS['64'].size
"""Side of every scene of the 64 px world, px."""
MIN_SIZE = WORLDS['64'].min_size
"""Smallest longer side of an object's box (64 px world), px."""
MAX_SIZE = WORLDS['64'].max_size
"""Largest nominal object size (64 px world), px (bars may be up to 1.25x longer)."""
MAX_OBJECTS = WORLDS['64'].max_objects
"""Most objects in a scene (the same in every world)."""
GAP = WORLDS['64'].gap
"""Boxes grown by this many px never overlap (64 px world)."""
_SUB = 4  # cv2 sub-pixel bits: coordinates are drawn at 1/16 px
_COLOUR_NAMES = tuple(COLOURS)


class Scene(NamedTuple):
    """One OV-Shapes scene.

    Attributes:
        image: ``(S, S, 3)`` uint8 RGB (``S`` = the world's size, 64 by default).
        boxes: ``(N, 4)`` float32 ``x1, y1, x2, y2`` (pixel edges; ``x2 = last column + 1``).
        labels: ``(N,)`` int64 indices into ``CLASSES``.
        masks: ``(N, S, S)`` bool, disjoint (visible pixels where objects occlude).
        caption: ``'a red ring and a blue bar'`` (objects in random order).
    """
    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    caption: str


class Layout(NamedTuple):
    """How a scene's objects were drawn (for statistics and tests; same order as ``Scene``).

    Attributes:
        full_masks: ``(N, S, S)`` bool masks before occlusion (after any cut into parts).
        parts: ``(N,)`` bool, the object was cut into pieces.
        occluders: ``(N,)`` bool, the object was placed to overlap an earlier one.
    """
    full_masks: np.ndarray
    parts: np.ndarray
    occluders: np.ndarray


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """Generator of scene ``index`` of the split with ``seed`` (independent per scene)."""
    return np.random.default_rng([int(seed), int(index)])


def semantic_map(scene: Scene) -> np.ndarray:
    """``(S, S)`` uint8 label map: 0 background, ``label + 1`` on each object's mask."""
    out = np.zeros(scene.image.shape[:2], np.uint8)
    for label, mask in zip(scene.labels, scene.masks):
        out[mask] = label + 1
    return out


# ---------------------------------------------------------------------------- background
@lru_cache(maxsize=4)
def _grid(size: int) -> np.ndarray:
    """``(2, size, size)`` float32 ``(yy, xx)`` pixel coordinates (read-only, cached)."""
    grid = np.mgrid[0:size, 0:size].astype(np.float32)
    grid.flags.writeable = False
    return grid


def _background(rng: np.random.Generator, size: int, scale: float = 1.0) -> np.ndarray:
    """``(size, size, 3)`` float32 grey-ish texture: a tinted level plus random plane waves
    (wavelengths and checker cells ``scale`` times those of the 64 px world)."""
    yy, xx = _grid(size)
    level = rng.uniform(60, 190)
    tint = rng.normal(0.0, 10.0, 3)
    tex = np.zeros((size, size), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        freq, theta = rng.uniform(0.03, 0.25) / scale, rng.uniform(0, np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
        tex += rng.uniform(4, 18) * wave
    if rng.random() < 0.5:  # checkerboard
        cell = int(round(int(rng.integers(6, 17)) * scale))
        tex += rng.uniform(5, 15) * (((xx // cell + yy // cell) % 2) * 2 - 1)
    return (level + tex)[..., None] + tint[None, None, :].astype(np.float32)


# ---------------------------------------------------------------------------- shapes
def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]], np.float32)


def _polygon(shape: str, size: float, rng: np.random.Generator,
             scale: float = 1.0) -> Optional[np.ndarray]:
    """Centred polygon ``(K, 2)`` for polygon shapes, ``None`` for round ones (bars are
    5-7 px times ``scale`` thick)."""
    if shape == 'square':
        h = size / 2.0
        pts = np.array([[-h, -h], [h, -h], [h, h], [-h, h]], np.float32)
        return _rotate(pts, rng.uniform(-0.35, 0.35))
    if shape == 'triangle':
        r = size / np.sqrt(3.0) * 1.1  # equilateral, side ~1.1 * size
        ang = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([r * np.cos(ang), r * np.sin(ang)], 1).astype(np.float32)
        return _rotate(pts, rng.uniform(0, 2 * np.pi))
    if shape == 'bar':
        half_len, half_th = size * rng.uniform(0.5, 0.625), rng.uniform(2.5, 3.5) * scale
        pts = np.array([[-half_len, -half_th], [half_len, -half_th], [half_len, half_th],
                        [-half_len, half_th]], np.float32)
        return _rotate(pts, rng.uniform(0, np.pi))
    return None


def _coverage(shape: str, size: float, centre: Tuple[float, float], rng: np.random.Generator,
              img: int, world_scale: float = 1.0) -> np.ndarray:
    """Anti-aliased coverage ``(img, img)`` float32 in [0, 1] of one shape."""
    canvas = np.zeros((img, img), np.uint8)
    scale = 1 << _SUB
    c = (int(round(centre[0] * scale)), int(round(centre[1] * scale)))
    poly = _polygon(shape, size, rng, world_scale)
    if poly is not None:
        pts = np.round((poly + np.array(centre, np.float32)) * scale).astype(np.int32)
        cv2.fillPoly(canvas, [pts], 255, lineType=cv2.LINE_AA, shift=_SUB)
    else:
        outer = size / 2.0
        cv2.circle(canvas, c, int(round(outer * scale)), 255, -1, cv2.LINE_AA, _SUB)
        if shape == 'ring':
            inner = outer * rng.uniform(0.45, 0.6)
            cv2.circle(canvas, c, int(round(inner * scale)), 0, -1, cv2.LINE_AA, _SUB)
    return canvas.astype(np.float32) / 255.0


def _boxes_clash(box: np.ndarray, others: Sequence[np.ndarray], gap: int) -> bool:
    for o in others:
        if (box[0] < o[2] + gap and o[0] < box[2] + gap and
                box[1] < o[3] + gap and o[1] < box[3] + gap):
            return True
    return False


def _paint(rng: np.random.Generator, label: int, img: int,
           world: Optional[World] = None) -> np.ndarray:
    """Object texture ``(img, img, 3)`` float32: jittered class colour with a linear shading,
    times a brightness pattern with probability ``world.texture``."""
    rgb = np.array(COLOURS[_COLOUR_NAMES[colour_of(label)]], np.float32)
    rgb = rgb * rng.uniform(0.85, 1.1) + rng.normal(0.0, 10.0, 3)
    yy, xx = _grid(img) / img - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    ramp = 1.0 + rng.uniform(0, 0.25) * (xx * np.cos(theta) + yy * np.sin(theta))
    if world is not None and world.texture > 0 and rng.random() < world.texture:
        pattern = texture_pattern(rng, _grid(img), world.scale)
        ramp = ramp * texture_gain(pattern, rng.uniform(0.4, 0.6))
    return rgb[None, None, :] * ramp[..., None]


# ---------------------------------------------------------------------------- scenes
def generate_scene(rng: np.random.Generator, base_only: bool = False,
                   class_ids: Optional[Sequence[int]] = None, size: Optional[int] = None,
                   max_tries: int = 50, world: Union[str, World] = '64') -> Scene:
    """Draw one scene.

    Args:
        rng: the scene's generator (e.g. ``scene_rng(seed, index)``).
        base_only: draw objects from the 24 base classes only.
        class_ids: explicit pool of class indices (overrides ``base_only``).
        size: image side (default: the world's, 64 for the proving ground).
        max_tries: placement attempts per object; a later object that does not fit is
            dropped (the first gets 20x as many attempts, so every scene has an object).
        world: a name in ``WORLDS`` (``'64'``, ``'128'``) or a :class:`World`.

    Returns:
        a :class:`Scene`.
    """
    return draw_scene(rng, base_only, class_ids, size, max_tries, world)[0]


def draw_scene(rng: np.random.Generator, base_only: bool = False,
               class_ids: Optional[Sequence[int]] = None, size: Optional[int] = None,
               max_tries: int = 50, world: Union[str, World] = '64') -> Tuple[Scene, Layout]:
    """:func:`generate_scene` plus the :class:`Layout` of its objects (same arguments).

    Objects are placed in turn. With probability ``world.occlusion`` an object after the
    first is placed to overlap a random earlier one (no gap test; every earlier object must
    keep ``min_visible`` of its area visible); otherwise its box, grown by ``world.gap``,
    must not overlap the earlier (visible) boxes. With probability ``world.parts`` the
    object is cut into pieces. Worlds without these features draw no extra random numbers.
    """
    w = get_world(world)
    size = w.size if size is None else int(size)
    pool = np.asarray(class_ids if class_ids is not None else
                      (BASE_IDS if base_only else range(len(CLASSES))), np.int64)
    n = int(rng.integers(1, w.max_objects + 1))
    wanted = rng.choice(pool, size=min(n, len(pool)), replace=False)
    canvas = _background(rng, size, w.scale)
    boxes: List[np.ndarray] = []
    labels: List[int] = []
    masks: List[np.ndarray] = []  # visible masks
    fulls, alphas, paints, parts, occluders = [], [], [], [], []
    for label in wanted:
        shape = SHAPES[shape_of(label)]
        occluder = bool(labels) and w.occlusion > 0 and rng.random() < w.occlusion
        in_parts = w.parts > 0 and rng.random() < w.parts
        for _ in range(max_tries if labels else 20 * max_tries):
            obj = rng.uniform(w.min_size, w.max_size)
            if occluder:
                target = boxes[int(rng.integers(len(boxes)))]
                centre = occluder_centre(rng, target, obj, w, size)
            else:
                centre = tuple(rng.uniform(w.max_size * 0.4, size - w.max_size * 0.4, 2))
            alpha = _coverage(shape, obj, centre, rng, size, w.scale)
            if in_parts:
                alpha = cut_into_parts(alpha, rng, w)
                if alpha is None:
                    continue
            mask = alpha >= 0.5
            box = mask_box(mask)
            if box is None or max(box[2] - box[0], box[3] - box[1]) < w.min_size:
                continue
            if min(box[:2]) < 1 or max(box[2:]) > size - 1:
                continue
            if occluder:
                visible = occlude(masks, [int(f.sum()) for f in fulls], mask, w)
                if visible is None:
                    continue
                masks[:] = visible
                boxes[:] = [mask_box(v) for v in visible]
            elif _boxes_clash(box, boxes, w.gap):
                continue
            boxes.append(box)
            labels.append(int(label))
            masks.append(mask)
            fulls.append(mask)
            alphas.append(alpha)
            paints.append(_paint(rng, int(label), size, w))
            parts.append(in_parts)
            occluders.append(occluder)
            break
    if not labels:
        raise RuntimeError('OV-Shapes: could not place any object; image size too small?')
    for alpha, paint in zip(alphas, paints):
        canvas = canvas * (1.0 - alpha[..., None]) + paint * alpha[..., None]
    canvas += rng.normal(0.0, rng.uniform(3, 10), canvas.shape).astype(np.float32)
    image = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    order = rng.permutation(len(labels))
    scene = Scene(image=image,
                  boxes=np.array(boxes, np.float32).reshape(-1, 4),
                  labels=np.array(labels, np.int64),
                  masks=np.array(masks, bool).reshape(-1, size, size),
                  caption=caption_for([labels[i] for i in order]))
    layout = Layout(full_masks=np.array(fulls, bool).reshape(-1, size, size),
                    parts=np.array(parts, bool), occluders=np.array(occluders, bool))
    return scene, layout
