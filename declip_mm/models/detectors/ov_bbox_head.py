"""Open-vocabulary bbox head: shared convs / FCs, class-agnostic boxes, text-embedding classifier.

Re-implemented on mmdet's ``ConvFCBBoxHead`` from the description of two heads:

* CLIPSelf's F-ViT head (``region_embedding='cls_fc'``, the default of the benchmark configs):
  4 shared convs + 2 shared FCs of width ``embed_dim`` (512 for B/16, 768 for L/14), one cls FC
  and one reg FC; the region embedding is the ReLU output of the cls FC (no projection), and the
  background is the text embedding of "background" (``background='text'``);
* CLIM's F-VLM port (``region_embedding='projection'``): 1024-wide FCs and a linear projection
  of the region feature to the text space, with a learned background embedding.

The logits are ``T * cos(region, [class embeddings; background])`` with a learnable ``T``
(init 50). The class embeddings are not parameters: the detector hands them in with
:meth:`DeCLIPOVBBoxHead.set_classes`, so the vocabulary can change at test time without
retraining.
"""
from typing import Optional, Tuple

import torch
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.models.utils import empty_instances
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor, scale_boxes
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from .fusion import fuse_ov_scores, region_text_probabilities
from .ov_classifier import class_loss_weights, cosine_class_logits, mask_zero_weight_logits


@MODELS.register_module()
class DeCLIPOVBBoxHead(ConvFCBBoxHead):
    """ConvFC bbox head whose classifier is a cosine similarity with class text embeddings.

    Args:
        embed_dim: text-embedding dimension (512 EVA02-B, 768 EVA02-L).
        region_embedding: ``'projection'`` (a linear layer ``fc_cls`` maps the last cls
            feature to ``embed_dim``; CLIM) or ``'cls_fc'`` (F-ViT: the ReLU output of the
            last cls FC is the embedding; needs ``num_cls_fcs >= 1`` and
            ``fc_out_channels == embed_dim``).
        temperature: initial (or fixed) detector temperature, 50 in F-ViT.
        learn_temperature: learn the temperature (F-ViT's ``learned_temperature``).
        test_temperature: if set, the detector temperature used at test time instead of the
            trained one (F-ViT's transfer head: a fixed 50).
        background: ``'text'`` (the text embedding of "background", handed in with the class
            embeddings; F-ViT's default ``learn_bg=False``), ``'learn'`` (a learnable
            embedding, CLIM's choice) or ``'zero'`` (a zero vector: background logit 0).
        bg_weight: loss weight of the background class (0.6 OV-COCO, 0.9 OV-LVIS).
        novel_weight: loss weight of novel classes (0: base-only training).
        vlm_temperature: temperature of the dense-VLM branch at test time (75 COCO, 50 LVIS).
        alpha: VLM weight for base classes in the test-time fusion (0.1).
        beta: VLM weight for novel classes (0.8 COCO; 0.6 LVIS B/16, 0.4 LVIS L/14).
        num_shared_convs, num_shared_fcs: the shared trunk, 4 convs + 2 FCs as in F-ViT.
        **kwargs: ``ConvFCBBoxHead`` / ``BBoxHead`` arguments (``fc_out_channels``,
            ``norm_cfg``, ``roi_feat_size``, ``in_channels``, ``bbox_coder``, losses, ...).
            ``num_classes`` is set by the detector from its vocabulary.
    """

    def __init__(self, embed_dim: int = 512, region_embedding: str = 'projection',
                 temperature: float = 50.0, learn_temperature: bool = True,
                 test_temperature: Optional[float] = None, background: str = 'learn',
                 bg_weight: float = 1.0, novel_weight: float = 0.0,
                 vlm_temperature: float = 75.0, alpha: float = 0.1, beta: float = 0.8,
                 num_shared_convs: int = 4, num_shared_fcs: int = 2,
                 reg_class_agnostic: bool = True, **kwargs):
        super().__init__(num_shared_convs=num_shared_convs, num_shared_fcs=num_shared_fcs,
                         reg_class_agnostic=reg_class_agnostic, **kwargs)
        if not self.with_cls or self.custom_cls_channels or not self.reg_class_agnostic:
            raise ValueError('DeCLIPOVBBoxHead needs with_cls=True, a softmax loss_cls and '
                             'reg_class_agnostic=True')
        if background not in ('learn', 'zero', 'text'):
            raise ValueError(f"background must be 'text', 'learn' or 'zero', got {background!r}")
        if region_embedding == 'projection':
            proj_cfg = self.cls_predictor_cfg.copy()
            proj_cfg.update(in_features=self.cls_last_dim, out_features=embed_dim)
            self.fc_cls = MODELS.build(proj_cfg)  # region feature -> text space
        elif region_embedding == 'cls_fc':
            if self.num_cls_fcs < 1 or self.cls_last_dim != embed_dim:
                raise ValueError("region_embedding='cls_fc' needs num_cls_fcs >= 1 and "
                                 f'fc_out_channels == embed_dim ({embed_dim}), got '
                                 f'num_cls_fcs={self.num_cls_fcs}, width {self.cls_last_dim}')
            self.fc_cls = nn.Identity()  # the ReLU'd cls FC output is the embedding
        else:
            raise ValueError("region_embedding must be 'projection' or 'cls_fc', got "
                             f'{region_embedding!r}')
        self.embed_dim, self.region_embedding = embed_dim, region_embedding
        self.background = background
        self.test_temperature = test_temperature
        init_t = torch.tensor(float(temperature))
        if learn_temperature:
            self.temperature = nn.Parameter(init_t)
        else:
            self.register_buffer('temperature', init_t, persistent=False)
        if background == 'learn':
            self.bg_embedding = nn.Parameter(torch.randn(embed_dim) * embed_dim ** -0.5)
        else:  # 'zero', or 'text' (replaced by set_classes)
            self.register_buffer('bg_embedding', torch.zeros(embed_dim), persistent=False)
        self.bg_weight, self.novel_weight = bg_weight, novel_weight
        self.vlm_temperature, self.alpha, self.beta = vlm_temperature, alpha, beta
        self.class_embeddings: Optional[Tensor] = None
        self.base_mask: Optional[Tensor] = None

    # ------------------------------------------------------------------ vocabulary
    def set_classes(self, class_embeddings: Tensor, base_mask: Tensor,
                    background: Optional[Tensor] = None) -> None:
        """Use these classes for the following forwards.

        Args:
            class_embeddings: ``(C, embed_dim)`` text embeddings (not trained).
            base_mask: ``(C,)`` bool, True for base classes.
            background: ``(embed_dim,)`` text embedding of "background"; required with
                ``background='text'``, ignored otherwise.
        """
        if self.background == 'text':
            if background is None or background.shape != (self.embed_dim, ):
                raise ValueError("background='text' needs the (embed_dim,) text embedding of "
                                 '"background" in set_classes')
            self.bg_embedding = background.detach().to(class_embeddings)
        if class_embeddings.dim() != 2 or class_embeddings.shape[1] != self.embed_dim:
            raise ValueError(f'class embeddings must be (C, {self.embed_dim}), got '
                             f'{tuple(class_embeddings.shape)}')
        if base_mask.shape != class_embeddings.shape[:1]:
            raise ValueError('base_mask needs one entry per class')
        self.class_embeddings = class_embeddings.detach()
        self.base_mask = base_mask.to(class_embeddings.device, torch.bool)

    def _classes(self) -> Tensor:
        if self.class_embeddings is None:
            raise RuntimeError('DeCLIPOVBBoxHead.set_classes() must be called before forward')
        return self.class_embeddings

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """RoI features ``(N, C_in, S, S)`` -> logits ``(N, C + 1)``, deltas ``(N, 4)``."""
        region, bbox_pred = super().forward(x)  # fc_cls: projection or identity
        return cosine_class_logits(region, self._classes(), self.bg_embedding,
                                   self.logit_temperature()), bbox_pred

    def logit_temperature(self):
        """The detector temperature: the trained one, or ``test_temperature`` at test time."""
        if self.training or self.test_temperature is None:
            return self.temperature
        return self.test_temperature

    def class_probabilities(self, cls_logits: Tensor,
                            vlm_embeddings: Optional[Tensor] = None) -> Tensor:
        """Test-time scores ``(N, C + 1)``: detector softmax, fused with the VLM branch if given.

        Args:
            cls_logits: ``(N, C + 1)`` from :meth:`forward`.
            vlm_embeddings: ``(N, embed_dim)`` RoI-pooled dense DeCLIP features, or None.
        """
        det = cls_logits.float().softmax(dim=-1)
        if vlm_embeddings is None:
            return det
        classes = torch.cat([self._classes(), self.bg_embedding[None].to(self._classes())])
        vlm = region_text_probabilities(vlm_embeddings, classes, self.vlm_temperature)
        return fuse_ov_scores(det, vlm, self.base_mask, self.alpha, self.beta)

    # ------------------------------------------------------------------ training
    def loss(self, cls_score: Tensor, bbox_pred: Tensor, rois: Tensor, labels: Tensor,
             label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
             reduction_override: Optional[str] = None) -> dict:
        """mmdet's loss with zero-weight (novel) classes masked out of the softmax and the
        per-class weights (``bg_weight``, ``novel_weight``) folded into the sample weights."""
        if cls_score is not None:
            if cls_score.shape[1] != self.num_classes + 1:
                raise RuntimeError(f'training with {cls_score.shape[1] - 1} classes but the '
                                   f'head was built for {self.num_classes}')
            weights = class_loss_weights(self.base_mask, self.bg_weight, self.novel_weight)
            weights = weights.to(cls_score.device)
            cls_score = mask_zero_weight_logits(cls_score, weights)
            label_weights = label_weights * weights[labels]
        return super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets,
                            bbox_weights, reduction_override)

    # ------------------------------------------------------------------ inference
    def _predict_by_feat_single(self, roi: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                                img_meta: dict, rescale: bool = False,
                                rcnn_test_cfg: Optional[ConfigDict] = None) -> InstanceData:
        """mmdet's single-image post-processing, except that ``cls_score`` already holds the
        ``(N, C + 1)`` probabilities of :meth:`class_probabilities` (fused scores must not go
        through another softmax)."""
        results = InstanceData()
        if roi.shape[0] == 0:
            return empty_instances([img_meta], roi.device, task_type='bbox',
                                   instance_results=[results], box_type=self.predict_box_type,
                                   use_box_type=False, num_classes=cls_score.shape[1] - 1,
                                   score_per_cls=rcnn_test_cfg is None)[0]
        img_shape = img_meta['img_shape']
        bboxes = self.bbox_coder.decode(roi[:, 1:], bbox_pred.view(-1, self.bbox_coder.encode_size),
                                        max_shape=img_shape)
        if rescale and bboxes.size(0) > 0:
            bboxes = scale_boxes(bboxes, [1 / s for s in img_meta['scale_factor']])
        bboxes = get_box_tensor(bboxes)
        if rcnn_test_cfg is None:
            results.bboxes, results.scores = bboxes, cls_score
            return results
        det_bboxes, det_labels = multiclass_nms(bboxes, cls_score, rcnn_test_cfg.score_thr,
                                                rcnn_test_cfg.nms, rcnn_test_cfg.max_per_img,
                                                box_dim=bboxes.size(-1))
        results.bboxes = det_bboxes[:, :-1]
        results.scores = det_bboxes[:, -1]
        results.labels = det_labels
        return results


@MODELS.register_module()
class DeCLIPOVTransferBBoxHead(DeCLIPOVBBoxHead):
    """Test-only head for evaluating a trained F-ViT on another dataset's vocabulary.

    F-ViT's transfer evaluation (``FViTTransferBBoxHead``, LVIS -> COCO / Objects365 / VOC) has
    no base / novel split: every class, the background column included, is fused with one VLM
    weight ``alpha``, and the detector logits use a fixed temperature (50) instead of the
    trained one; the VLM temperature is 120 in its configs. The trained weights are loaded as
    they are (the learned ``temperature`` stays in the state dict, unused at test time).

    Args:
        alpha: VLM weight of every class (0.2 COCO, 0.3 Objects365 / VOC in F-ViT).
        test_temperature: fixed detector temperature at test time (50).
        vlm_temperature: temperature of the dense-VLM branch (120).
        **kwargs: :class:`DeCLIPOVBBoxHead` arguments (``beta`` is set to ``alpha``).
    """

    def __init__(self, alpha: float = 0.2, test_temperature: float = 50.0,
                 vlm_temperature: float = 120.0, **kwargs):
        kwargs.pop('beta', None)
        super().__init__(alpha=alpha, beta=alpha, test_temperature=test_temperature,
                         vlm_temperature=vlm_temperature, **kwargs)

    def loss(self, *args, **kwargs) -> dict:
        raise RuntimeError('DeCLIPOVTransferBBoxHead is for testing only; train with '
                           'DeCLIPOVBBoxHead')
