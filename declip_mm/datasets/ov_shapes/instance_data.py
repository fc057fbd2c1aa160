"""OV-Shapes distillation data that carries ground-truth instance maps (proving ground only).

The upper-bound context teacher (``DeCLIPGTInstanceTeacher``) reads each scene's instance map
from the batch. Three registered pieces put it there, beside the ordinary distillation inputs::

    dataset=dict(type='DeCLIPOVShapesInstanceDataset', ann_file='train_base/annotations.json',
                 ...)                                  # as DeCLIPUnlabeledImageDataset, + RLEs
    pipeline=[..., dict(type='DeCLIPResizePad', size=64),   # the student view
              dict(type='DeCLIPLoadInstanceMap'),           # after it: maps on its canvas
              dict(type='PackDeCLIPDistillInputsWithInstances')]

The instance map is ``(H, W)`` uint8 on the student canvas: 0 background, ``k`` for the
``k``-th annotation of the image (in file order), resized with nearest neighbour and padded
with background like the student view.
"""
import json
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ...registry import DATASETS, TRANSFORMS
from ...utils.errors import DataError
from ..distill.image_ops import resize_pad
from ..distill.transforms import PackDeCLIPDistillInputs
from ..distill.unlabeled_dataset import DeCLIPUnlabeledImageDataset


def decode_instance_map(rles: Sequence[dict], shape: Sequence[int]) -> np.ndarray:
    """COCO RLE masks -> ``(H, W)`` uint8 map: 0 background, ``k + 1`` on mask ``k``."""
    from pycocotools import mask as mask_utils
    if len(rles) > 255:
        raise DataError(f'instance map: {len(rles)} instances do not fit in uint8')
    out = np.zeros(tuple(shape[:2]), np.uint8)
    for k, rle in enumerate(rles):
        counts = rle['counts']
        rle = dict(size=rle['size'], counts=counts.encode('ascii') if isinstance(counts, str)
                   else counts)
        out[mask_utils.decode(rle).astype(bool)] = k + 1
    return out


def instance_map_to_canvas(ids: np.ndarray, size: int) -> np.ndarray:
    """Resize the long side to ``size`` (nearest) and pad bottom / right with 0."""
    return resize_pad(ids, size, interpolation='nearest')[0]


@DATASETS.register_module()
class DeCLIPOVShapesInstanceDataset(DeCLIPUnlabeledImageDataset):
    """``DeCLIPUnlabeledImageDataset`` over an OV-Shapes split whose records also hold the
    images' instance masks (``instance_rles``, COCO RLE, in annotation order).

    Args:
        ann_file: the split's ``annotations.json`` (required).
        **kwargs: as ``DeCLIPUnlabeledImageDataset``.
    """

    def load_data_list(self) -> List[dict]:
        if not self.ann_file:
            raise DataError(f'{type(self).__name__}: ann_file (an OV-Shapes annotations.json) '
                            'is required')
        with open(self.ann_file, encoding='utf-8') as f:
            coco = json.load(f)
        per_image: Dict[int, List[dict]] = defaultdict(list)
        for ann in coco.get('annotations', []):
            per_image[ann['image_id']].append(ann['segmentation'])
        prefix = self.data_prefix.get('img', '') or ''
        return [dict(img_path=self._resolve(info['file_name'], prefix), img_id=i,
                     instance_rles=per_image.get(info['id'], []),
                     instance_shape=(info['height'], info['width']))
                for i, info in enumerate(coco['images'])]


@TRANSFORMS.register_module()
class DeCLIPLoadInstanceMap(BaseTransform):
    """Decode ``instance_rles`` into ``instance_map`` on the student canvas.

    Required keys: ``instance_rles``, ``instance_shape``, ``img`` (the student view, so this
    goes after the student's ``DeCLIPResizePad``). Added key: ``instance_map`` (``(S, S)``
    uint8).
    """

    def transform(self, results: dict) -> dict:
        for key in ('instance_rles', 'instance_shape'):
            if key not in results:
                raise DataError(f'DeCLIPLoadInstanceMap needs "{key}" '
                               '(DeCLIPOVShapesInstanceDataset provides it)')
        ids = decode_instance_map(results['instance_rles'], results['instance_shape'])
        results['instance_map'] = instance_map_to_canvas(ids, max(results['img'].shape[:2]))
        return results


@TRANSFORMS.register_module()
class PackDeCLIPDistillInputsWithInstances(PackDeCLIPDistillInputs):
    """``PackDeCLIPDistillInputs`` that also puts ``instance_map`` (``(S, S)`` int64) into the
    data sample, for ``DeCLIPGTInstanceTeacher``."""

    def transform(self, results: dict) -> dict:
        if 'instance_map' not in results:
            raise DataError('PackDeCLIPDistillInputsWithInstances needs "instance_map" '
                           '(add DeCLIPLoadInstanceMap after the student DeCLIPResizePad)')
        packed = super().transform(results)
        packed['data_samples'].instance_map = torch.from_numpy(
            results['instance_map'].astype(np.int64))
        return packed
