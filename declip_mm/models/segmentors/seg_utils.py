"""Pure tensor helpers of the segmentors: patch padding, cosine logits, synonym reduction.

Sliding windows and the un-pad / un-flip / resize post-processing are mmseg's
(``EncoderDecoder.slide_inference``, ``BaseSegmentor.postprocess_result``).

Shapes: images ``(B, 3, H, W)``; score maps ``(B, K, H, W)`` with K = classes or vocabulary
entries (synonyms).
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

from ...vocab import split_synonyms


def center_pad_to_multiple(x: Tensor, multiple: int) -> Tuple[Tensor, Tuple[int, int, int, int]]:
    """Zero-pad ``(B, C, H, W)`` evenly on both sides to multiples of ``multiple``.

    Returns:
        the padded tensor and ``(left, right, top, bottom)``.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    return (F.pad(x, pad) if any(pad) else x), pad


def cosine_logits(dense: Tensor, text: Tensor) -> Tensor:
    """Cosine similarity of every location with every text embedding.

    Args:
        dense: ``(B, D, h, w)`` image embeddings.
        text: ``(S, D)`` text embeddings.

    Returns:
        ``(B, S, h, w)``.
    """
    return torch.einsum('bdhw,sd->bshw', F.normalize(dense, dim=1), F.normalize(text, dim=-1))


def reduce_synonyms(scores: Tensor, index: Tensor, num_classes: int) -> Tensor:
    """Per-class max over its synonyms: ``(B, S, H, W)``, ``(S,)`` -> ``(B, C, H, W)``."""
    if scores.shape[1] == num_classes and torch.equal(
            index.cpu(), torch.arange(num_classes)):
        return scores
    b, _, h, w = scores.shape
    out = scores.new_full((b, num_classes, h, w), float('-inf'))
    idx = index.to(scores.device).view(1, -1, 1, 1).expand_as(scores)
    return out.scatter_reduce(1, idx, scores, reduce='amax', include_self=True)


def threshold_background(probs: Tensor, prob_thd: float, bg_idx: int = 0) -> Tensor:
    """Argmax labels ``(B, 1, H, W)`` of ``(B, C, H, W)`` probabilities; pixels whose top
    probability is below ``prob_thd`` get ``bg_idx``."""
    top, pred = probs.max(dim=1, keepdim=True)
    if prob_thd > 0:
        pred = pred.masked_fill(top < prob_thd, bg_idx)
    return pred


def vocabulary_groups(entries: Sequence[str], first_only: bool = False
                      ) -> Tuple[List[str], Tensor]:
    """Flatten a vocabulary of synonym groups.

    Args:
        entries: one per class, ``'a; b'`` synonym strings or lists
            (``declip_mm.vocab.split_synonyms``).
        first_only: keep only each class's first name (CAT-Seg's choice for alternative names).

    Returns:
        the names, and ``(S,)`` the class index of each.
    """
    groups = [split_synonyms(e) for e in entries]
    if first_only:
        groups = [g[:1] for g in groups]
    names = [n for g in groups for n in g]
    index = torch.tensor([i for i, g in enumerate(groups) for _ in g], dtype=torch.long)
    return names, index


def postprocess_scores(postprocess: Callable, seg_logits: Tensor,
                       data_samples: Optional[list] = None) -> list:
    """Run mmseg's ``BaseSegmentor.postprocess_result`` on the maps of an open vocabulary.

    mmseg reads a one-channel map as binary segmentation (sigmoid, then the decode head's
    threshold); a one-class vocabulary is not that: its channel is doubled for the call (the
    argmax then picks class 0) and the copy dropped from ``seg_logits``.

    Args:
        postprocess: the bound ``postprocess_result`` of mmseg's ``BaseSegmentor``.
        seg_logits: ``(B, K, H, W)`` maps at the network-input size.
        data_samples: as ``postprocess_result`` takes them.

    Returns:
        the samples, with ``seg_logits`` ``(K, H0, W0)`` and ``pred_sem_seg`` ``(1, H0, W0)``.
    """
    if seg_logits.shape[1] > 1:
        return postprocess(seg_logits, data_samples)
    samples = postprocess(seg_logits.repeat(1, 2, 1, 1), data_samples)
    for sample in samples:
        sample.seg_logits = PixelData(data=sample.seg_logits.data[:1])
    return samples
