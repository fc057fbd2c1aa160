"""Test-time fusion of detector and dense-VLM class probabilities (F-ViT / F-VLM ensemble).

Pure tensor functions, so the fusion can be checked on its own against the reference
computation of CLIPSelf's F-ViT (``F-ViT/models/fvit_head.py``, ``FViTBBoxHead.forward``) and
CLIM's mmdet-3 F-VLM port (``ovdet/ovdet/models/roi_heads/fvlm_bbox_heads/convfc_bbox_head.py``,
``FVLMConvFCBBoxHead.pred_cls_logits``). Both are re-implemented here from their description;
no code is copied.
"""
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor


def region_text_probabilities(region_embeddings: Tensor, class_embeddings: Tensor,
                              temperature: Union[float, Tensor]) -> Tensor:
    """Softmax over the cosine similarities of regions and class embeddings.

    Args:
        region_embeddings: ``(N, D)`` region features (any norm; L2-normalised here).
        class_embeddings: ``(K, D)`` class text embeddings, background row included when the
            caller wants a background column (normalised here).
        temperature: multiplier of the cosine similarities (75 on OV-COCO, 50 on OV-LVIS for
            the VLM branch).

    Returns:
        ``(N, K)`` probabilities, rows summing to 1.
    """
    logits = temperature * F.normalize(region_embeddings.float(), dim=-1) @ \
        F.normalize(class_embeddings.float(), dim=-1).t()
    return logits.softmax(dim=-1)


def fuse_ov_scores(det_probs: Tensor, vlm_probs: Tensor, base_mask: Tensor,
                   alpha: float, beta: float) -> Tensor:
    """Geometric ensemble of detector and VLM class probabilities.

    For every foreground class ``c``::

        p(c) = p_det(c) ** (1 - alpha) * p_vlm(c) ** alpha    if c is a base class
        p(c) = p_det(c) ** (1 - beta)  * p_vlm(c) ** beta     if c is a novel class

    **Background column.** Both reference implementations give the background column the *base*
    exponent: F-ViT builds its base-class index from ``seen_classes + ['background']`` and CLIM
    from ``class_weight[:-1] + [1.0]`` (background weight forced positive, hence "base"). So the
    last column is ``p_det(bg) ** (1 - alpha) * p_vlm(bg) ** alpha`` here too, where ``p_vlm(bg)``
    is the VLM softmax entry of the background embedding (both references include the
    background embedding, learned in CLIM, in the VLM softmax). The fused rows are **not**
    renormalised (neither reference does), and the background column is then ignored by
    mmdet's ``multiclass_nms``, which only thresholds the first ``C`` columns; it is kept so
    that the output has the usual ``(N, C + 1)`` layout of mmdet bbox heads.

    Args:
        det_probs: ``(N, C + 1)`` detector softmax probabilities, background last.
        vlm_probs: ``(N, C + 1)`` VLM softmax probabilities (``region_text_probabilities`` over
            the ``C`` class embeddings and the background embedding), background last.
        base_mask: ``(C,)`` bool, True for base (trained) classes, False for novel ones.
        alpha: VLM weight for base classes (and background), 0.1 in F-ViT.
        beta: VLM weight for novel classes (0.8 OV-COCO, 0.6 / 0.4 OV-LVIS B / L in F-ViT).

    Returns:
        ``(N, C + 1)`` fused scores, background last.

    Example:
        >>> det = torch.tensor([[0.5, 0.3, 0.2]])      # 2 classes + background
        >>> vlm = torch.tensor([[0.2, 0.6, 0.2]])
        >>> fuse_ov_scores(det, vlm, torch.tensor([True, False]), 0.5, 0.5)
        tensor([[0.3162, 0.4243, 0.2000]])
    """
    if det_probs.shape != vlm_probs.shape:
        raise ValueError(f'det_probs {tuple(det_probs.shape)} and vlm_probs '
                         f'{tuple(vlm_probs.shape)} differ in shape')
    num_classes = det_probs.shape[-1] - 1
    base_mask = base_mask.to(device=det_probs.device, dtype=torch.bool)
    if base_mask.shape != (num_classes,):
        raise ValueError(f'base_mask must have shape ({num_classes},) (one entry per foreground '
                         f'class), got {tuple(base_mask.shape)}')
    # VLM exponent per column: alpha for base classes and for the background column, beta else.
    with_bg = torch.cat([base_mask, base_mask.new_ones(1)])
    weight = torch.where(with_bg, torch.as_tensor(float(alpha)), torch.as_tensor(float(beta)))
    weight = weight.to(device=det_probs.device, dtype=det_probs.dtype)
    return det_probs.pow(1 - weight) * vlm_probs.pow(weight)
