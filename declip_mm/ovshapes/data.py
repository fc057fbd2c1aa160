"""OV-Shapes files on disk for the jobs: splits written once and reused, trimmed test jsons.

Each split records the world it was drawn in (``info['world']`` of its ``annotations.json``;
splits written before worlds existed have none and count as ``'64'``). A split of one world
is never reused or overwritten for another.
"""
import json
import os
import time
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from ..datasets.ov_shapes.worlds import World, get_world
from ..datasets.ov_shapes.writer import SPLITS, write_split
from ..engine.atomic_io import atomic_write_text


def _split_summary(split_dir: str) -> Tuple[int, Optional[str]]:
    """``(scenes, world)`` of a written split; ``(0, None)`` when there is no readable one."""
    try:
        with open(os.path.join(split_dir, 'annotations.json')) as f:
            coco = json.load(f)
        return len(coco['images']), str(coco.get('info', {}).get('world', '64'))
    except (OSError, ValueError, KeyError, AttributeError):
        return 0, None


def split_size(split_dir: str) -> int:
    """Number of scenes a written split holds (0 if none)."""
    return _split_summary(split_dir)[0]


def split_world(split_dir: str) -> Optional[str]:
    """Name of the world a written split was drawn in (``'64'`` when its json records none;
    None when there is no readable ``annotations.json``)."""
    return _split_summary(split_dir)[1]


def _refuse_other_world(split_dir: str, have: Optional[str], world: Union[str, World]) -> None:
    want = get_world(world).name
    if have is not None and have != want:
        raise ValueError(f'OV-Shapes: {os.path.join(split_dir, "annotations.json")} holds '
                         f'world {have!r} scenes, but world {want!r} was asked for; use the '
                         f"world's own data root (world {want!r}: "
                         f'{get_world(want).data_root!r}) or another folder')


def check_split_world(split_dir: str, world: Union[str, World]) -> None:
    """Refuse a split written for another world.

    Raises:
        ValueError: naming the split's ``annotations.json`` and both worlds.
    """
    _refuse_other_world(split_dir, split_world(split_dir), world)


def ensure_split(root: str, name: str, n: int, world: Union[str, World] = '64') -> int:
    """Make sure ``root/name`` holds at least the first ``n`` scenes of the split; returns the
    number it holds (an existing larger split is reused; scenes are deterministic).

    Raises:
        ValueError: when ``root/name`` holds a split of another world.
    """
    from .progress import bar
    split_dir = os.path.join(root, name)
    have, have_world = _split_summary(split_dir)
    _refuse_other_world(split_dir, have_world, world)
    if have >= n:
        print(f'{name}: reusing {have} scenes in {root}/{name}')
        return have
    spec = SPLITS[name]
    with bar(n, f'making {name} scenes') as pbar:
        def wrap(it: Iterable) -> Iterable:
            for i in it:
                yield i
                pbar.update(1)
        write_split(os.path.join(root, name), n, spec.seed, spec.base_only, wrap=wrap,
                    world=world)
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


def make_data(root: Optional[str] = None, splits: Sequence[str] = ('train_base', 'test'),
              num: Optional[int] = None, world: Union[str, World] = '64') -> List[str]:
    """Write the OV-Shapes splits (images, COCO json, semantic PNGs) under ``root``.

    Deterministic: scene ``i`` of a split is made from ``(split seed, i)`` alone.

    Args:
        root: output folder (default: the world's ``data_root``).
        splits: names in ``SPLITS``.
        num: scenes per split (default: the split size; a prefix of the split).
        world: the scene variant (``'64'`` or ``'128'``).

    Returns:
        the annotation files written.

    Raises:
        ValueError: when a split folder holds a split of another world.
    """
    from tqdm import tqdm
    world = get_world(world)
    root = world.data_root if root is None else root
    paths = []
    for name in splits:
        check_split_world(os.path.join(root, name), world)
    for name in splits:
        spec = SPLITS[name]
        n = spec.n if num is None else min(num, spec.n)
        t0 = time.time()
        path = write_split(os.path.join(root, name), n, spec.seed, spec.base_only,
                           wrap=lambda it, name=name, n=n: tqdm(it, total=n, desc=name),
                           world=world)
        print(f'{name}: {n} scenes of world {world.name} (seed {spec.seed}, '
              f'base_only={spec.base_only}) -> {path} in {time.time() - t0:.0f}s')
        paths.append(path)
    return paths
