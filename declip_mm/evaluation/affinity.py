"""Same-object patch-pair affinity AUC: how well a feature map's patch similarities separate
"same object" from "different objects".

For every image, every unordered pair of distinct *foreground* patches (a patch's label is the
instance covering most of it; background-majority patches are left out) is one sample: its
score is the two patches' similarity, it is positive when both patches belong to the same
instance. The AUC (pooled over all pairs of all images) is the probability that a random
positive pair scores above a random negative one (ties count half): 0.5 is chance, 1.0 a
perfect "same object" detector. It rates the content map, the context features (the
similarity the context loss compares, ``losses.student_context_similarity``) and any context
teacher on one scale.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from ..models.distillers.gt_teacher import instance_fractions
from ..models.distillers.losses import (cosine_similarity_matrix, map_to_tokens,
                                        student_context_similarity)


def patch_instance_labels(instance_map: Tensor, patch: int) -> Tensor:
    """``(B, H, W)`` ids (0 background) -> ``(B, h*w)`` majority id per patch (ties: lower id).

    The one-hot behind the fractions is only as wide as the largest id present.
    """
    num_slots = int(instance_map.max()) + 1 if instance_map.numel() else 1
    frac = instance_fractions(instance_map, patch, num_slots)
    return frac.flatten(2).argmax(1)


def pair_scores(similarity: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
    """Scores and targets of the foreground patch pairs.

    Args:
        similarity: ``(B, N, N)`` patch-to-patch similarities.
        labels: ``(B, N)`` patch instance ids, 0 for background.

    Returns:
        ``(scores, positive)``, both ``(P,)``: the similarity of every pair ``i < j`` of
        foreground patches of one image, and whether the two share their instance.
    """
    if similarity.shape[:2] != labels.shape or similarity.shape[1] != similarity.shape[2]:
        raise ValueError(f'affinity: similarity {tuple(similarity.shape)} does not match '
                         f'labels {tuple(labels.shape)}')
    n = labels.shape[1]
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=labels.device), diagonal=1)
    fg = labels > 0
    keep = upper.unsqueeze(0) & fg.unsqueeze(2) & fg.unsqueeze(1)
    same = labels.unsqueeze(2) == labels.unsqueeze(1)
    return similarity.float()[keep], same[keep]


def binary_auc(scores: Tensor, positive: Tensor) -> float:
    """ROC AUC of ``scores`` for the boolean ``positive`` (Mann-Whitney; ties count half).

    Returns NaN when either class is empty.
    """
    scores, positive = scores.double().flatten(), positive.bool().flatten()
    n_pos = int(positive.sum())
    n_neg = positive.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        return float('nan')
    uniq, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    mid_rank = ends - (counts.double() - 1) / 2          # average 1-based rank of each value
    rank_sum = mid_rank[inverse][positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def affinity_auc(similarity: Tensor, labels: Tensor) -> float:
    """Same-object AUC of ``(B, N, N)`` similarities for ``(B, N)`` patch ids (0: background)."""
    return binary_auc(*pair_scores(similarity, labels))


def feature_similarity(features: Tensor) -> Tensor:
    """``(B, C, h, w)`` patch features -> ``(B, h*w, h*w)`` cosine similarities."""
    return cosine_similarity_matrix(map_to_tokens(features))


def context_similarity(contexts: Sequence[Tensor]) -> Tensor:
    """The student's context similarity as the context loss sees it (mean over Q / K of the
    merged-head cosine similarities), on the contexts' own grid."""
    return student_context_similarity(contexts, tuple(contexts[0].shape[-2:]))
