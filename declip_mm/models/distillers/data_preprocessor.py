"""Batching and normalisation of DeCLIP distillation samples (and of region-classification images).

The pipeline (``datasets/distill``) yields uint8 BGR views; here they are moved to the device,
stacked, flipped to RGB and normalised: the student view and the teacher crops with CLIP's
mean / std, the VFM view with ImageNet's (the official pipeline pads with black first, then
normalises, which is what happens here too).
"""
from typing import Dict, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from ...registry import MODELS
from ...utils.image_norm import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD

SAMPLE_CROP_KEYS = ('crops', 'masked_crops')


def normalize_images(x: Tensor, mean: Tensor, std: Tensor, bgr_to_rgb: bool) -> Tensor:
    """``(N, 3, H, W)`` uint8 / float images (0..255) -> float normalised, optionally BGR->RGB."""
    x = x.float()
    if bgr_to_rgb:
        x = x.flip(1)
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


@MODELS.register_module()
class DeCLIPDistillDataPreprocessor(BaseDataPreprocessor):
    """Turns packed distillation samples into normalised batches.

    Input ``inputs``: ``dict(student=[(3, S, S)], vfm=[(3, V, V)], crops=[(K_i, 3, c, c)])``
    (lists over the batch). Output ``inputs``: ``dict(student=(B, 3, S, S),
    vfm=(B, 3, V, V), crops=(sum K_i, 3, c, c))`` float tensors. A list of images (the
    region-classification validation batches) becomes one ``(B, 3, H, W)`` CLIP-normalised
    tensor; ``crops`` / ``masked_crops`` ``(K, 3, c, c)`` uint8 fields of its data samples become
    CLIP-normalised float tensors.

    Args:
        mean, std: CLIP normalisation (0..255 scale) for the student view and the crops.
        vfm_mean, vfm_std: normalisation of the VFM view (ImageNet by default).
        bgr_to_rgb: the loaded images are BGR (mmcv's default); flip them.
    """

    def __init__(self, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD,
                 vfm_mean: Sequence[float] = IMAGENET_MEAN,
                 vfm_std: Sequence[float] = IMAGENET_STD, bgr_to_rgb: bool = True):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32), False)
        self.register_buffer('vfm_mean', torch.tensor(vfm_mean, dtype=torch.float32), False)
        self.register_buffer('vfm_std', torch.tensor(vfm_std, dtype=torch.float32), False)
        self.bgr_to_rgb = bgr_to_rgb

    def _clip(self, x: Tensor) -> Tensor:
        return normalize_images(x, self.mean, self.std, self.bgr_to_rgb)

    def forward(self, data: dict, training: bool = False) -> Dict[str, object]:
        data = self.cast_data(data)
        inputs: Union[dict, list, Tensor] = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, dict):
            out = dict(student=self._clip(torch.stack(list(inputs['student']))),
                       vfm=normalize_images(torch.stack(list(inputs['vfm'])), self.vfm_mean,
                                            self.vfm_std, self.bgr_to_rgb),
                       crops=self._clip(torch.cat(list(inputs['crops']))))
            return dict(inputs=out, data_samples=samples)
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        for ds in samples or ():
            for key in SAMPLE_CROP_KEYS:
                if key in ds:
                    ds.set_field(self._clip(ds.get(key)), key)
        return dict(inputs=self._clip(inputs), data_samples=samples)
