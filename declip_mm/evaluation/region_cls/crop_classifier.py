"""Crop and masked-crop classification of ground-truth regions (the CLIP-on-crops reference).

The official evaluation (xiaomoguhz/DeCLIP ``src/training/zero_shot.py``) also classifies each
region's crop with the evaluated model's global embedding (``encode_image``, the unmodified CLIP
forward of the evaluated weights) beside its box and mask features: how well the image tower
recognises the region when it sees it alone. The official dataset makes masked crops too (the
segment on grey 114) but scores only the plain crops; both are scored here.
"""
from typing import List, Sequence

import torch
from torch import Tensor, nn

from .text_classifier import topk_classes

CROP_KINDS = {'crops': 'pred_crop_topk', 'masked_crops': 'pred_masked_crop_topk'}


@torch.no_grad()
def classify_crops(backbone: nn.Module, class_embeddings: Tensor, data_samples: Sequence,
                   topk: int = 5, chunk: int = 64) -> List:
    """Add ``pred_crop_topk`` / ``pred_masked_crop_topk`` ``(K, topk)`` to samples with crops.

    Args:
        backbone: a ``DeCLIPViT`` (its ``encode_image`` gives ``(N, D)`` embeddings).
        class_embeddings: ``(C, D)`` class text embeddings.
        data_samples: samples with normalised ``crops`` / ``masked_crops`` ``(K, 3, c, c)``.
        topk: ranked classes kept per crop.
        chunk: crops per forward pass.

    Returns:
        the samples.
    """
    for key, out_key in CROP_KINDS.items():
        have = [ds for ds in data_samples if key in ds]
        if not have:
            continue
        crops = torch.cat([ds.get(key) for ds in have])
        feats = [backbone.encode_image(crops[i:i + chunk], normalize=True)
                 for i in range(0, len(crops), chunk)]
        feats = torch.cat(feats) if feats else crops.new_zeros((0, class_embeddings.shape[1]))
        top = topk_classes(feats, class_embeddings.to(feats.device), topk)
        start = 0
        for ds in have:
            n = len(ds.get(key))
            ds.set_field(top[start:start + n], out_key)
            start += n
    return list(data_samples)
