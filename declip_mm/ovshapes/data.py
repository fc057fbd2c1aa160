"""OV-Shapes files on disk for the jobs: splits written once and reused, trimmed test jsons."""
import json
import os
import time
from typing import Iterable, List, Optional, Sequence

from ..datasets.ov_shapes.writer import SPLITS, write_split
from ..engine.atomic_io import atomic_write_text


def split_size(split_dir: str) -> int:
    """Number of scenes a written split holds (0 if none)."""
    try:
        with open(os.path.join(split_dir, 'annotations.json')) as f:
            return len(json.load(f)['images'])
    except (OSError, ValueError, KeyError):
        return 0


def ensure_split(root: str, name: str, n: int) -> int:
    """Make sure ``root/name`` holds at least the first ``n`` scenes of the split; returns the
    number it holds (an existing larger split is reused; scenes are deterministic)."""
    from .progress import bar
    have = split_size(os.path.join(root, name))
    if have >= n:
        print(f'{name}: reusing {have} scenes in {root}/{name}')
        return have
    spec = SPLITS[name]
    with bar(n, f'making {name} scenes') as pbar:
        def wrap(it: Iterable) -> Iterable:
            for i in it:
                yield i
                pbar.update(1)
        write_split(os.path.join(root, name), n, spec.seed, spec.base_only, wrap=wrap)
    return n


def first_scenes_annotations(root: str, split: str, n: int) -> str:
    """Path of a COCO json holding exactly the first ``n`` scenes of ``root/split``.

    mmdet's ``CocoMetric`` scores every image of its ``ann_file``: evaluating ``n`` scenes
    against a larger split's json would count the others' objects as missed. The whole
    ``annotations.json`` is returned when it holds ``n`` scenes; otherwise a trimmed copy
    ``annotations_first<n>.json`` is written next to it (once).
    """
    full = os.path.join(root, split, 'annotations.json')
    with open(full) as f:
        coco = json.load(f)
    if len(coco['images']) <= n:
        return full
    path = os.path.join(root, split, f'annotations_first{n}.json')
    if not os.path.isfile(path):
        images = coco['images'][:n]
        keep = {im['id'] for im in images}
        coco = dict(coco, images=images,
                    annotations=[a for a in coco['annotations'] if a['image_id'] in keep])
        atomic_write_text(path, json.dumps(coco))
    return path


def make_data(root: str = 'data/ovshapes', splits: Sequence[str] = ('train_base', 'test'),
              num: Optional[int] = None) -> List[str]:
    """Write the OV-Shapes splits (images, COCO json, semantic PNGs) under ``root``.

    Deterministic: scene ``i`` of a split is made from ``(split seed, i)`` alone.

    Args:
        root: output folder.
        splits: names in ``SPLITS``.
        num: scenes per split (default: the split size; a prefix of the split).

    Returns:
        the annotation files written.
    """
    from tqdm import tqdm
    paths = []
    for name in splits:
        spec = SPLITS[name]
        n = spec.n if num is None else min(num, spec.n)
        t0 = time.time()
        path = write_split(os.path.join(root, name), n, spec.seed, spec.base_only,
                           wrap=lambda it, name=name, n=n: tqdm(it, total=n, desc=name))
        print(f'{name}: {n} scenes (seed {spec.seed}, base_only={spec.base_only}) -> {path} '
              f'in {time.time() - t0:.0f}s')
        paths.append(path)
    return paths
