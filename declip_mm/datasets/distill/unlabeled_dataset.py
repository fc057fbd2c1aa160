"""Unlabeled images for DeCLIP distillation: an image folder, an image list, or COCO / LVIS json.

No labels are read: COCO ``instances_train2017.json`` (the official training set) and LVIS
``lvis_v1_train.json`` only list the images. Image sources, in order of precedence:

* ``img_paths``: explicit paths or URIs (``skimage://astronaut`` reads a bundled
  scikit-image photo through ``skimage_backend``; nothing is written to disk);
* ``ann_file``: a COCO / LVIS json (``images[*].file_name``, or the last two parts of
  ``coco_url`` such as ``train2017/000000391895.jpg`` for LVIS), a LLaVA-style json list of
  ``{"image": path}`` records, or a text file with one path per line;
* otherwise every image file under ``data_prefix['img']`` (recursively, sorted).

Relative image paths are joined to ``data_prefix['img']`` (itself joined to ``data_root``).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.dataset import BaseDataset

from ...registry import DATASETS
from ...utils.errors import DataError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def image_names_from_json(obj: object, path: str) -> List[str]:
    """Image file names listed by a COCO / LVIS json object or a LLaVA-style list."""
    if isinstance(obj, dict) and isinstance(obj.get('images'), list):
        names = []
        for info in obj['images']:
            if info.get('file_name'):
                names.append(info['file_name'])
            elif info.get('coco_url'):
                names.append('/'.join(info['coco_url'].split('/')[-2:]))
            else:
                raise DataError(f'{path}: image record {info.get("id")} has neither '
                                '"file_name" nor "coco_url"')
        return names
    if isinstance(obj, list) and all(isinstance(r, dict) and 'image' in r for r in obj):
        return [r['image'] for r in obj]
    raise DataError(f'{path}: expected a COCO / LVIS json (with "images") or a list of '
                    '{"image": ...} records')


def read_image_list(path: str) -> List[str]:
    """Image names from a json annotation file or a one-path-per-line text file."""
    if not osp.isfile(path):
        raise DataError(f'image list not found: {path}')
    if path.endswith('.json'):
        with open(path, encoding='utf-8') as f:
            return image_names_from_json(json.load(f), path)
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def scan_image_folder(folder: str) -> List[str]:
    """Relative paths of all image files under ``folder``, sorted."""
    if not osp.isdir(folder):
        raise DataError(f'image folder not found: {folder}')
    found = []
    for root, _, files in os.walk(folder, followlinks=True):
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(osp.relpath(osp.join(root, name), folder))
    return sorted(found)


@DATASETS.register_module()
class DeCLIPUnlabeledImageDataset(BaseDataset):
    """Images without annotations, each a ``dict(img_path, img_id)`` for the distillation pipeline.

    Args:
        img_paths: explicit image paths / URIs (see the module docstring).
        ann_file: COCO / LVIS / LLaVA json or a text list; ignored when ``img_paths`` is given.
        data_root, data_prefix, pipeline, ...: as ``mmengine.dataset.BaseDataset``
            (``data_prefix=dict(img=...)`` is the image folder).
    """

    METAINFO: Dict = dict(classes=())

    def __init__(self, img_paths: Optional[Sequence[str]] = None, ann_file: str = '',
                 data_prefix: Optional[dict] = None, **kwargs):
        self.img_paths = list(img_paths) if img_paths is not None else None
        super().__init__(ann_file=ann_file, data_prefix=data_prefix or dict(img=''), **kwargs)

    def load_data_list(self) -> List[dict]:
        prefix = self.data_prefix.get('img', '') or ''
        if self.img_paths is not None:
            names = self.img_paths
        elif self.ann_file:
            names = read_image_list(self.ann_file)
        else:
            names = scan_image_folder(prefix or self.data_root or '.')
        if not names:
            raise DataError(f'{type(self).__name__}: no images found (img_paths={self.img_paths}, '
                            f'ann_file={self.ann_file!r}, folder={prefix!r})')
        return [dict(img_path=self._resolve(name, prefix), img_id=i)
                for i, name in enumerate(names)]

    @staticmethod
    def _resolve(name: str, prefix: str) -> str:
        if '://' in name or osp.isabs(name) or not prefix:
            return name
        return osp.join(prefix, name)
