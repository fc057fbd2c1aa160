"""A tiny COCO-format set of real, freely licensed photos that is available offline.

Five odd-sized photos (512x512, 600x400, 451x300, 640x427, 960x643) with 14 hand-drawn boxes
and polygons in ``annotations.json`` (11 categories). The images themselves are not stored in
the repository; :func:`materialize_real_photos` writes them:

* ``astronaut``, ``coffee``, ``chelsea``, ``rocket`` come from ``skimage.data`` (public domain /
  CC0, bundled in the scikit-image wheel, no download);
* ``quokka.jpg`` and its box and polygon come from the imgaug 0.4.0 wheel (MIT). The wheel is
  fetched with ``pip download --no-deps`` into a cache and only unzipped, never installed
  (imgaug 0.4 breaks on numpy 2). Without a reachable package index the quokka is skipped and
  the written json lists the four other photos.

The annotations were checked by drawing them over the photos (:func:`draw_annotations`) and
looking at the pictures; ``tests/datasets/test_real_photos.py`` checks their consistency and
pushes the photos through the detection and segmentation pipelines.

Example::

    from declip_mm.assets.real_photos import materialize_real_photos
    ann = materialize_real_photos('data/real_photos')   # data/real_photos/{images/,annotations.json}
"""
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from typing import Dict, List, Optional

import numpy as np

from ...engine.atomic_io import atomic_write_bytes, atomic_write_text

ASSET_DIR = os.path.dirname(os.path.abspath(__file__))
ANNOTATIONS = os.path.join(ASSET_DIR, 'annotations.json')
"""The committed COCO json (boxes xywh, one polygon per object, image sources and licences)."""

IMGAUG_WHEEL = 'imgaug-0.4.0-py2.py3-none-any.whl'
QUOKKA_MEMBER = 'imgaug/quokka.jpg'


def load_annotations(path: str = ANNOTATIONS) -> dict:
    """The COCO dict of the real photos."""
    with open(path) as f:
        return json.load(f)


def default_cache_dir() -> str:
    """``$DECLIP_MM_HOME/downloads`` (default ``~/.cache/declip_mm/downloads``)."""
    home = os.environ.get('DECLIP_MM_HOME', os.path.join(os.path.expanduser('~'), '.cache',
                                                         'declip_mm'))
    return os.path.join(home, 'downloads')


def skimage_image(source: str) -> np.ndarray:
    """``'skimage.data.astronaut'`` -> ``(H, W, 3)`` uint8 RGB."""
    from skimage import data
    img = np.asarray(getattr(data, source.rsplit('.', 1)[-1])())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def fetch_imgaug_wheel(cache_dir: str, download: bool = True,
                       timeout: int = 120) -> Optional[str]:
    """Path of the cached imgaug 0.4.0 wheel, downloading it with pip if needed (and
    ``download``); None if it is not cached and pip cannot reach a package index. The wheel is
    only unzipped later, never installed."""
    wheel = os.path.join(cache_dir, IMGAUG_WHEEL)
    if os.path.isfile(wheel) or not download:
        return wheel if os.path.isfile(wheel) else None
    os.makedirs(cache_dir, exist_ok=True)
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
           '--disable-pip-version-check', '--timeout', '20', '--retries', '1',
           'imgaug==0.4.0', '-d', cache_dir]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return wheel if os.path.isfile(wheel) else None


def quokka_bytes(cache_dir: str, sha256: Optional[str] = None,
                 download: bool = True) -> Optional[bytes]:
    """The JPEG bytes of imgaug's quokka (checked against ``sha256``), or None."""
    wheel = fetch_imgaug_wheel(cache_dir, download)
    if wheel is None:
        return None
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(QUOKKA_MEMBER)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        return None
    return data


def materialize_real_photos(root: str, cache_dir: Optional[str] = None,
                            with_quokka: bool = True, download: bool = True) -> str:
    """Write the photos to ``root/images/`` and their COCO json to ``root/annotations.json``.

    Existing image files are kept (the function is cheap to call again). Photos that cannot be
    written (the quokka without a package index, or ``with_quokka=False``) are left out of the
    written json together with their annotations.

    Args:
        root: output folder (created).
        cache_dir: where the imgaug wheel is cached (default :func:`default_cache_dir`).
        with_quokka: also write imgaug's quokka (needs the cached wheel or a package index).
        download: allow ``pip download`` of the imgaug wheel when it is not cached.

    Returns:
        The path of the written ``annotations.json``.
    """
    import cv2
    coco = load_annotations()
    img_dir = os.path.join(root, 'images')
    os.makedirs(img_dir, exist_ok=True)
    kept: List[dict] = []
    for info in coco['images']:
        path = os.path.join(img_dir, info['file_name'])
        if not os.path.isfile(path):
            if info['source'].startswith('skimage.data.'):
                cv2.imwrite(path, skimage_image(info['source'])[..., ::-1])
            elif with_quokka:
                data = quokka_bytes(cache_dir or default_cache_dir(), info.get('sha256'),
                                    download)
                if data is None:
                    continue
                atomic_write_bytes(path, data)
            else:
                continue
        kept.append(info)
    ids = {info['id'] for info in kept}
    out = dict(coco, images=kept,
               annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    path = os.path.join(root, 'annotations.json')
    atomic_write_text(path, json.dumps(out))
    return path


def polygon_mask(polygon: List[float], height: int, width: int) -> np.ndarray:
    """A COCO polygon ``[x0, y0, x1, y1, ...]`` -> ``(H, W)`` bool mask (pycocotools)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.merge(mask_utils.frPyObjects([polygon], height, width))
    return mask_utils.decode(rle).astype(bool)


def semantic_maps(root: str, ann_file: Optional[str] = None) -> Dict[str, np.ndarray]:
    """``{file_name: (H, W) uint8}`` label maps: 0 background, ``category_id`` inside each
    polygon, later annotations drawn over earlier ones (the json lists them back to front)."""
    coco = load_annotations(ann_file or os.path.join(root, 'annotations.json'))
    maps = {}
    for info in coco['images']:
        sem = np.zeros((info['height'], info['width']), np.uint8)
        for ann in coco['annotations']:
            if ann['image_id'] == info['id']:
                sem[polygon_mask(ann['segmentation'][0], info['height'], info['width'])] = \
                    ann['category_id']
        maps[info['file_name']] = sem
    return maps


def draw_annotations(root: str, out_dir: str, ann_file: Optional[str] = None) -> List[str]:
    """Draw every box (rectangle), polygon (outline and tint) and name over its photo; returns
    the written PNG paths (for checking the hand annotations by eye)."""
    import cv2
    coco = load_annotations(ann_file or os.path.join(root, 'annotations.json'))
    names = {c['id']: c['name'] for c in coco['categories']}
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    colours = {c: tuple(int(v) for v in rng.integers(60, 256, 3)) for c in names}
    paths = []
    for info in coco['images']:
        img = cv2.imread(os.path.join(root, 'images', info['file_name']))
        tint = img.copy()
        for ann in coco['annotations']:
            if ann['image_id'] != info['id']:
                continue
            colour = colours[ann['category_id']]
            pts = np.asarray(ann['segmentation'][0], np.float32).reshape(-1, 2).round()
            pts = pts.astype(np.int32)
            cv2.fillPoly(tint, [pts], colour)
            cv2.polylines(img, [pts], True, colour, 2)
            x, y, w, h = (int(round(v)) for v in ann['bbox'])
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), colour, 1)
            cv2.putText(img, names[ann['category_id']], (x + 3, y + 14),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
        img = cv2.addWeighted(img, 0.7, tint, 0.3, 0)
        path = os.path.join(out_dir, os.path.splitext(info['file_name'])[0] + '.png')
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


__all__ = ['ANNOTATIONS', 'load_annotations', 'materialize_real_photos', 'semantic_maps',
           'polygon_mask', 'draw_annotations', 'fetch_imgaug_wheel', 'default_cache_dir']
