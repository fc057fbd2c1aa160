"""Write OV-Shapes splits to disk: PNG images, COCO json (boxes + RLE masks), semantic PNGs.

Layout of a split ``<root>/<name>/``::

    images/000000.png       RGB scene
    semantic/000000.png     uint8 labels: 0 background, k + 1 for class k of CLASSES
    annotations.json        COCO: images (with 'caption'), annotations (bbox xywh, RLE
                            'segmentation', area = mask pixels), categories (id k + 1,
                            name 'red ring', 'colour', 'shape', 'split': base / novel)

Masks are RLE because rings have holes, which a single COCO polygon cannot express; mmdet's
``LoadAnnotations(with_mask=True)`` (``poly2mask=True``, the default) decodes them.
"""
import json
import os
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Union

import cv2
import numpy as np

from ...engine.atomic_io import atomic_write_text
from .classes import CLASSES, COLOURS, NOVEL_CLASSES, SHAPES, colour_of, shape_of
from .generator import Scene, generate_scene, scene_rng, semantic_map
from .worlds import World, get_world


class SplitSpec(NamedTuple):
    """A named split: ``n`` scenes made from ``seed``; base classes only or all 30."""
    n: int
    seed: int
    base_only: bool


SPLITS: Dict[str, SplitSpec] = {
    'clip': SplitSpec(40000, 0, False),     # CLIP pretraining (captions of all 30 classes)
    'train_base': SplitSpec(16000, 1, True),  # distillation and box training: base only
    'test': SplitSpec(1500, 2, False),        # evaluation: all 30 classes
}
"""The proving-ground splits (``tools/ovshapes/make_data.py`` writes them); the same names and
seeds in every world, whose ``data_root`` tells the splits of different worlds apart."""


def make_scenes(n: int, seed: int, base_only: bool, start: int = 0,
                wrap: Optional[Callable[[Iterable], Iterable]] = None,
                world: Union[str, World] = '64') -> List[Scene]:
    """Scenes ``start .. start + n - 1`` of a split of ``world``, in memory."""
    indices: Iterable[int] = range(start, start + n)
    if wrap is not None:
        indices = wrap(indices)
    return [generate_scene(scene_rng(seed, i), base_only=base_only, world=world)
            for i in indices]


def categories() -> List[dict]:
    """COCO ``categories``: ids 1..30 in ``CLASSES`` order with colour / shape / split."""
    colours = list(COLOURS)
    return [dict(id=i + 1, name=name, colour=colours[colour_of(i)], shape=SHAPES[shape_of(i)],
                 split='novel' if name in NOVEL_CLASSES else 'base')
            for i, name in enumerate(CLASSES)]


def encode_rle(mask: np.ndarray) -> dict:
    """COCO compressed RLE of a ``(H, W)`` bool mask (``counts`` as str, json-ready)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def scene_annotations(scene: Scene, image_id: int, first_ann_id: int) -> List[dict]:
    """COCO annotation dicts of one scene (``bbox`` xywh, RLE mask, ``area`` in pixels)."""
    anns = []
    for j, (box, label, mask) in enumerate(zip(scene.boxes, scene.labels, scene.masks)):
        x1, y1, x2, y2 = (float(v) for v in box)
        anns.append(dict(id=first_ann_id + j, image_id=image_id, category_id=int(label) + 1,
                         bbox=[x1, y1, x2 - x1, y2 - y1], area=int(mask.sum()),
                         segmentation=encode_rle(mask), iscrowd=0))
    return anns


def write_split(root: str, n: int, seed: int, base_only: bool,
                wrap: Optional[Callable[[Iterable], Iterable]] = None,
                world: Union[str, World] = '64') -> str:
    """Generate and write one split; returns the path of its ``annotations.json``.

    Args:
        root: the split's folder (created); ``images/``, ``semantic/`` and
            ``annotations.json`` are written inside.
        n: number of scenes.
        seed: split seed (scene ``i`` uses ``scene_rng(seed, i)``).
        base_only: draw base classes only (the novel combinations never appear).
        wrap: optional iterator wrapper for progress (e.g. ``tqdm``).
        world: the scene variant (a name in ``WORLDS`` or a ``World``); its name is
            recorded as ``info['world']``.
    """
    world = get_world(world)
    img_dir, sem_dir = os.path.join(root, 'images'), os.path.join(root, 'semantic')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(sem_dir, exist_ok=True)
    images, annotations = [], []
    indices: Iterable[int] = range(n)
    if wrap is not None:
        indices = wrap(indices)
    for i in indices:
        scene = generate_scene(scene_rng(seed, i), base_only=base_only, world=world)
        name = f'{i:06d}.png'
        cv2.imwrite(os.path.join(img_dir, name), scene.image[..., ::-1])
        cv2.imwrite(os.path.join(sem_dir, name), semantic_map(scene))
        h, w = scene.image.shape[:2]
        images.append(dict(id=i + 1, file_name=name, height=h, width=w, caption=scene.caption))
        annotations += scene_annotations(scene, i + 1, len(annotations) + 1)
    coco = dict(info=dict(description='OV-Shapes (declip_mm procedural open-vocabulary world)',
                          seed=seed, base_only=base_only, num_images=n, world=world.name),
                images=images, annotations=annotations, categories=categories())
    path = os.path.join(root, 'annotations.json')
    atomic_write_text(path, json.dumps(coco))
    return path
