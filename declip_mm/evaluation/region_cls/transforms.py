"""Transforms of the region-classification pipeline (COCO panoptic ground-truth regions).

Pipeline (``configs/declip/region-cls_*.py``)::

    dict(type='LoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions'),     # masks + boxes of every segment
    dict(type='DeCLIPResizePad', size=560),      # student view (long side 560, pad)
    dict(type='DeCLIPRegionMasksToGrid', grid=35),
    dict(type='PackDeCLIPRegionInputs'),

The settings follow the official evaluation (``xiaomoguhz/DeCLIP`` ``COCOPanopticDataset``, read
for the behaviour only): thing boxes are the annotated boxes, stuff boxes the tight box of the
mask; regions with ``w * h`` outside ``[min_size^2, max_size^2]`` are dropped; at most
``max_regions`` (100) per image; masks are resized like the image to the token grid (bicubic,
then ``> 0``) and padded bottom / right.
"""
from typing import Sequence

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmengine.structures import BaseDataElement

from ...datasets.distill.transforms import hwc_to_chw, normalized_region_boxes
from ...registry import TRANSFORMS
from ...utils.errors import DataError


def rgb_to_panoptic_id(rgb: np.ndarray) -> np.ndarray:
    """COCO panoptic PNG colours ``(H, W, 3)`` RGB -> segment ids ``R + 256 G + 256^2 B``."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def mask_to_box(mask: np.ndarray) -> np.ndarray:
    """Tight xyxy box of a boolean mask (pixel extents, ``x1 = last column + 1``)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros(4, np.float32)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@TRANSFORMS.register_module()
class DeCLIPLoadPanopticRegions(BaseTransform):
    """Read the panoptic PNG and build each region's mask and box.

    Required keys: ``seg_map_path``, ``regions`` (from ``DeCLIPCocoPanopticRegionDataset``),
    ``img``. Added keys: ``regions`` (``(K, 4)`` float32 xyxy, original pixels),
    ``region_labels`` (``(K,)`` int64), ``region_is_thing`` (``(K,)`` bool),
    ``region_masks`` (``(K, H, W)`` bool).

    Args:
        min_size, max_size: keep regions with ``min_size^2 <= w * h <= max_size^2``.
        max_regions: the first this many segments of an image are used.
    """

    def __init__(self, min_size: float = 8, max_size: float = 1024, max_regions: int = 100,
                 backend_args: dict = None):
        self.min_size, self.max_size, self.max_regions = min_size, max_size, max_regions
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        png = mmcv.imfrombytes(get(results['seg_map_path'], backend_args=self.backend_args),
                               flag='color', channel_order='rgb')
        ids = rgb_to_panoptic_id(png)
        if ids.shape[:2] != results['img'].shape[:2]:
            raise DataError(f'{results["seg_map_path"]}: PNG {ids.shape[:2]} does not match the '
                            f'image {results["img"].shape[:2]}')
        boxes, labels, things, masks = [], [], [], []
        for region in results['regions'][:self.max_regions]:
            mask = ids == region['id']
            if region['is_thing']:
                x, y, w, h = region['bbox']
                box = np.array([x, y, x + w, y + h], np.float32)
            else:
                box = mask_to_box(mask)
                w, h = box[2] - box[0], box[3] - box[1]
            if not self.min_size ** 2 <= w * h <= self.max_size ** 2 or not mask.any():
                continue
            boxes.append(box)
            labels.append(region['label'])
            things.append(region['is_thing'])
            masks.append(mask)
        hw = ids.shape[:2]
        results['regions'] = np.stack(boxes) if boxes else np.zeros((0, 4), np.float32)
        results['region_labels'] = np.asarray(labels, np.int64)
        results['region_is_thing'] = np.asarray(things, bool)
        results['region_masks'] = np.stack(masks) if masks else np.zeros((0, *hw), bool)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_size={self.min_size}, max_size={self.max_size}, '
                f'max_regions={self.max_regions})')


def masks_to_grid(masks: np.ndarray, grid: int) -> np.ndarray:
    """``(K, H, W)`` bool masks -> ``(K, grid, grid)``: long side resized to ``grid`` (bicubic,
    ``> 0``) and padded bottom / right with False, as the image is resized and padded."""
    k, h, w = masks.shape
    ratio = grid / float(max(h, w))
    nh, nw = max(int(round(h * ratio)), 1), max(int(round(w * ratio)), 1)
    out = np.zeros((k, grid, grid), bool)
    if k:
        small = F.interpolate(torch.from_numpy(masks).float()[:, None], size=(nh, nw),
                              mode='bicubic', align_corners=False)[:, 0] > 0
        out[:, :nh, :nw] = small.numpy()
    return out


@TRANSFORMS.register_module()
class DeCLIPRegionMasksToGrid(BaseTransform):
    """Resize ``region_masks`` to the student's token grid (560 / 16 = 35 for B/16, 40 for L/14).

    Required keys: ``region_masks``. Modified keys: ``region_masks`` (``(K, grid, grid)``).
    """

    def __init__(self, grid: int = 35):
        self.grid = grid

    def transform(self, results: dict) -> dict:
        results['region_masks'] = masks_to_grid(results['region_masks'], self.grid)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(grid={self.grid})'


@TRANSFORMS.register_module()
class PackDeCLIPRegionInputs(BaseTransform):
    """Pack an image and its regions: ``inputs`` ``(3, S, S)`` uint8 (BGR), ``data_samples`` a
    ``BaseDataElement`` with ``boxes`` (``(K, 4)`` normalised to the canvas), ``masks``
    (``(K, g, g)`` bool), ``labels`` (``(K,)``) and ``is_thing`` (``(K,)`` bool)."""

    def __init__(self, meta_keys: Sequence[str] = ('img_path', 'img_id', 'ori_shape',
                                                    'img_shape', 'scale_factor')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        sample.boxes = torch.from_numpy(normalized_region_boxes(
            results['regions'], results['img_scale'], results['img'].shape[:2]))
        sample.masks = torch.from_numpy(np.ascontiguousarray(results['region_masks']))
        sample.labels = torch.from_numpy(results['region_labels'])
        sample.is_thing = torch.from_numpy(results['region_is_thing'])
        return dict(inputs=hwc_to_chw(results['img']), data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
