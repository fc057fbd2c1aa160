"""Affinity AUC of OV-Shapes scenes (``evaluation.affinity``): of a student's content map and
context features, and of a context teacher's patch tokens, against the scenes' instance masks.

``probe.evaluate(..., what='dense')`` reports ``auc_content`` (the content map) and, for a
decoupled mode, ``auc_context`` (the Q / K similarity the context loss compares), in %.
:func:`teacher_auc` rates a context teacher on the same scenes and scale.
"""
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from ..evaluation.affinity import (binary_auc, context_similarity, feature_similarity,
                                    pair_scores, patch_instance_labels)
from ..datasets.ov_shapes.generator import Scene


def scene_instance_maps(scenes: Sequence[Scene]) -> Tensor:
    """``(B, H, W)`` int64 instance ids: 0 background, ``k + 1`` on object ``k``'s mask."""
    out = np.zeros((len(scenes),) + scenes[0].image.shape[:2], np.int64)
    for i, scene in enumerate(scenes):
        for k, mask in enumerate(scene.masks):
            out[i][mask] = k + 1
    return torch.from_numpy(out)


class AffinityAccumulator:
    """Pools the foreground patch pairs of several batches, per named similarity."""

    def __init__(self):
        self.scores: Dict[str, List[Tensor]] = {}
        self.targets: Dict[str, List[Tensor]] = {}

    def update(self, name: str, similarity: Tensor, labels: Tensor) -> None:
        """``similarity`` ``(B, N, N)``; ``labels`` ``(B, N)`` patch ids (0: background)."""
        s, t = pair_scores(similarity, labels)
        self.scores.setdefault(name, []).append(s.cpu())
        self.targets.setdefault(name, []).append(t.cpu())

    def result(self) -> Dict[str, float]:
        """``{name: AUC in %}``."""
        return {name: 100.0 * binary_auc(torch.cat(self.scores[name]),
                                         torch.cat(self.targets[name]))
                for name in self.scores}


def update_student(acc: AffinityAccumulator, dense: Tensor, contexts: Optional[Sequence[Tensor]],
                   instance_maps: Tensor, patch: int) -> None:
    """Add one batch of a student: content map ``(B, D, h, w)`` and context maps (or None)."""
    labels = patch_instance_labels(instance_maps, patch)
    acc.update('auc_content', feature_similarity(dense), labels)
    if contexts:
        acc.update('auc_context', context_similarity(contexts), labels)


@torch.no_grad()
def teacher_auc(teacher: Callable[[Tensor, Tensor], Tensor], images: Tensor,
                instance_maps: Tensor, batch_size: int = 128) -> float:
    """Affinity AUC (%) of a context teacher's patch tokens.

    Args:
        teacher: ``(images (b, 3, H, W), instance maps (b, H, W)) -> (b, C, h, w)`` tokens.
        images: ``(B, 3, H, W)`` inputs in the teacher's normalisation.
        instance_maps: ``(B, H, W)`` ids (0: background) on the same canvas.
        batch_size: images per call.
    """
    acc = AffinityAccumulator()
    for start in range(0, len(images), batch_size):
        maps = instance_maps[start:start + batch_size]
        tokens = teacher(images[start:start + batch_size], maps)
        patch = maps.shape[-1] // tokens.shape[-1]
        acc.update('teacher', feature_similarity(tokens), patch_instance_labels(maps, patch))
    return acc.result()['teacher']


def attention_shares(attention: Tensor, labels: Tensor) -> Dict[str, float]:
    """Where the last block's decoupled attention of foreground patches goes.

    Args:
        attention: ``(B, heads, 1 + N, 1 + N)`` attention maps (CLS first; ``csa`` rows sum
            to 2, so each row is divided by its sum).
        labels: ``(B, N)`` patch instance ids (0: background).

    Returns:
        the mean over foreground query patches and heads of the share (%) that lands on
        patches of the same instance (``same``, the query itself included), on other
        patches (``other``) and on the CLS token (``cls``).
    """
    attn = attention.float()
    attn = attn / attn.sum(-1, keepdim=True)
    same = (labels.unsqueeze(2) == labels.unsqueeze(1)).float()          # (B, N, N)
    fg = labels > 0
    to_same = (attn[:, :, 1:, 1:] * same.unsqueeze(1)).sum(-1)           # (B, heads, N)
    to_cls = attn[:, :, 1:, 0]
    mask = fg.unsqueeze(1).expand_as(to_same)
    s, c = float(to_same[mask].mean()) * 100, float(to_cls[mask].mean()) * 100
    return dict(same=s, cls=c, other=100.0 - s - c)


@torch.no_grad()
def attention_probe(visual, scenes: Sequence[Scene], batch_size: int = 128) -> Dict[str, float]:
    """:func:`attention_shares` of a decoupled-mode ``DeCLIPViT`` over ``scenes``
    (``probe.images_to_tensor`` inputs), averaged over batches weighted by their size."""
    from .probe import images_to_tensor
    totals: Dict[str, float] = {}
    for start in range(0, len(scenes), batch_size):
        chunk = scenes[start:start + batch_size]
        maps = scene_instance_maps(chunk)
        shares = attention_shares(visual.attention_maps(images_to_tensor([s.image for s in chunk])),
                                  patch_instance_labels(maps, visual.patch_size))
        for k, v in shares.items():
            totals[k] = totals.get(k, 0.0) + v * len(chunk)
    return {k: v / len(scenes) for k, v in totals.items()}
