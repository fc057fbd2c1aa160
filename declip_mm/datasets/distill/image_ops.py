"""Resize-and-pad helpers shared by the distillation and region-classification pipelines.

They follow the official DeCLIP transforms (``open_clip/transform.py`` of ``xiaomoguhz/DeCLIP``,
read for the behaviour only): the long side is resized to ``size`` (bicubic, PIL by default)
with ``round`` on both sides, the scale reported is ``min(new_h / h, new_w / w)``, and padding
is done in pixel space with 0 (black) before normalisation: bottom / right for whole images,
centred for region crops.
"""
from typing import Tuple

import mmcv
import numpy as np


def resize_long_side(img: np.ndarray, size: int, interpolation: str = 'bicubic',
                     backend: str = 'pillow') -> Tuple[np.ndarray, float]:
    """Resize ``img`` (``(H, W[, C])``) so that its long side is ``size``.

    Returns:
        ``(resized, scale)`` with ``scale = min(new_h / H, new_w / W)``.
    """
    h, w = img.shape[:2]
    ratio = size / float(max(h, w))
    new_h, new_w = max(int(round(h * ratio)), 1), max(int(round(w * ratio)), 1)
    if (new_h, new_w) != (h, w):
        img = mmcv.imresize(img, (new_w, new_h), interpolation=interpolation, backend=backend)
    return img, min(new_h / h, new_w / w)


def pad_bottom_right(img: np.ndarray, size: int, pad_val: float = 0) -> np.ndarray:
    """Pad ``img`` with ``pad_val`` at the bottom / right to ``size x size``."""
    h, w = img.shape[:2]
    if h > size or w > size:
        raise ValueError(f'cannot pad a {h}x{w} image to {size}x{size}')
    return mmcv.impad(img, shape=(size, size), pad_val=pad_val)


def pad_center(img: np.ndarray, size: int, pad_val: float = 0) -> np.ndarray:
    """Pad ``img`` with ``pad_val`` on all sides (extra pixel right / bottom) to ``size x size``."""
    h, w = img.shape[:2]
    if h > size or w > size:
        raise ValueError(f'cannot pad a {h}x{w} image to {size}x{size}')
    left, top = (size - w) // 2, (size - h) // 2
    return mmcv.impad(img, padding=(left, top, size - w - left, size - h - top), pad_val=pad_val)


def resize_pad(img: np.ndarray, size: int, center: bool = False, interpolation: str = 'bicubic',
               backend: str = 'pillow') -> Tuple[np.ndarray, float]:
    """:func:`resize_long_side` then pad (bottom / right, or centred) to ``size x size``."""
    img, scale = resize_long_side(img, size, interpolation, backend)
    return (pad_center(img, size) if center else pad_bottom_right(img, size)), scale
