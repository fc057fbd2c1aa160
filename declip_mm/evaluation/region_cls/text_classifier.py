"""Classify ground-truth regions of a dense CLIP map against class text embeddings.

Region features, as in the official DeCLIP evaluation: a box feature is the 1x1 aligned
RoIAlign of the (un-normalised) dense map, a mask feature the mean of the dense map over the
mask on the token grid; both are L2-normalised and ranked by cosine similarity with the class
embeddings.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from ...models.distillers.losses import roi_features
from ...registry import MODELS
from ...utils.errors import ConfigError
from ...vocab import ClassEmbeddings, load_class_embeddings


def mask_pool(dense: Tensor, masks: Sequence[Tensor]) -> Tensor:
    """Mean feature under each mask.

    Args:
        dense: ``(B, D, H, W)`` map.
        masks: ``B`` boolean tensors ``(K_i, h, w)``; resized (nearest) to ``(H, W)`` if needed.

    Returns:
        ``(sum K_i, D)`` float32 features (zeros for empty masks).
    """
    feats = []
    for fmap, m in zip(dense.float(), masks):
        m = m.float()
        if m.shape[-2:] != fmap.shape[-2:] and len(m):
            m = F.interpolate(m[:, None], size=fmap.shape[-2:], mode='nearest')[:, 0]
        m = m.flatten(1)
        feats.append(m @ fmap.flatten(1).T / (m.sum(1, keepdim=True) + 1e-12))
    return torch.cat(feats, 0) if feats else dense.new_zeros((0, dense.shape[1]))


def topk_classes(features: Tensor, class_embeddings: Tensor, k: int) -> Tensor:
    """Indices ``(N, min(k, C))`` of the classes most cosine-similar to each feature."""
    logits = F.normalize(features.float(), dim=-1) @ F.normalize(class_embeddings.float(), dim=-1).T
    return logits.topk(min(k, class_embeddings.shape[0]), dim=-1).indices


@MODELS.register_module()
class DeCLIPRegionTextClassifier(BaseModule):
    """Text classifier of regions (box RoIAlign and mask pooling) for region classification.

    Args:
        class_embeddings: class-embedding file (``declip_mm.vocab.load_class_embeddings``:
            declip_mm's format from ``tools/dump_text_embeddings.py``, an F-ViT ``.pt`` dict,
            or a ``(C, D)`` ``.pt`` / ``.npy`` array in label order such as the official
            ``metadata/coco_panoptic_clip_hand_craft_EVACLIP_ViTB16.npy``). With ``classes``,
            rows are taken by name (files that hold names).
        text_encoder: alternatively a ``DeCLIPTextEncoder`` config; then ``classes`` (names in
            label order) are encoded with the encoder's templates (through its cache).
        classes: class names in label order.
        topk: how many ranked classes to keep per region (the metric uses top-1 and top-5).
    """

    def __init__(self, class_embeddings: Optional[str] = None,
                 text_encoder: Optional[dict] = None, classes: Optional[Sequence] = None,
                 topk: int = 5, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if (class_embeddings is None) == (text_encoder is None):
            raise ConfigError('DeCLIPRegionTextClassifier: give exactly one of '
                              '"class_embeddings" (a file) and "text_encoder"')
        if text_encoder is not None and not classes:
            raise ConfigError('DeCLIPRegionTextClassifier: "text_encoder" needs "classes"')
        self.class_embeddings_path = class_embeddings
        self.text_encoder = MODELS.build(text_encoder) if text_encoder else None
        self.classes = list(classes) if classes else None
        self.topk = topk
        self._table: Optional[ClassEmbeddings] = None

    def class_embeddings(self, device: torch.device) -> Tensor:
        """``(C, D)`` normalised class embeddings (the file is read on first use)."""
        if self.class_embeddings_path is not None:
            if self._table is None:
                self._table = load_class_embeddings(self.class_embeddings_path)
            emb = (self._table.rows(self.classes, vocabulary=self.classes) if self.classes
                   else self._table.all_rows())
        else:
            if not self.text_encoder.is_init:
                self.text_encoder.init_weights()
            with torch.no_grad():
                emb = self.text_encoder.encode_classes(self.classes).float()
        return emb.to(device)
    @torch.no_grad()
    def predict(self, dense: Tensor, data_samples: List) -> List:
        """Add ``pred_box_topk`` / ``pred_mask_topk`` (``(K, topk)``) to each data sample.

        Args:
            dense: ``(B, D, H, W)`` un-normalised dense map of the images.
            data_samples: samples with ``boxes`` (``(K, 4)`` in ``[0, 1]``) and ``masks``.
        """
        emb = self.class_embeddings(dense.device)
        if emb.shape[1] != dense.shape[1]:
            raise ConfigError(f'class embeddings have {emb.shape[1]} channels but the dense map '
                              f'has {dense.shape[1]}: use the embeddings of the same CLIP')
        boxes = [ds.boxes.to(dense.device) for ds in data_samples]
        box_top = topk_classes(roi_features(dense, boxes), emb, self.topk)
        mask_top = topk_classes(mask_pool(dense, [ds.masks.to(dense.device)
                                                  for ds in data_samples]), emb, self.topk)
        start = 0
        for ds, b in zip(data_samples, boxes):
            ds.pred_box_topk = box_top[start:start + len(b)]
            ds.pred_mask_topk = mask_top[start:start + len(b)]
            start += len(b)
        return list(data_samples)
