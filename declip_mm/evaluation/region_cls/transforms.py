"""Transforms of the region-classification pipeline (COCO panoptic ground-truth regions).

Pipeline (``configs/declip/region-cls_*.py``)::

    dict(type='LoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions'),     # masks + boxes of every segment
    dict(type='DeCLIPRegionEvalCrops', size=224),  # crops + masked crops (crop accuracies)
    dict(type='DeCLIPResizePad', size=560),      # student view (long side 560, pad)
    dict(type='DeCLIPRegionMasksToGrid', grid=35),
    dict(type='PackDeCLIPRegionInputs'),

The settings follow the official evaluation (``xiaomoguhz/DeCLIP`` ``COCOPanopticDataset``, read
for the behaviour only): thing boxes are the annotated boxes, stuff boxes the tight box of the
mask; regions with ``w * h`` outside ``[min_size^2, max_size^2]`` are dropped; at most
``max_regions`` (100) per image; masks are resized like the image to the token grid (bicubic,
then ``> 0``) and padded bottom / right. Crops for the crop accuracy are taken from the
original image: thing boxes enlarged 1.5 times around their centre (clipped to the image),
stuff boxes as they are; the masked crop is the same window with every pixel outside the
segment set to grey 114; both are resized (long side, bicubic) and centre-padded with black.
"""
from typing import Sequence, Tuple

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmengine.structures import BaseDataElement

from ...datasets.distill.grid_regions import crop_window
from ...datasets.distill.image_ops import resize_pad
from ...datasets.distill.transforms import hwc_to_chw, normalized_region_boxes
from ...registry import TRANSFORMS
from ...utils.errors import DataError


def rgb_to_panoptic_id(rgb: np.ndarray) -> np.ndarray:
    """COCO panoptic PNG colours ``(H, W, 3)`` RGB -> segment ids ``R + 256 G + 256^2 B``."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def mask_to_box(mask: np.ndarray) -> np.ndarray:
    """xyxy box of a boolean mask as the official ``mask2box``: ``x1`` / ``y1`` are the last
    column / row of the mask (inclusive), so a one-pixel-wide mask has a zero-width box."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros(4, np.float32)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)


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


def region_crops(img: np.ndarray, boxes: np.ndarray, is_thing: np.ndarray, masks: np.ndarray,
                 size: int, thing_scale: float = 1.5, fill: int = 114
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Crops and masked crops of ground-truth regions, resized and centre-padded.

    Args:
        img: ``(H, W, 3)`` uint8 image.
        boxes: ``(K, 4)`` xyxy boxes in pixels.
        is_thing: ``(K,)`` bool; thing boxes are enlarged ``thing_scale`` times.
        masks: ``(K, H, W)`` bool segment masks.
        size: output side.
        thing_scale: enlargement of thing boxes around their centre.
        fill: value of the pixels outside the segment in the masked crop.

    Returns:
        ``(crops, masked_crops)``, each ``(K, size, size, 3)`` uint8.
    """
    h, w = img.shape[:2]
    crops, masked = [], []
    for box, thing, mask in zip(boxes, is_thing, masks):
        x0, y0, x1, y1 = crop_window(box, w, h, thing_scale if thing else 1.0)
        window = img[y0:y1, x0:x1]
        grey = window.copy()
        grey[~mask[y0:y1, x0:x1]] = fill
        crops.append(resize_pad(window, size, center=True)[0])
        masked.append(resize_pad(grey, size, center=True)[0])
    if not crops:
        empty = np.zeros((0, size, size, 3), np.uint8)
        return empty, empty.copy()
    return np.stack(crops), np.stack(masked)


@TRANSFORMS.register_module()
class DeCLIPRegionEvalCrops(BaseTransform):
    """Crop every region from the original image, plain and masked (crop accuracies).

    Goes after ``DeCLIPLoadPanopticRegions`` and before the image and masks are resized.
    Required keys: ``img``, ``regions``, ``region_is_thing``, ``region_masks``. Added keys:
    ``crops`` and ``masked_crops`` (``(K, size, size, 3)`` uint8).

    Args:
        size: crop side (224 for B/16, 336 for L/14-336).
        thing_scale: enlargement of thing boxes (1.5 in the official evaluation).
        fill: grey level outside the segment in masked crops (114).
    """

    def __init__(self, size: int = 224, thing_scale: float = 1.5, fill: int = 114):
        self.size, self.thing_scale, self.fill = size, thing_scale, fill

    def transform(self, results: dict) -> dict:
        results['crops'], results['masked_crops'] = region_crops(
            results['img'], results['regions'], results['region_is_thing'],
            results['region_masks'], self.size, self.thing_scale, self.fill)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, thing_scale={self.thing_scale}, '
                f'fill={self.fill})')


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
    (``(K, g, g)`` bool), ``labels`` (``(K,)``) and ``is_thing`` (``(K,)`` bool), plus
    ``crops`` / ``masked_crops`` (``(K, 3, c, c)`` uint8, BGR) when the pipeline made them."""

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
        for key in ('crops', 'masked_crops'):
            if key in results:
                sample.set_field(torch.from_numpy(np.ascontiguousarray(
                    results[key].transpose(0, 3, 1, 2))), key)
        return dict(inputs=hwc_to_chw(results['img']), data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
