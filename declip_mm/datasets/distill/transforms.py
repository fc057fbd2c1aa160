"""Registered transforms of the DeCLIP distillation pipeline (unlabeled images, no augmentation).

A typical pipeline (``configs/declip/``)::

    dict(type='LoadImageFromFile'),                       # mmcv; BGR uint8, original size
    dict(type='DeCLIPGridRegions', max_split=6, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=224),             # teacher crops of the regions
    dict(type='DeCLIPResizePad', size=490, out_key='vfm_img'),   # VFM view
    dict(type='DeCLIPResizePad', size=560),               # student view (replaces 'img')
    dict(type='PackDeCLIPDistillInputs'),

The crops and the VFM view are made from the original image, so the student resize, which
replaces ``results['img']``, comes last. Images stay uint8 with 0 (black) padding; the data
preprocessor converts BGR to RGB and normalises (CLIP mean / std for the student and the crops,
ImageNet for the VFM view), as the official pipeline pads before normalising.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from ...registry import TRANSFORMS
from .grid_regions import crop_window, sample_grid_regions
from .image_ops import resize_pad


@TRANSFORMS.register_module()
class DeCLIPGridRegions(BaseTransform):
    """Draw the pseudo-regions: up to ``max_boxes`` shuffled cells of a random m x n grid.

    Required keys: ``img``. Added keys: ``regions`` (``(K, 4)`` float32 xyxy, original
    pixels), ``grid_shape`` (``(m, n)``).

    Args:
        max_split: largest row / column count ``M`` (choices as in ``grid_regions``).
        max_boxes: the most regions kept per image.
        min_size: images whose short side is below this are skipped (the transform returns
            None and the dataset draws another image), as the official loader skips images
            smaller than 10 px.
    """

    def __init__(self, max_split: int = 6, max_boxes: int = 20, min_size: int = 10):
        if max_boxes < 1:
            raise ValueError(f'max_boxes must be >= 1, got {max_boxes}')
        self.max_split, self.max_boxes, self.min_size = max_split, max_boxes, min_size

    def transform(self, results: dict) -> Optional[dict]:
        h, w = results['img'].shape[:2]
        if min(h, w) < self.min_size:
            return None
        regions, grid = sample_grid_regions(w, h, self.max_split, self.max_boxes)
        results['regions'] = regions
        results['grid_shape'] = grid
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_split={self.max_split}, '
                f'max_boxes={self.max_boxes}, min_size={self.min_size})')


@TRANSFORMS.register_module()
class DeCLIPRegionCrops(BaseTransform):
    """Crop every region from the original image for the content teacher.

    Each crop's long side is resized to ``size`` (bicubic) and the crop is centre-padded with
    black to ``size x size`` (224 for B students, 336 for L/14-336).

    Required keys: ``img``, ``regions``. Added keys: ``crops`` (``(K, size, size, 3)`` uint8).

    Args:
        size: crop side.
        crop_scale: enlarge each region around its centre before cropping (1.0: the cell).
        backend: resize backend of ``mmcv.imresize`` (``'pillow'`` as the official code).
    """

    def __init__(self, size: int = 224, crop_scale: float = 1.0, backend: str = 'pillow'):
        self.size, self.crop_scale, self.backend = size, crop_scale, backend

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        crops = []
        for box in results['regions']:
            x0, y0, x1, y1 = crop_window(box, w, h, self.crop_scale)
            crop, _ = resize_pad(img[y0:y1, x0:x1], self.size, center=True, backend=self.backend)
            crops.append(crop)
        results['crops'] = np.stack(crops, 0) if crops else \
            np.zeros((0, self.size, self.size, 3), np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, crop_scale={self.crop_scale})'


@TRANSFORMS.register_module()
class DeCLIPResizePad(BaseTransform):
    """Resize the long side of ``results['img']`` to ``size`` and pad bottom / right to a square.

    Required keys: ``img``. Added keys: ``<out_key>`` (``(size, size, 3)`` uint8) and
    ``<out_key>_scale`` (the resize factor). With ``out_key='img'`` (the student view) the
    image is replaced and ``img_shape``, ``pad_shape`` and ``scale_factor`` are updated too.

    Args:
        size: canvas side: 560 for the student; ``(560 // p_student) * p_vfm`` for the VFM view,
            so the VFM token grid equals the student's (490 for DINOv2-B/14 with a B/16 student).
        out_key: where the view goes.
        backend: resize backend of ``mmcv.imresize``.
    """

    def __init__(self, size: int = 560, out_key: str = 'img', backend: str = 'pillow'):
        self.size, self.out_key, self.backend = size, out_key, backend

    def transform(self, results: dict) -> dict:
        img, scale = resize_pad(results['img'], self.size, backend=self.backend)
        results[self.out_key] = img
        results[f'{self.out_key}_scale'] = scale
        if self.out_key == 'img':
            results['img_shape'] = img.shape[:2]
            results['pad_shape'] = img.shape[:2]
            results['scale_factor'] = (scale, scale)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, out_key={self.out_key!r})'


def normalized_region_boxes(regions: np.ndarray, scale: float, canvas: Sequence[int]
                            ) -> np.ndarray:
    """Original-pixel xyxy boxes -> student-canvas coordinates normalised to ``[0, 1]``.

    Args:
        regions: ``(K, 4)`` boxes in original pixels.
        scale: the student resize factor.
        canvas: ``(H, W)`` of the padded student view.
    """
    h, w = canvas
    return (regions * scale / np.array([w, h, w, h], np.float32)).astype(np.float32)


def hwc_to_chw(img: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` uint8 array -> contiguous ``(C, H, W)`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackDeCLIPDistillInputs(BaseTransform):
    """Pack a distillation sample for ``DeCLIPDistiller``.

    Output ``inputs``: ``dict(student=(3, S, S), vfm=(3, V, V), crops=(K, 3, c, c))`` uint8
    tensors in BGR order. Output ``data_samples``: a ``BaseDataElement`` whose ``boxes``
    (``(K, 4)`` float32) are the regions in student-canvas coordinates normalised to ``[0, 1]``
    (row ``k`` belongs to crop ``k``), with ``meta_keys`` as metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = ('img_path', 'ori_shape', 'img_shape',
                                                    'scale_factor', 'grid_shape')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        for key in ('img', 'vfm_img', 'crops', 'regions', 'img_scale'):
            if key not in results:
                raise KeyError(f'PackDeCLIPDistillInputs needs "{key}"; see the pipeline order '
                               'in declip_mm/datasets/distill/transforms.py')
        boxes = normalized_region_boxes(results['regions'], results['img_scale'],
                                        results['img'].shape[:2])
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        sample.boxes = torch.from_numpy(boxes)
        crops = torch.from_numpy(np.ascontiguousarray(results['crops'].transpose(0, 3, 1, 2)))
        inputs = dict(student=hwc_to_chw(results['img']), vfm=hwc_to_chw(results['vfm_img']),
                      crops=crops)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
