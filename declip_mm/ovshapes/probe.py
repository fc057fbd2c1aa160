"""Measurements of the OV-Shapes proving ground: crop and dense region classification, fg-mIoU.

* crop classification (the CLIP gate): each GT box, made square on its longer side and widened
  ``CROP_WIDEN`` times about its centre, is cut out of the image with RoIAlign and resized to
  the CLIP input size (``CROP_SIZE`` = 64 px), then classified by its global CLIP embedding (``encode_image``: CLS token after the head) against the 30 prompts.
* dense region classification: the dense map of the whole scene (``encode_dense``, in the
  backbone's mode) is RoIAligned inside each GT box, averaged and classified the same way.
* foreground mIoU: per-pixel argmax of the dense map against the 30 prompts, upsampled
  bilinearly to the image, scored on object pixels only (background ignored), mean IoU over
  classes (mmseg's ``IoUMetric`` arithmetic).
* affinity AUC (``affinity_probe``): same-object patch-pair AUC of the dense map
  (``auc_content``) and, in a decoupled mode, of the context features (``auc_context``).

Accuracies are reported over all objects, base and novel classes, and for the colour and the
shape of the predicted class separately.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align

from ..datasets.ov_shapes.arch import (OV_SHAPES_CLIP, OV_SHAPES_MEAN, OV_SHAPES_STD,
                                       OV_SHAPES_TEMPLATES)
from ..datasets.ov_shapes.classes import CLASSES, NOVEL_IDS, SHAPES
from ..datasets.ov_shapes.generator import Scene, semantic_map
from ..models.layers.decoupled_attention import DECOUPLED_MODES
from .affinity_probe import AffinityAccumulator, scene_instance_maps, update_student

CROP_WIDEN = 1.3
CROP_SIZE = 64
IGNORE = 255


def images_to_tensor(images: Sequence[np.ndarray]) -> Tensor:
    """``N x (H, W, 3)`` uint8 RGB -> ``(N, 3, H, W)`` float32, CLIP-normalised."""
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    mean = torch.tensor(OV_SHAPES_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OV_SHAPES_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def scene_rois(scenes: Sequence[Scene]) -> Tuple[Tensor, Tensor]:
    """GT boxes as RoIs ``(N, 5)`` ``(batch index, x1, y1, x2, y2)`` and labels ``(N,)``."""
    rois = [torch.cat([torch.full((len(s.boxes), 1), float(i)), torch.from_numpy(s.boxes)], 1)
            for i, s in enumerate(scenes)]
    labels = [torch.from_numpy(s.labels) for s in scenes]
    return torch.cat(rois).reshape(-1, 5), torch.cat(labels).long()


def square_widen(rois: Tensor, factor: float = CROP_WIDEN) -> Tensor:
    """Square boxes of side ``factor * max(w, h)`` about each box centre; ``(N, 5)`` -> same."""
    cx, cy = (rois[:, 1] + rois[:, 3]) / 2, (rois[:, 2] + rois[:, 4]) / 2
    half = factor * torch.maximum(rois[:, 3] - rois[:, 1], rois[:, 4] - rois[:, 2]) / 2
    return torch.stack([rois[:, 0], cx - half, cy - half, cx + half, cy + half], 1)


def crop_regions(images: Tensor, rois: Tensor, size: int = CROP_SIZE) -> Tensor:
    """Cut ``(N, 3, size, size)`` crops out of ``(B, 3, H, W)`` images (zero = mean colour
    outside the image)."""
    return roi_align(images, rois, (size, size), spatial_scale=1.0, sampling_ratio=2,
                     aligned=True)


def pool_regions(dense: Tensor, rois: Tensor, stride: int, out: int = 2) -> Tensor:
    """Mean of an ``out x out`` RoIAlign of ``(B, D, h, w)`` inside each box -> ``(N, D)``,
    L2-normalised."""
    feats = roi_align(dense, rois, (out, out), spatial_scale=1.0 / stride, sampling_ratio=2,
                      aligned=True)
    return F.normalize(feats.mean((2, 3)), dim=-1)


def breakdown(pred: Tensor, labels: Tensor) -> Dict[str, float]:
    """Accuracy (%) over all objects, base / novel classes, and of colour and shape alone."""
    n_shapes = len(SHAPES)
    novel = torch.isin(labels, torch.tensor(NOVEL_IDS))
    ok = (pred == labels).float()

    def pct(x: Tensor) -> float:
        return float(x.mean() * 100) if x.numel() else float('nan')
    return dict(all=pct(ok), base=pct(ok[~novel]), novel=pct(ok[novel]),
                colour=pct((pred // n_shapes == labels // n_shapes).float()),
                shape=pct((pred % n_shapes == labels % n_shapes).float()))


class MIoUAccumulator:
    """Foreground IoU over batches: background pixels (label 0 of the semantic maps) ignored."""

    def __init__(self, num_classes: int = len(CLASSES)):
        self.num_classes = num_classes
        self.inter = torch.zeros(num_classes, dtype=torch.float64)
        self.union = torch.zeros(num_classes, dtype=torch.float64)

    def update(self, pred: Tensor, semantic: Tensor) -> None:
        """``pred`` ``(B, H, W)`` class indices; ``semantic`` ``(B, H, W)`` 0 = bg, k + 1."""
        from mmseg.evaluation.metrics import IoUMetric
        label = torch.where(semantic == 0, torch.full_like(semantic, IGNORE), semantic - 1)
        for p, g in zip(pred, label):
            inter, union, _, _ = IoUMetric.intersect_and_union(p, g, self.num_classes, IGNORE)
            self.inter += inter.double()
            self.union += union.double()

    def result(self) -> Dict[str, float]:
        """mIoU (%) over classes present, and over base / novel classes."""
        iou = self.inter / self.union  # nan where a class never occurs nor is predicted
        novel = torch.zeros(self.num_classes, dtype=torch.bool)
        novel[list(NOVEL_IDS)] = True

        def mean(x: Tensor) -> float:
            x = x[~torch.isnan(x)]
            return float(x.mean() * 100) if x.numel() else float('nan')
        return dict(miou=mean(iou), miou_base=mean(iou[~novel]), miou_novel=mean(iou[novel]))


def load_visual(checkpoint: str, mode: str = 'csa'):
    """``DeCLIPViT`` of ``OV_SHAPES_CLIP`` in ``mode``, loaded from ``checkpoint``, eval mode."""
    from ..models.backbones.declip_vit import DeCLIPViT
    visual = DeCLIPViT(arch=OV_SHAPES_CLIP, mode=mode, out_indices=(3,),
                       init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    visual.init_weights()
    return visual.eval()


def load_text(checkpoint: str):
    """``DeCLIPTextEncoder`` of ``OV_SHAPES_CLIP`` (OV-Shapes prompt), loaded, eval mode."""
    from ..models.text.text_encoder import DeCLIPTextEncoder
    text = DeCLIPTextEncoder(arch=OV_SHAPES_CLIP, templates=list(OV_SHAPES_TEMPLATES),
                             init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    text.init_weights()
    return text.eval()


def load_tiny_clip(checkpoint: str, mode: str = 'csa'):
    """``(DeCLIPViT, DeCLIPTextEncoder)`` of one CLIP checkpoint."""
    return load_visual(checkpoint, mode), load_text(checkpoint)


@torch.no_grad()
def class_embeddings(text_encoder) -> Tensor:
    """``(30, D)`` normalised prompt embeddings of ``CLASSES``."""
    return text_encoder.encode_names(list(CLASSES), list(OV_SHAPES_TEMPLATES))


@torch.no_grad()
def evaluate(visual, text_emb: Tensor, scenes: Sequence[Scene], what: str = 'dense',
             batch_size: int = 128, crop_size: int = CROP_SIZE) -> Dict[str, float]:
    """Score ``visual`` on ``scenes``.

    Args:
        visual: a ``DeCLIPViT`` (its ``mode`` decides the dense map).
        text_emb: ``(30, D)`` class embeddings.
        scenes: scenes to score.
        what: ``'crop'`` (global embedding of widened crops) or ``'dense'`` (RoIAlign of the
            dense map, plus fg-mIoU).
        batch_size: scenes per forward.
        crop_size: crop side for ``'crop'``.

    Returns:
        accuracies (``all``, ``base``, ``novel``, ``colour``, ``shape``; %) and, for dense,
        ``miou`` / ``miou_base`` / ``miou_novel`` and ``auc_content`` / ``auc_context``
        (%); ``objects`` counted.
    """
    if what not in ('crop', 'dense'):
        raise ValueError(f"what must be 'crop' or 'dense', got {what!r}")
    preds: List[Tensor] = []
    labels: List[Tensor] = []
    miou = MIoUAccumulator()
    affinity = AffinityAccumulator()
    for start in range(0, len(scenes), batch_size):
        chunk = scenes[start:start + batch_size]
        images = images_to_tensor([s.image for s in chunk])
        rois, lab = scene_rois(chunk)
        if what == 'crop':
            crops = crop_regions(images, square_widen(rois), crop_size)
            emb = visual.encode_image(crops, normalize=True)
        else:
            contexts = None
            if visual.mode in DECOUPLED_MODES:
                dense, contexts = visual.encode_dense_with_context(images, normalize=True)
            else:
                dense = visual.encode_dense(images, normalize=True)
            update_student(affinity, dense, contexts, scene_instance_maps(chunk),
                           visual.patch_size)
            emb = pool_regions(dense, rois, visual.patch_size)
            logits = torch.einsum('bdhw,cd->bchw', dense, text_emb)
            logits = F.interpolate(logits, size=images.shape[-2:], mode='bilinear',
                                   align_corners=False)
            sem = torch.from_numpy(np.stack([semantic_map(s) for s in chunk])).long()
            miou.update(logits.argmax(1), sem)
        preds.append((emb @ text_emb.t()).argmax(1))
        labels.append(lab)
    out = breakdown(torch.cat(preds), torch.cat(labels))
    out['objects'] = float(sum(len(s.labels) for s in scenes))
    if what == 'dense':
        out.update(miou.result())
        out.update(affinity.result())
    return out


def evaluate_checkpoint(checkpoint: str, text_emb: Tensor, scenes: Sequence[Scene],
                        modes: Sequence[str], crop: bool = True
                        ) -> Tuple[Dict[str, Dict[str, float]], Dict[str, float]]:
    """``(rows, seconds)``: the crop row (if ``crop``), then one dense row per mode, of the
    tiny-CLIP-layout tower in ``checkpoint``, scored against ``text_emb`` ``(30, D)``."""
    import time
    rows, seconds = {}, {}
    jobs = ([('crop', 'csa', 'crop')] if crop else []) + [(m, m, 'dense') for m in modes]
    for name, mode, what in jobs:
        t0 = time.time()
        rows[name] = evaluate(load_visual(checkpoint, mode), text_emb, scenes, what=what)
        seconds[name] = time.time() - t0
    return rows, seconds


def format_table(rows: Dict[str, Dict[str, float]], keys: Optional[Sequence[str]] = None) -> str:
    """Markdown table, one row per method, columns ``keys`` (missing values as '-')."""
    keys = list(keys or ('all', 'base', 'novel', 'colour', 'shape', 'miou', 'miou_base',
                         'miou_novel'))
    lines = ['| method | ' + ' | '.join(keys) + ' |', '|---|' + '---|' * len(keys)]
    for name, res in rows.items():
        cells = [f'{res[k]:.1f}' if k in res else '-' for k in keys]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
