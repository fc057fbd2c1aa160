"""DeCLIP's two distillation losses: region content self-distillation and VFM context distillation.

Both are written from the method description (DeCLIP, CVPR 2025, Sec. 3; the official
``xiaomoguhz/DeCLIP`` ``src/training/declip.py`` was read for the formulas only):

* content: ``1 - mean_b cos(f_s(b), f_t(b))`` over every valid box of the batch, with ``f_s(b)``
  the student's content map RoI-aligned to a 1x1 bin (aligned, sampling ratio -1) and
  ``f_t(b)`` the frozen CLIP's CLS embedding of the box's crop.
* context: per image, the cosine-similarity matrix of the VFM's patch tokens against that of the
  student's context tokens (``csa``: the mean of the Q- and K-similarities; heads always merged,
  CLS dropped); the L2 norm of each row difference (not squared), averaged over rows and
  images. Unlike the official ``csa`` branch (which keeps the heads split and only works for
  batch 1), the similarity here is per image over merged heads for every mode and batch size.

The maths are pure functions; ``DeCLIPContentLoss`` / ``DeCLIPContextLoss`` are the registered,
weighted wrappers the distiller builds. Both compute in float32 whatever the autocast state.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align

from ...registry import MODELS


def denormalize_boxes(boxes: Sequence[Tensor], size: Tuple[int, int]) -> List[Tensor]:
    """Scale ``[0, 1]`` xyxy boxes to a ``(H, W)`` feature map's coordinates.

    Args:
        boxes: per image, ``(K_i, 4)`` boxes normalised by the padded canvas.
        size: ``(H, W)`` of the feature map.

    Returns:
        per image, ``(K_i, 4)`` boxes in feature-map units.
    """
    h, w = size
    scale = torch.tensor([w, h, w, h], dtype=torch.float32)
    return [b.float() * scale.to(b.device) for b in boxes]


def roi_features(dense: Tensor, boxes: Sequence[Tensor]) -> Tensor:
    """One feature per box: RoIAlign to a 1x1 bin (aligned, adaptive sampling).

    Args:
        dense: ``(B, D, H, W)`` feature map.
        boxes: ``B`` tensors ``(K_i, 4)`` of xyxy boxes normalised to ``[0, 1]``.

    Returns:
        ``(sum K_i, D)`` region features (not normalised), in float32.
    """
    rois = denormalize_boxes(boxes, dense.shape[-2:])
    pooled = roi_align(dense.float(), rois, output_size=(1, 1), spatial_scale=1.0,
                       sampling_ratio=-1, aligned=True)
    return pooled[:, :, 0, 0]


def region_content_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """``1 - mean_b <s_b / |s_b|, t_b / |t_b|>``.

    Args:
        student: ``(N, D)`` student region features.
        teacher: ``(N, D)`` teacher crop embeddings.

    Returns:
        scalar loss (0 when every pair is parallel).
    """
    if student.shape != teacher.shape:
        raise ValueError(f'content loss: student {tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)} region features differ in shape')
    s = F.normalize(student.float(), dim=-1)
    t = F.normalize(teacher.float(), dim=-1)
    return 1.0 - (s * t).sum(-1).mean()


def cosine_similarity_matrix(tokens: Tensor) -> Tensor:
    """``(B, N, C) -> (B, N, N)`` cosine similarities between the tokens of each image."""
    x = F.normalize(tokens.float(), dim=-1)
    return x @ x.transpose(-2, -1)


def map_to_tokens(x: Tensor) -> Tensor:
    """``(B, C, H, W) -> (B, H*W, C)``."""
    return x.flatten(2).transpose(1, 2)


def student_context_similarity(contexts: Sequence[Tensor], grid: Tuple[int, int]) -> Tensor:
    """Similarity matrix of the student's context features, on the teacher's token grid.

    Args:
        contexts: one ``(B, C, H, W)`` map per context source (``(Q,)`` for qq, ``(Q, K)`` for
            csa, ``(Q, K, V)`` for all), heads merged and CLS dropped.
        grid: ``(h, w)`` token grid of the VFM; maps of another size are resized to it
            bilinearly (``align_corners=False``), as the official code does.

    Returns:
        ``(B, h*w, h*w)``: the mean over sources of each source's cosine-similarity matrix.
    """
    if not contexts:
        raise ValueError('context loss: no student context features given')
    sims = []
    for ctx in contexts:
        ctx = ctx.float()
        if tuple(ctx.shape[-2:]) != tuple(grid):
            ctx = F.interpolate(ctx, size=tuple(grid), mode='bilinear', align_corners=False)
        sims.append(cosine_similarity_matrix(map_to_tokens(ctx)))
    return torch.stack(sims, 0).mean(0)


def split_head_maps(x: Tensor, heads: int) -> Tensor:
    """``(B, C, H, W)`` merged-head map -> ``(B * heads, C / heads, H, W)``, heads as images."""
    b, c, h, w = x.shape
    if c % heads:
        raise ValueError(f'context loss: {c} channels do not split into {heads} heads')
    return x.reshape(b * heads, c // heads, h, w)


def context_correlation_loss(teacher: Tensor, contexts: Sequence[Tensor], heads: int = 1
                             ) -> Tensor:
    """Mean over images and rows of ``|S_T[r] - S_S[r]|_2``.

    Args:
        teacher: ``(B, C', h, w)`` VFM patch tokens (registers / CLS removed).
        contexts: student context maps, see :func:`student_context_similarity`.
        heads: 1 compares the merged-head similarity; ``n`` splits the context channels into
            ``n`` heads and matches each head's similarity to the teacher's (the heads the
            decoupled attention soft-maxes separately).

    Returns:
        scalar loss.
    """
    if any(c.shape[0] != teacher.shape[0] for c in contexts):
        raise ValueError('context loss: teacher and student batch sizes differ')
    s_t = cosine_similarity_matrix(map_to_tokens(teacher))
    if heads > 1:
        contexts = [split_head_maps(c, heads) for c in contexts]
        s_t = s_t.repeat_interleave(heads, dim=0)
    s_s = student_context_similarity(contexts, teacher.shape[-2:])
    return (s_t - s_s).norm(p=2, dim=-1).mean()


@MODELS.register_module()
class DeCLIPContentLoss(nn.Module):
    """Weighted :func:`region_content_loss` (official weight 1.0)."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``student`` / ``teacher``: ``(N, D)`` region features and crop embeddings."""
        with torch.autocast(device_type=student.device.type, enabled=False):
            return self.loss_weight * region_content_loss(student, teacher)


@MODELS.register_module()
class DeCLIPContextLoss(nn.Module):
    """Weighted :func:`context_correlation_loss` (official weight 0.1; 0.25 later)."""

    def __init__(self, loss_weight: float = 0.1, heads: int = 1):
        super().__init__()
        self.loss_weight, self.heads = float(loss_weight), int(heads)

    def forward(self, teacher: Tensor, contexts: Sequence[Tensor]) -> Tensor:
        """``teacher``: ``(B, C', h, w)`` VFM tokens; ``contexts``: ``(B, C, H, W)`` maps."""
        with torch.autocast(device_type=teacher.device.type, enabled=False):
            return self.loss_weight * context_correlation_loss(teacher, contexts, self.heads)
