"""Pure tensor helpers of the segmentors: sliding windows, synonym reduction, post-processing.

Shapes: images ``(B, 3, H, W)``; score maps ``(B, K, H, W)`` with K = classes or vocabulary
entries (synonyms).
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ...vocab import split_synonyms

Window = Tuple[int, int, int, int]


def slide_windows(height: int, width: int, crop: int, stride: int) -> List[Window]:
    """Crop boxes ``(y1, y2, x1, x2)`` covering an image, mmseg's slide-inference grid.

    The last row / column is shifted back so every crop lies inside the image; crops are
    smaller than ``crop`` only where the image is.
    """
    if crop <= 0 or stride <= 0:
        raise ValueError(f'crop ({crop}) and stride ({stride}) must be positive')
    rows = max(height - crop + stride - 1, 0) // stride + 1
    cols = max(width - crop + stride - 1, 0) // stride + 1
    boxes = []
    for r in range(rows):
        for c in range(cols):
            y2, x2 = min(r * stride + crop, height), min(c * stride + crop, width)
            boxes.append((max(y2 - crop, 0), y2, max(x2 - crop, 0), x2))
    return boxes


def slide_inference(img: Tensor, crop: int, stride: int,
                    fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Average ``fn`` over overlapping crops.

    Args:
        img: ``(B, 3, H, W)``.
        fn: maps a crop ``(B, 3, h, w)`` to scores ``(B, K, h, w)`` at the crop's size.

    Returns:
        ``(B, K, H, W)``: per-pixel mean over the crops that cover the pixel.
    """
    h, w = img.shape[-2:]
    total: Optional[Tensor] = None
    count = img.new_zeros((1, 1, h, w))
    for y1, y2, x1, x2 in slide_windows(h, w, crop, stride):
        out = fn(img[:, :, y1:y2, x1:x2])
        if total is None:
            total = out.new_zeros((img.shape[0], out.shape[1], h, w))
        total[:, :, y1:y2, x1:x2] += out
        count[:, :, y1:y2, x1:x2] += 1
    return total / count


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


def restore_to_original(scores: Tensor, meta: Dict, align_corners: bool = False) -> Tensor:
    """Undo test-time padding and flipping, then resize to ``meta['ori_shape']``.

    Args:
        scores: ``(1, K, H, W)`` at the network-input size.
        meta: an mmseg data sample's metainfo.

    Returns:
        ``(1, K, H0, W0)``.
    """
    h, w = scores.shape[-2:]
    left, right, top, bottom = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
    scores = scores[:, :, top:h - bottom, left:w - right]
    if meta.get('flip', False):
        dims = (3,) if meta.get('flip_direction', 'horizontal') == 'horizontal' else (2,)
        scores = scores.flip(dims=dims)
    size = tuple(meta.get('ori_shape', scores.shape[-2:])[:2])
    if tuple(scores.shape[-2:]) != size:
        scores = F.interpolate(scores, size=size, mode='bilinear', align_corners=align_corners)
    return scores


def default_metas(inputs: Tensor) -> List[Dict]:
    """Metainfo for bare tensors (no data samples): nothing padded, original = input size."""
    shape = tuple(inputs.shape[-2:])
    return [dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0] * 4)
            for _ in range(inputs.shape[0])]


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
