"""Maths of the open-vocabulary region classifier: cosine logits and base-only loss weights.

The classifier of F-ViT / F-VLM scores a region by the cosine similarity between its projected
feature and the text embedding of every class, plus one background embedding, times a
temperature. Training sees only base-class annotations; novel classes get weight 0 and their
logits are masked so they take no probability mass in the training softmax (CLIPSelf F-ViT's
``CustomCrossEntropyLoss`` sets them to -inf; a large finite value is used here so that a
masked target, which can only occur with mixed annotations, gives a zero rather than a NaN
loss under its zero weight).
"""
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor

MASKED_LOGIT = -1e4
"""Logit given to zero-weight classes in training: ``exp(-1e4)`` is 0, and it fits fp16."""


def cosine_class_logits(region_embeddings: Tensor, class_embeddings: Tensor,
                        bg_embedding: Tensor, temperature: Union[float, Tensor]) -> Tensor:
    """``temperature * cos(region, [classes; background])``.

    Args:
        region_embeddings: ``(N, D)`` projected region features.
        class_embeddings: ``(C, D)`` class text embeddings.
        bg_embedding: ``(D,)`` background embedding.
        temperature: scalar (learnable in F-ViT, initialised at 50).

    Returns:
        ``(N, C + 1)`` logits, background last.
    """
    classes = torch.cat([class_embeddings.to(region_embeddings.dtype),
                         bg_embedding.to(region_embeddings.dtype)[None]])
    cos = F.normalize(region_embeddings, dim=-1) @ F.normalize(classes, dim=-1).t()
    return temperature * cos


def class_loss_weights(base_mask: Tensor, bg_weight: float = 1.0,
                       novel_weight: float = 0.0) -> Tensor:
    """Per-class loss weights ``(C + 1,)``: 1 for base, ``novel_weight`` for novel, ``bg_weight``
    for the background (0.6 on OV-COCO, 0.9 on OV-LVIS in F-ViT).

    Args:
        base_mask: ``(C,)`` bool, True for classes trained with their annotations.
    """
    fg = torch.where(base_mask.bool(), torch.ones(()), torch.full((), float(novel_weight)))
    return torch.cat([fg.float().to(base_mask.device),
                      torch.full((1,), float(bg_weight), device=base_mask.device)])


def mask_zero_weight_logits(logits: Tensor, class_weights: Tensor) -> Tensor:
    """Set the logits of zero-weight classes to ``MASKED_LOGIT`` (out of place).

    Args:
        logits: ``(N, C + 1)``.
        class_weights: ``(C + 1,)`` from :func:`class_loss_weights`.
    """
    mask = (class_weights <= 0).to(logits.device)
    return logits.masked_fill(mask[None], MASKED_LOGIT)
