"""The one definition of the image normalisations declip_mm uses, on the 0..255 pixel scale.

* CLIP (OpenAI, EVA-CLIP, DeCLIP): open_clip's ``OPENAI_DATASET_MEAN`` / ``OPENAI_DATASET_STD``
  (0..1 scale) times 255, at full float precision.
* ImageNet (DINO, DINOv2, SAM teachers): torchvision's / timm's ``IMAGENET_DEFAULT_MEAN`` /
  ``IMAGENET_DEFAULT_STD`` times 255.

mmdet / mmseg data preprocessors take the 0..255 values (``mean=list(CLIP_MEAN)``).
"""
from typing import Tuple

from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


def to_pixel_scale(values) -> Tuple[float, float, float]:
    """0..1 channel statistics -> the 0..255 scale."""
    return tuple(255.0 * float(v) for v in values)


CLIP_MEAN = to_pixel_scale(OPENAI_DATASET_MEAN)
CLIP_STD = to_pixel_scale(OPENAI_DATASET_STD)
IMAGENET_MEAN = to_pixel_scale(IMAGENET_DEFAULT_MEAN)
IMAGENET_STD = to_pixel_scale(IMAGENET_DEFAULT_STD)
